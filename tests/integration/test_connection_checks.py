"""The pool's check of a connection as it is handed out: skipped for one given back moments ago
(a round trip per command under load), kept for one idle longer, so a connection dropped while
idle (a database restart, an administrator) is replaced instead of failing a request."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from infra import resilience
from infra.bootstrap import Service, bootstrap
from infra.resilience import DeadlinePool
from tests.conftest import settings_for
from tests.integration.stories import drop_connections, enrol, staff
from tests.unit import builders

pytestmark = pytest.mark.integration


@pytest.fixture
def named(
    database_url: str, schema: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Service, str]]:
    """A service whose connections carry a name of their own, so a test can drop only them."""
    name = f"checks-{schema}"
    monkeypatch.setenv("PGAPPNAME", name)
    service = bootstrap(settings_for(database_url, tmp_path), schema=schema)
    yield service, name
    service.close()


def pool_of(service: Service) -> DeadlinePool:
    pool = service.app.recorder.datastore.pool  # type: ignore[attr-defined]
    assert isinstance(pool, DeadlinePool)
    return pool


def counting_checks(pool: DeadlinePool, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every connection the pool checks with a round trip from now on."""
    checked: list[Any] = []
    check = pool._check
    assert check is not None  # POSTGRES_PRE_PING

    def counted(conn: Any) -> None:
        checked.append(conn)
        check(conn)

    monkeypatch.setattr(pool, "_check", counted)
    return checked


def test_a_connection_given_back_moments_ago_is_handed_out_without_a_check(
    named: tuple[Service, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    service, _ = named
    pool = pool_of(service)
    checked = counting_checks(pool, monkeypatch)
    with pool.connection() as conn:
        conn.execute("SELECT 1")
    with pool.connection() as conn:  # given back just now: no round trip to check it
        conn.execute("SELECT 1")
    given_back = len(checked)

    monkeypatch.setattr(resilience, "FRESH_S", 0.0)  # every connection now counts as idle
    with pool.connection() as conn:
        conn.execute("SELECT 1")

    assert given_back <= 1  # at most the first, which may never have been used before
    assert len(checked) == given_back + 1


def test_connections_dropped_while_idle_are_replaced_and_the_next_command_succeeds(
    named: tuple[Service, str], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, name = named
    pid = enrol(service.app, "NJ01-041", until="CONSENTED")
    pool = pool_of(service)
    checked = counting_checks(pool, monkeypatch)
    monkeypatch.setattr(resilience, "FRESH_S", 0.05)
    dropped = drop_connections(database_url, name)
    time.sleep(0.1)  # idle longer than FRESH_S: checked, found dead, replaced

    result = service.app.screen(pid, builders.screening(), staff())

    assert dropped > 0
    assert checked  # the dead connections were checked before use
    assert result.version == 2


def test_a_connection_dropped_moments_after_it_was_given_back_is_replaced_all_the_same(
    named: tuple[Service, str], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Within FRESH_S the pool reads the socket instead of a round trip: a dropped connection
    has left its goodbye and end of file there, and is then checked and replaced."""
    service, _ = named
    pool = pool_of(service)
    with pool.connection() as conn:
        conn.execute("SELECT 1")
        dropped, pid = conn, conn.info.backend_pid
    checked = counting_checks(pool, monkeypatch)
    with psycopg.connect(database_url, autocommit=True, application_name="admin") as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    time.sleep(0.05)  # the server's goodbye reaches the socket; FRESH_S (1 s) has not passed

    served: list[int] = []
    for _ in range(pool.get_stats()["pool_size"] + 1):  # every connection the pool holds
        with pool.connection() as conn:  # no error: the dropped one is never handed out
            conn.execute("SELECT 1")
            served.append(conn.info.backend_pid)

    assert pid not in served
    assert [conn for conn in checked if conn is dropped]  # found by the local read, checked
