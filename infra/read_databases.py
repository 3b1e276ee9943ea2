"""Reads from PostgreSQL hot standbys: TRIAL_READ_DATABASE_URL (one or more libpq URLs, comma
separated) names them; commands, the read-access log and LISTEN stay on the primary.

A read of a read model, or a point-in-time read of the events and their log, goes to the first
standby that is up, in recovery or promoted, and no further behind than TRIAL_READ_MAX_LAG_S;
else to the primary. A thread checks every standby each CHECK_EVERY_S (one query each), so that
no request waits for a check; a standby that fails a read, or has no connection for it within
STANDBY_TIMEOUT_S, is set aside until a check finds it fit again, and the primary answers.

The read models' tracking tables are replicated with their documents, in the same
transactions: a standby's tracking position says exactly which events its documents hold, so
``minPosition`` is waited for on the standby itself. A point-in-time read (``asOf``,
``atVersion``) first waits, STANDBY_TIMEOUT_S at most, until the standby holds every event the
primary had recorded when the read began, and is then answered from the standby's events and
log as the primary would have answered it then (or a moment later, when the standby had more
already); past the wait, by the primary. A standby lagging more than STANDBY_TIMEOUT_S, or
whose last such wait ran out since it was last checked, is not waited for.

The lag in seconds is 0 when the standby has replayed all it received, else the time since the
last transaction it replayed committed: after the primary was idle, that overstates the lag of
a burst's first transactions (PostgreSQL records no commit time for what is not replayed yet).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from eventsourcing.persistence import PersistenceError
from psycopg import Error as DatabaseError
from psycopg.conninfo import conninfo_to_dict

from domain.application import TrialApplication
from infra.database import eventsourcing_env
from infra.resilience import TIMEOUT_KEY, DatabaseUnavailable, Deadline, run_within
from projections.store import ReadModelStore

log = logging.getLogger("trial.read_databases")

T = TypeVar("T")
CHECK_EVERY_S = 1.0
STANDBY_TIMEOUT_S = 2  # seconds
# What a standby that stopped or cannot be reached raises: its reads go to the primary.
STANDBY_ERRORS = (DatabaseError, PersistenceError, DatabaseUnavailable)
APPLICATION = TrialApplication.name  # the tracking rows' application
LAG_QUERY = (
    "SELECT pg_is_in_recovery() AS in_recovery, CASE"
    " WHEN NOT pg_is_in_recovery() THEN 0"
    " WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
    " ELSE extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())"
    " END::float8 AS lag_s"
)


def shown(url: str) -> str:
    """A URL as /health shows it: host, port and database, never a password."""
    params = conninfo_to_dict(url)
    host, port = params.get("host") or "127.0.0.1", params.get("port") or "5432"
    return f"{host}:{port}/{params.get('dbname') or 'postgres'}"


Stores = Mapping[str, ReadModelStore]  # a database's read-model stores, by projection
STANDBY_RECORDER_TOPIC = "infra.recorder:StandbyRecorder"


@dataclass
class ReadDatabase:
    """One standby: its read-only application (events and log), its read-model stores, and
    what its last check found."""

    name: str
    app: TrialApplication
    stores: Stores
    up: bool = False
    in_recovery: bool | None = None
    lag_s: float | None = None
    positions: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    behind: bool = False  # a point-in-time read's wait ran out since the last check

    def check(self) -> None:
        """Ask the standby whether it is in recovery, how far behind, and its positions."""
        store = next(iter(self.stores.values()))
        try:
            with store.datastore.get_connection() as conn, conn.cursor() as curs:
                curs.execute(LAG_QUERY)
                row = curs.fetchone()
            assert row is not None
            self.in_recovery, self.lag_s = bool(row["in_recovery"]), float(row["lag_s"] or 0)
            self.positions = {name: s.position(APPLICATION) for name, s in self.stores.items()}
        except STANDBY_ERRORS as error:
            self.up, self.error = False, f"{type(error).__name__}: {error}".strip()
            return
        self.up, self.error, self.behind = True, None, False

    def set_aside(self, error: BaseException) -> None:
        self.up, self.error = False, f"{type(error).__name__}: {error}".strip()


class ReadRouter:
    """Where each read of a read model goes: a fit standby, else the primary."""

    def __init__(
        self,
        primary_app: TrialApplication,
        primary: Stores,
        standbys: Sequence[ReadDatabase],
        max_lag_s: float,
    ) -> None:
        self.primary_app = primary_app
        self.primary = primary
        self.standbys = list(standbys)
        self.max_lag_s = max_lag_s
        self._stopped = threading.Event()
        self._watcher = threading.Thread(
            target=self._watch, name="trial-read-databases", daemon=True
        )

    def start(self) -> None:
        """Check every standby now, and then each CHECK_EVERY_S on a thread of its own."""
        if self.standbys:
            self.check()
            self._watcher.start()

    def check(self) -> None:
        for standby in self.standbys:
            standby.check()

    def _watch(self) -> None:
        while not self._stopped.wait(CHECK_EVERY_S):
            try:
                self.check()
            except Exception:  # the watcher must outlive any one check
                log.exception("checking the read databases failed")

    @classmethod
    def open(
        cls,
        primary_app: TrialApplication,
        primary: Stores,
        urls: Sequence[str],
        max_lag_s: float,
    ) -> ReadRouter:
        """A router over a standby per URL, each with its own pool and a read-only application
        of the primary's settings (schema, cipher): the tables are the primary's, replicated,
        and nothing is created on a standby."""
        standbys = []
        for url in urls:
            env: dict[str, Any] = {
                **primary_app.env,
                **eventsourcing_env(url),
                "APPLICATION_RECORDER_TOPIC": STANDBY_RECORDER_TOPIC,
                "CREATE_TABLE": "no",
                "POSTGRES_CONNECT_TIMEOUT": str(STANDBY_TIMEOUT_S),
                TIMEOUT_KEY: str(STANDBY_TIMEOUT_S),
            }
            app = TrialApplication(env, clock=primary_app.clock, time_zone=primary_app.time_zone)
            datastore = app.factory.datastore  # type: ignore[attr-defined]
            stores = {
                name: type(store)(datastore=datastore, tracking_table_name=f"{name}_tracking")
                for name, store in primary.items()
            }
            for store in stores.values():
                store.retrying = False
            standbys.append(ReadDatabase(shown(url), app, stores))
        router = cls(primary_app, primary, standbys, max_lag_s)
        router.start()
        return router

    def fit(self, standby: ReadDatabase) -> bool:
        return standby.up and (standby.lag_s or 0.0) <= self.max_lag_s

    def _standby(self, replaying: bool = False) -> ReadDatabase | None:
        """The standby reads go to now: the first fit one, if any; for a point-in-time read,
        one that can be waited for."""
        for standby in self.standbys:
            if not self.fit(standby):
                continue
            if replaying and (standby.behind or (standby.lag_s or 0.0) > STANDBY_TIMEOUT_S):
                continue
            return standby
        return None

    def store(self, name: str) -> ReadModelStore:
        """The store a read of ``name`` goes to now."""
        standby = self._standby()
        return self.primary[name] if standby is None else standby.stores[name]

    def read(self, name: str, read: Callable[[ReadModelStore], T]) -> T:
        """``read`` on the store of ``name`` chosen now; on the primary if a standby fails it."""
        standby = self._standby()
        if standby is not None:
            try:
                return run_within(_standby_deadline(), read, standby.stores[name])
            except STANDBY_ERRORS as error:
                self._set_aside(standby, error)
        return read(self.primary[name])

    def replay(self, read: Callable[[TrialApplication, Stores], T]) -> T:
        """``read`` of the events, their log and the read models, on a fit standby once it
        holds every event the primary holds now (waited for STANDBY_TIMEOUT_S at most), so
        that it answers as the primary would; else on the primary."""
        standby = self._standby(replaying=True)
        if standby is not None:
            head = self.primary_app.recorder.max_notification_id() or 0
            try:
                if run_within(_standby_deadline(), _holds, standby.app, head):
                    return run_within(_standby_deadline(), read, standby.app, standby.stores)
                standby.behind = True
            except STANDBY_ERRORS as error:
                self._set_aside(standby, error)
        return read(self.primary_app, self.primary)

    def _set_aside(self, standby: ReadDatabase, error: BaseException) -> None:
        standby.set_aside(error)
        log.warning("read database %s set aside: %s", standby.name, error)

    def status(self, head_positions: Mapping[str, int]) -> list[dict[str, Any]]:
        """Each standby as /health shows it, as last checked (within CHECK_EVERY_S): up, in
        recovery, its lag in seconds and in positions behind the primary's read models
        (``head_positions``)."""
        shown_status = []
        for standby in self.standbys:
            behind = {
                name: max(0, head_positions.get(name, 0) - position)
                for name, position in standby.positions.items()
            }
            shown_status.append(
                {
                    "database": standby.name,
                    "up": standby.up,
                    "in_recovery": standby.in_recovery,
                    "lag_s": standby.lag_s,
                    "lag_positions": max(behind.values(), default=None) if standby.up else None,
                    "used": self.fit(standby),
                    "error": standby.error,
                }
            )
        return shown_status

    def close(self) -> None:
        self._stopped.set()
        if self._watcher.is_alive():
            self._watcher.join()
        for standby in self.standbys:
            standby.app.close()


def _standby_deadline() -> Deadline:
    """A standby's own bound on waits for a connection (not the request's: past it the
    primary still answers within the request's)."""
    return Deadline.from_now(STANDBY_TIMEOUT_S)


def _holds(app: TrialApplication, head: int) -> bool:
    """Whether ``app``'s database holds the events up to ``head``, polled STANDBY_TIMEOUT_S at
    most (PostgreSQL 15 has no server-side wait for a replay position)."""
    deadline = time.monotonic() + STANDBY_TIMEOUT_S
    pause = 0.002
    while (app.recorder.max_notification_id() or 0) < head:
        if time.monotonic() > deadline:
            return False
        time.sleep(pause)
        pause = min(pause * 2, 0.05)
    return True
