"""The read side's moving parts: stores to read, runners to project, rebuilds to swap in."""

from __future__ import annotations

import gc
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import InfrastructureFactory, Tracking
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.projection import BaseProjectionRunner
from eventsourcing.utils import Environment
from psycopg.sql import SQL, Identifier

from domain.application import TrialApplication
from projections.base import ParticipantProjection
from projections.live import LiveProjection
from projections.participant_status import ParticipantStatusProjection
from projections.replay import (
    events_until,
    fold,
    participants_until,
    streams_until,
    versions_until,
)
from projections.safety_ledger import SafetyLedgerProjection
from projections.store import ParticipantTexts, ReadModelStore, ReadModelsWriter, table_name
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
BATCH = 500  # participants a rebuild writes per transaction: ~6.5 MB of documents
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


class Projector:
    """The live projection (``projections.live``) of every read model, or of ``names``, over
    one eventsourcing subscription on its own thread: each event is read once, and each batch
    writes every read model in one transaction.

    A supervisor thread restarts the runner when it stopped on an error (a database outage,
    say), after a pause that doubles up to 5 s, so the read models resume by themselves.
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
        for name in self.names:
            projection(name)  # a KeyError that names the read models
        self.running: Running | None = None
        self._stopping = threading.Event()
        self._supervisor = threading.Thread(target=self._supervise, daemon=True)

    def start(self) -> None:
        self.running = Running.start(self.env, self.names)
        self._supervisor.start()

    def _supervise(self) -> None:
        pause = 1.0
        while not self._stopping.wait(0.5):
            running = self.running
            if (running is not None and not running.failed()) or self._stopping.is_set():
                continue
            if running is not None:
                log.warning("the projector stopped on an error; restarting")
                self.running = None
                try:
                    running.close()
                except Exception:
                    log.exception("the projector's error was")
            if self._stopping.wait(pause):
                return
            try:
                self.running = Running.start(self.env, self.names)
                pause = 1.0
            except Exception:
                log.warning("the projector cannot restart yet; retrying", exc_info=True)
                pause = min(pause * 2, 5.0)

    def run_forever(self) -> None:
        """Block until ``stop`` (or Ctrl-C)."""
        while not self._stopping.wait(1.0):
            pass

    def stop(self) -> None:
        self._stopping.set()
        if self._supervisor.is_alive():
            self._supervisor.join()
        if self.running is not None:
            try:
                self.running.close()
            except Exception:
                log.exception("the projector stopped on an error")
            self.running = None


@dataclass
class Running:
    """One started live projection: its runner, and the read models' own database pool."""

    factory: InfrastructureFactory[Any]
    projection: LiveProjection
    runner: BaseProjectionRunner[TrialApplication] | None = None

    @classmethod
    def start(cls, env: Mapping[str, str], names: Iterable[str]) -> Running:
        """Construct and start it; on failure, release whatever was made (no leaked pool)."""
        factory = InfrastructureFactory[Any].construct(env=Environment(LiveProjection.name, env))
        datastore: PostgresDatastore = factory.datastore  # type: ignore[attr-defined]
        names = list(names)
        try:
            writer = ReadModelsWriter(
                {name: STORES[name](datastore, tracking_table_name=f"{name}_tracking")
                 for name in names}
            )  # fmt: skip
            running = cls(factory, LiveProjection(writer))
        except BaseException:
            factory.close()
            raise
        try:
            running.runner = BaseProjectionRunner(
                projection=running.projection,
                application_class=TrialApplication,
                tracking_recorder=writer,
                topics=(),
                env=env,
            )
            running.runner.__enter__()
            running.projection.attach(running.runner.app.repository)
        except BaseException:
            running.close()
            raise
        log.info("projecting %s", ", ".join(names))
        return running

    def failed(self) -> bool:
        interrupted = self.runner is not None and self.runner.is_interrupted.is_set()
        return interrupted or self.projection.failure is not None

    def close(self) -> None:
        """Stop the runner's thread, write what the projection still holds, release the pool."""
        try:
            if self.runner is not None:
                self.runner.__exit__(None, None, None)
        finally:
            try:
                self.projection.close()
            finally:
                self.factory.close()


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
        store.compress_documents(curs, aside)
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
    write their documents to the read model's aside table, BATCH participants a transaction
    as they are folded."""
    datastore: PostgresDatastore = app.factory.datastore  # type: ignore[attr-defined]
    store = STORES[name](datastore=datastore, tracking_table_name=f"{name}_tracking")
    texts = projection(name).texts
    table = _aside(name)
    changes: list[ParticipantTexts] = []
    with _no_cyclic_gc():
        for participant in streams_until(app, head, part):
            changes.append((participant.id, participant.site, texts(participant)))
            if len(changes) == BATCH:
                _write(store, datastore, table, changes, head)
                changes = []
        _write(store, datastore, table, changes, head)


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a rebuild folds the whole study.

    Folding a million events allocates millions of (acyclic) objects, and each allocation
    burst triggers collections that walk every live one: with the collector on, rebuilds ran
    10-30 % slower (measured when a rebuild held the whole study; it now holds a participant
    and a batch of documents at a time). Reference counting still frees what the fold drops;
    the collector resumes, and catches up, after.
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
    changes: list[ParticipantTexts],
    position: int,
) -> None:
    if not changes:
        return
    with datastore.transaction(commit=True) as curs:
        store.copy_into(curs, changes, position, table)


def differences(app: TrialApplication, names: Iterable[str]) -> dict[str, list[tuple[UUID, str]]]:
    """For each read model of ``names``, the (participant, key) documents in which it differs
    from a rebuild from the events up to its tracking position: missing, extra or unequal."""
    datastore: PostgresDatastore = app.factory.datastore  # type: ignore[attr-defined]
    stored: dict[str, tuple[int, dict[tuple[UUID, str], Any]]] = {}
    for name in names:
        store = STORES[name](datastore=datastore, tracking_table_name=f"{name}_tracking")
        with datastore.transaction(commit=False) as curs:
            curs.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            position = store.position_in(curs, APPLICATION)  # in the documents' snapshot
            curs.execute(
                SQL("SELECT participant_id, key, doc FROM {}.{}").format(
                    Identifier(datastore.schema), Identifier(table_name(name))
                )
            )
            documents = {(row["participant_id"], row["key"]): row["doc"] for row in curs}
        stored[name] = (position, documents)
    replayed: dict[int, dict[UUID, Any]] = {}
    found = {}
    for name, (position, documents) in stored.items():
        if position not in replayed:
            replayed[position] = participants_until(app, position)
        rows = projection(name).rows
        rebuilt = {
            (participant.id, key): json.loads(json.dumps(doc))
            for participant in replayed[position].values()
            for key, doc in rows(participant).items()
        }
        found[name] = sorted(
            key
            for key in documents.keys() | rebuilt.keys()
            if documents.get(key) != rebuilt.get(key)
        )
    return found
