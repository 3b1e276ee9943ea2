"""Bounded waits on the database, so that a request answers in time while PostgreSQL is down.

eventsourcing retries each recorder call ten times on an OperationalError, and each attempt waits
up to POSTGRES_CONNECT_TIMEOUT for a pool connection: with the database stopped, one mutation
took 52 s to fail (measured). Here the API runs each request's database work ``within`` a
deadline, and the pool waits for a connection only until that deadline; past it, it raises
``DatabaseUnavailable``, which those retries do not catch, so the request fails at once and the
API answers SERVICE_UNAVAILABLE. The deadline is checked where a connection is handed out, so work
that has not reached the database by then never does: a command commits before its answer or not
at all. (A commit whose acknowledgement is lost with the connection is the one exception a client
cannot tell apart; a retry with the same idempotencyKey returns the first result.)

Threads without a deadline (the projector, the command line) wait as eventsourcing configures.

The pool also gives up each reconnection attempt after a few seconds, instead of retrying it for
five minutes with a backoff that doubles up to a minute: the next request that needs a connection
starts a new attempt, so the service serves again as soon as the database is back.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import psycopg
from eventsourcing.postgres import ConnectionPool, PostgresFactory
from eventsourcing.utils import Environment, EnvType
from psycopg.pq import ConnStatus, TransactionStatus
from psycopg_pool import PoolTimeout

P = ParamSpec("P")
T = TypeVar("T")

TIMEOUT_KEY = "TRIAL_DATABASE_TIMEOUT"
DEFAULT_TIMEOUT_S = 10.0
FRESH_S = 1.0  # a connection given back this recently is handed out again unchecked
RECONNECT_S = 2.0  # how long the pool keeps retrying one lost connection before giving up
CONNECTION_OPTIONS: dict[str, Any] = {
    "connect_timeout": 3,  # libpq's own bound on one connection attempt (s, at least 2)
    # A silent peer (a network partition rather than a stopped server) is noticed in ~10 s.
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 2,
    "tcp_user_timeout": 10_000,  # ms
}


class DatabaseUnavailable(Exception):
    """No database connection before the request's deadline (not an eventsourcing
    OperationalError on purpose: its retries must stop here)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no database connection within {seconds:g} s")


@dataclass(frozen=True)
class Deadline:
    """When a request started, and how long its database work may wait (None: the pool's)."""

    started: float  # time.monotonic()
    seconds: float | None = None

    @classmethod
    def from_now(cls, seconds: float | None = None) -> Deadline:
        return cls(time.monotonic(), seconds)

    def budget(self, default: float) -> float:
        return default if self.seconds is None else self.seconds


_current = threading.local()


def current_deadline() -> Deadline | None:
    deadline: Deadline | None = getattr(_current, "deadline", None)
    return deadline


def run_within(
    deadline: Deadline, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """Call ``function`` in this thread with ``deadline`` bounding its waits for the database."""
    previous = current_deadline()
    _current.deadline = deadline
    try:
        return function(*args, **kwargs)
    finally:
        _current.deadline = previous


class DeadlinePool(ConnectionPool[Any]):
    """eventsourcing's pool, whose waits for a connection end at the thread's deadline.

    The pool checks a connection with a round trip as it hands it out (POSTGRES_PRE_PING), so
    that one left idle across a database restart is replaced instead of failing a request. Under
    load that is a round trip per command, and every wait for the database is also a wait for
    the GIL. A connection given back in working order less than ``FRESH_S`` ago is checked
    locally instead: its socket read without waiting, where a server that shut down or dropped
    it has left its goodbye and end of file."""

    request_timeout = DEFAULT_TIMEOUT_S
    _returned: weakref.WeakKeyDictionary[Any, float]  # connection -> when it came back

    def putconn(self, conn: Any) -> None:
        if conn.pgconn.transaction_status == TransactionStatus.IDLE:
            self._returned[conn] = time.monotonic()
        super().putconn(conn)

    def _check_connection(self, conn: Any) -> None:
        returned = self._returned.pop(conn, None)
        if returned is not None and time.monotonic() - returned < FRESH_S and _open(conn):
            return
        super()._check_connection(conn)

    def getconn(self, timeout: float | None = None) -> Any:
        deadline = current_deadline()
        if deadline is None:
            return super().getconn(timeout)
        budget = deadline.budget(self.request_timeout)
        left = deadline.started + budget - time.monotonic()
        wait = self.timeout if timeout is None else timeout
        try:
            # Past the deadline, only a connection that is ready now: work that keeps the
            # database busy for long is not cut short while the database answers.
            return super().getconn(max(min(wait, left), 0.01))
        except PoolTimeout as error:
            if time.monotonic() - deadline.started >= budget:
                raise DatabaseUnavailable(budget) from error
            raise


def _open(conn: Any) -> bool:
    """Whether an idle connection's socket is still open, read without waiting (libpq's
    PQconsumeInput, which keeps the GIL): the first read takes what arrived (a FATAL message
    from a server shutting down), the second finds the end of file behind it."""
    try:
        conn.pgconn.consume_input()
        conn.pgconn.consume_input()
    except psycopg.OperationalError:
        return False
    return bool(conn.pgconn.status == ConnStatus.OK)


class BoundedPostgresFactory(PostgresFactory):
    """eventsourcing's PostgreSQL factory whose pool honours deadlines and recovers quickly.

    Configured by TRIAL_DATABASE_TIMEOUT (seconds, default 10): the longest a request waits for
    the database before it is answered SERVICE_UNAVAILABLE.
    """

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        pool = self.datastore.pool
        # The datastore builds its pool from a score of settings; changing the class keeps them.
        pool.__class__ = DeadlinePool
        assert isinstance(pool, DeadlinePool)
        pool._returned = weakref.WeakKeyDictionary()
        pool.request_timeout = timeout_setting(self.env.get(TIMEOUT_KEY))
        pool.reconnect_timeout = RECONNECT_S
        assert isinstance(pool.kwargs, dict)  # eventsourcing passes the connection's settings
        pool.kwargs.update(CONNECTION_OPTIONS)


def timeout_setting(value: str | None) -> float:
    """TRIAL_DATABASE_TIMEOUT as seconds: a positive number, or the default when unset."""
    if not value:
        return DEFAULT_TIMEOUT_S
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise ValueError(f"{TIMEOUT_KEY} must be a positive number of seconds, not {value!r}")
    return seconds
