"""The read side's moving parts: stores to read, runners to project, rebuilds to swap in."""

from __future__ import annotations

import gc
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.projection import ProjectionRunner
from psycopg.sql import SQL, Identifier

from domain.application import TrialApplication
from projections.base import ParticipantProjection
from projections.participant_status import ParticipantStatusProjection
from projections.replay import events_until, fold, versions_until
from projections.safety_ledger import SafetyLedgerProjection
from projections.store import ReadModelStore, table_name
from projections.study_summary import StudySummaryProjection

log = logging.getLogger("trial.projections")

PROJECTIONS: tuple[type[ParticipantProjection], ...] = (
    ParticipantStatusProjection,
    StudySummaryProjection,
    SafetyLedgerProjection,
)
APPLICATION = TrialApplication.name
STORES: dict[str, type[ReadModelStore]] = {
    p.name: ReadModelStore.for_projection(p.name) for p in PROJECTIONS
}
BATCH = 2_000
PARALLEL_FROM = 50_000  # events: below this, starting worker processes costs more than it saves


def projection(name: str) -> type[ParticipantProjection]:
    for candidate in PROJECTIONS:
        if candidate.name == name:
            return candidate
    known = ", ".join(p.name for p in PROJECTIONS)
    raise KeyError(f"no read model {name!r}; the read models are {known}")


def open_store(name: str, datastore: PostgresDatastore) -> ReadModelStore:
    """The read model's store on a shared datastore, its tables created if missing."""
    store = STORES[name](datastore=datastore, tracking_table_name=f"{name}_tracking")
    store.create_table()
    return store


@dataclass(frozen=True)
class Lag:
    projection: str
    position: int
    head: int

    @property
    def lag(self) -> int:
        return max(self.head - self.position, 0)


class ReadModels:
    """The three read models, for queries and health, on the application's datastore."""

    def __init__(self, app: TrialApplication) -> None:
        self.app = app
        datastore = app.factory.datastore  # type: ignore[attr-defined]
        self.stores: dict[str, ReadModelStore] = {
            p.name: open_store(p.name, datastore) for p in PROJECTIONS
        }

    def __getitem__(self, name: str) -> ReadModelStore:
        return self.stores[name]

    def lags(self) -> list[Lag]:
        head = self.app.recorder.max_notification_id() or 0
        return [Lag(name, store.position(APPLICATION), head) for name, store in self.stores.items()]


Runner = ProjectionRunner[TrialApplication, ReadModelStore]


class Projector:
    """One eventsourcing ProjectionRunner per read model, each on its own thread.

    A supervisor thread restarts a runner that stopped on an error (a database outage, say),
    after a pause that doubles up to 5 s, so the read models resume by themselves.
    """

    def __init__(self, env: Mapping[str, str], names: Iterable[str] | None = None) -> None:
        # The tables exist: bootstrap created them under its lock, before any projector starts.
        self.env = {
            **env,
            "POSTGRES_POOL_SIZE": "2",
            "POSTGRES_MAX_OVERFLOW": "2",
            "CREATE_TABLE": "no",
        }
        self.names = list(names or [p.name for p in PROJECTIONS])
        self.runners: dict[str, Runner] = {}
        self._stopping = threading.Event()
        self._supervisor = threading.Thread(target=self._supervise, daemon=True)

    def _runner(self, name: str) -> Runner:
        runner: Runner = ProjectionRunner(
            application_class=TrialApplication,
            projection_class=projection(name),
            view_class=STORES[name],
            env=self.env,
        )
        runner.__enter__()
        _projection(runner).attach(runner.app.repository)
        log.info("projecting %s", name)
        return runner

    def start(self) -> None:
        for name in self.names:
            self.runners[name] = self._runner(name)
        self._supervisor.start()

    def _supervise(self) -> None:
        pause = 1.0
        while not self._stopping.wait(0.5):
            for name, runner in list(self.runners.items()):
                failed = runner.is_interrupted.is_set() or _projection(runner).failure is not None
                if not failed or self._stopping.is_set():
                    continue
                log.warning("projection %s stopped on an error; restarting", name)
                try:
                    _close(runner)
                except Exception:
                    log.exception("projection %s: the error was", name)
                if self._stopping.wait(pause):
                    return
                try:
                    self.runners[name] = self._runner(name)
                    pause = 1.0
                except Exception:
                    log.warning("projection %s cannot restart yet; retrying", name, exc_info=True)
                    pause = min(pause * 2, 5.0)

    def run_forever(self) -> None:
        """Block until ``stop`` (or Ctrl-C)."""
        while not self._stopping.wait(1.0):
            pass

    def stop(self) -> None:
        self._stopping.set()
        if self._supervisor.is_alive():
            self._supervisor.join()
        for runner in reversed(list(self.runners.values())):
            try:
                _close(runner)
            except Exception:
                log.exception("projection stopped on an error")
        self.runners.clear()


def _projection(runner: Runner) -> ParticipantProjection:
    projection = runner.projection
    assert isinstance(projection, ParticipantProjection)
    return projection


def _close(runner: Runner) -> None:
    """Stop the runner's thread, then write what its projection still holds."""
    try:
        runner.__exit__(None, None, None)
    finally:
        _projection(runner).close()


def rebuild(app: TrialApplication, name: str, workers: int | None = None) -> int:
    """Rebuild a read model from the first event beside the live one, then swap it in.

    The participants are split between ``workers`` processes (by default one per core, up to
    4, once the study holds PARALLEL_FROM events), each folding its own participants' events
    and writing their documents. Reads keep being served from the live table until the swap,
    which happens in one transaction under the projection's lock: the live projector pauses,
    the rebuilt table catches up to the live tracking position, and replaces the live table.
    Returns the number of events read.
    """
    datastore: PostgresDatastore = app.factory.datastore  # type: ignore[attr-defined]
    store = open_store(name, datastore)
    rows = projection(name).rows
    aside = _aside(name)
    schema = Identifier(datastore.schema)
    with datastore.transaction(commit=True) as curs:
        curs.execute(SQL("DROP TABLE IF EXISTS {}.{}").format(schema, Identifier(aside)))
        curs.execute(store.create_statement(aside))
    head = app.recorder.max_notification_id() or 0
    if workers is None:
        workers = min(os.cpu_count() or 1, 4) if head >= PARALLEL_FROM else 1
    if workers > 1:
        _rebuild_in_workers(app, name, head, workers)
    else:
        rebuild_part(app, name, head)
    with datastore.transaction(commit=True) as curs:
        live = store.lock(curs, APPLICATION)
        if live > head:
            changed = versions_until(app, live, after=head)
            states, touched = fold(events_until(app, live, participants=changed))
            changes = [(pid, states[pid].site, rows(states[pid])) for pid in touched]
            store.replace_many(curs, changes, live, aside)
        position = max(live, head)
        live_table = Identifier(table_name(name))
        curs.execute(SQL("DROP TABLE {}.{}").format(schema, live_table))
        curs.execute(
            SQL("ALTER TABLE {}.{} RENAME TO {}").format(schema, Identifier(aside), live_table)
        )
        if position > live:
            store.track(curs, Tracking(APPLICATION, position))
    log.info("rebuilt %s from %d events", name, head)
    return head


def _aside(name: str) -> str:
    """The table a rebuild of ``name`` writes before it is swapped in."""
    return table_name(name) + "_rebuild"


def _rebuild_in_workers(app: TrialApplication, name: str, head: int, workers: int) -> None:
    """Run ``rebuild_part`` for each of ``workers`` parts in its own process (a fresh
    interpreter: no inherited threads or connections), with the application's settings."""
    env = {**os.environ, **app.env, "CREATE_TABLE": "no"}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "projections.worker", name, str(head), str(k), str(workers)],
            env=env,
        )
        for k in range(workers)
    ]
    failed = [process.args for process in processes if process.wait() != 0]
    if failed:
        raise RuntimeError(f"rebuild of {name}: a worker process failed: {failed}")


def rebuild_part(
    app: TrialApplication, name: str, head: int, part: tuple[int, int] | None = None
) -> None:
    """Fold the events up to ``head`` of the participants in ``part`` (all when None) and
    write their documents to the read model's aside table."""
    datastore: PostgresDatastore = app.factory.datastore  # type: ignore[attr-defined]
    store = STORES[name](datastore=datastore, tracking_table_name=f"{name}_tracking")
    with _no_cyclic_gc():
        states, _ = fold(events_until(app, head, part=part))
        _write(store, datastore, _aside(name), states, projection(name).rows, head)


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a rebuild folds the whole study.

    Folding a million events keeps millions of live (acyclic) objects, and every full
    collection walks them all: with the collector on, rebuilds ran 10-30 % slower. Reference
    counting still frees what the fold drops; the collector resumes, and catches up, after.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _write(
    store: ReadModelStore,
    datastore: PostgresDatastore,
    table: str,
    states: Mapping[Any, Any],
    rows: Any,
    position: int,
) -> None:
    participants = list(states.values())
    for start in range(0, len(participants), BATCH):
        changes = [(p.id, p.site, rows(p)) for p in participants[start : start + BATCH]]
        with datastore.transaction(commit=True) as curs:
            store.replace_many(curs, changes, position, table)
