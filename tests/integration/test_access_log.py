"""The read-access log's table: rows appended through ``record_read`` and paged back, refused
in SQL when changed or removed, written in id order, and a read withheld when it cannot be
logged."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from psycopg import errors
from psycopg.sql import SQL, Identifier

from api.access_log import ReadNotLogged, read_access_page, record_read
from api.auth import Principal
from domain.errors import BadInput, Forbidden
from domain.vocabulary import Role
from infra.access_log import TABLE, AccessLog
from infra.bootstrap import Service
from tests.integration.stories import AUDITOR, pid, unprojected

pytestmark = pytest.mark.integration

NURSE = Principal("nurse.li", Role.SITE_STAFF, frozenset({"NJ01"}))
MONITOR = Principal("monitor.wang", Role.MONITOR, frozenset({"NJ01", "SH02"}))
SPONSOR = Principal("sponsor.chen", Role.SPONSOR, None)
SEVEN, EIGHT = pid("NJ01-007"), pid("NJ01-008")


@pytest.fixture
def service(database_url: str, schema: str, tmp_path: Path) -> Iterator[Service]:
    """The log needs no projector: a service whose read models nobody projects."""
    built = unprojected(database_url, schema, tmp_path)
    yield built
    built.close()


def sql_on_log(database_url: str, schema: str, statement: str) -> None:
    table = SQL("{}.{}").format(Identifier(schema), Identifier(TABLE))
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SQL(statement).format(table=table))


def count_rows(database_url: str, schema: str) -> int:
    table = SQL("{}.{}").format(Identifier(schema), Identifier(TABLE))
    with psycopg.connect(database_url) as conn:
        row = conn.execute(SQL("SELECT count(*) FROM {}").format(table)).fetchone()
    return int(row[0]) if row else 0


def test_access_log_keeps_who_how_and_which_participants_when_a_read_is_recorded(
    service: Service,
) -> None:
    record_read(service, MONITOR, "participants", [SEVEN, EIGHT, SEVEN], {"site": "NJ01"})

    [row] = service.access_log.page()

    assert (row.actor, row.actor_role, row.actor_site) == ("monitor.wang", "MONITOR", "NJ01,SH02")
    assert (row.operation, row.participant_ids) == ("participants", (SEVEN, EIGHT))
    assert row.detail == {"site": "NJ01", "pii": True}
    assert row.read_at.tzinfo is not None


def test_access_log_records_that_no_pii_was_disclosed_when_a_sponsor_read(
    service: Service,
) -> None:
    record_read(service, SPONSOR, "participant", [SEVEN], {"id": SEVEN, "asOf": None})

    [row] = service.access_log.page()

    assert (row.actor_site, row.detail) == (None, {"id": str(SEVEN), "pii": False})


def test_access_log_pages_oldest_first_and_filters_by_participant_when_reads_accumulate(
    service: Service,
) -> None:
    for ids in ([SEVEN], [EIGHT], [SEVEN, EIGHT], [], [SEVEN]):
        record_read(service, NURSE, "participant", ids)

    first = read_access_page(service, AUDITOR, None, 2, None)
    second = read_access_page(service, AUDITOR, first.next_after, 2, None)
    sevens = service.access_log.page(participant_id=SEVEN)

    assert [len(entry.participant_ids) for entry in first.entries + second.entries] == [1, 1, 2, 0]
    assert first.next_after == first.entries[-1].id
    assert [row.participant_ids for row in sevens] == [(SEVEN,), (SEVEN, EIGHT), (SEVEN,)]


def test_read_access_page_is_logged_itself_after_the_page_it_returns_when_an_auditor_reads(
    service: Service,
) -> None:
    record_read(service, NURSE, "participant", [SEVEN])

    page = read_access_page(service, AUDITOR, None, 100, SEVEN)
    rows = service.access_log.page()

    assert [entry.operation for entry in page.entries] == ["participant"]
    assert page.next_after is None
    assert [(row.actor, row.operation) for row in rows][-1] == ("auditor-1", "readAccessLog")
    assert rows[-1].detail == {"limit": 100, "participantId": str(SEVEN), "pii": True}


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.AUDITOR])
def test_read_access_page_is_forbidden_and_logs_nothing_when_the_caller_is_not_an_auditor(
    service: Service, role: Role
) -> None:
    caller = Principal("someone", role, frozenset({"NJ01"}))

    with pytest.raises(Forbidden):
        read_access_page(service, caller, None, 100, None)

    assert service.access_log.page() == []


@pytest.mark.parametrize(("after", "limit"), [(None, 0), (None, 1001), (-1, 10)])
def test_read_access_page_refuses_bad_input_when_limit_or_after_is_out_of_range(
    service: Service, after: int | None, limit: int
) -> None:
    with pytest.raises(BadInput):
        read_access_page(service, AUDITOR, after, limit, None)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {table} SET actor = 'nobody'",
        "UPDATE {table} SET participant_ids = '{{}}'",
        "DELETE FROM {table}",
        "TRUNCATE {table}",
    ],
)
def test_read_log_refuses_the_change_in_sql_when_a_row_is_updated_or_deleted(
    service: Service, database_url: str, schema: str, statement: str
) -> None:
    record_read(service, NURSE, "participant", [SEVEN])

    with pytest.raises(errors.InsufficientPrivilege, match="trial_read_log is append-only"):
        sql_on_log(database_url, schema, statement)

    [row] = service.access_log.page()
    assert (row.actor, row.participant_ids) == ("nurse.li", (SEVEN,))


def test_record_read_withholds_the_answer_when_the_log_cannot_be_written(
    service: Service, database_url: str, schema: str
) -> None:
    sql_on_log(database_url, schema, "ALTER TABLE {table} RENAME TO trial_read_log_gone")

    with pytest.raises(ReadNotLogged) as refused:
        record_read(service, NURSE, "participant", [SEVEN])

    assert refused.value.code == "SERVICE_UNAVAILABLE"
    assert "not served" in str(refused.value)


def test_access_log_commits_ids_in_order_when_an_append_waits_behind_one_in_flight(
    service: Service, database_url: str, schema: str
) -> None:
    log = service.access_log
    appended: list[int] = []
    with psycopg.connect(database_url) as holder:
        # An append in flight: the serialising lock taken, its row inserted, not yet committed.
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (log.lock_key,))
        table = SQL("{}.{}").format(Identifier(schema), Identifier(TABLE))
        in_flight = holder.execute(
            SQL(
                "INSERT INTO {} (actor, actor_role, operation, participant_ids, detail)"
                " VALUES ('slow', 'AUDITOR', 'participant', '{{}}', '{{}}') RETURNING id"
            ).format(table)
        ).fetchone()
        waiter = threading.Thread(
            target=lambda: appended.append(log.append(NURSE.actor, "participant", [], {}))
        )
        waiter.start()
        waiting_on_the_lock(database_url, log.lock_key)

        holder.commit()
        waiter.join(timeout=10)

    assert in_flight is not None
    assert appended and appended[0] > in_flight[0]


def waiting_on_the_lock(database_url: str, key: int, timeout: float = 10.0) -> None:
    """Bounded wait until a session waits for the advisory lock ``key``."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url, autocommit=True) as conn:
        while not conn.execute(
            "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            " AND classid::bigint = 0 AND objid::bigint = %s",
            (key,),
        ).fetchone():
            assert time.monotonic() < deadline, "no append waited for the one in flight"
            time.sleep(0.01)


def test_access_log_tables_are_created_once_when_processes_start_together(
    service: Service, database_url: str, schema: str
) -> None:
    datastore = service.app.factory.datastore  # type: ignore[attr-defined]

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: AccessLog(datastore).create_table(), range(8)))

    record_read(service, NURSE, "participant", [SEVEN])
    assert count_rows(database_url, schema) == 1
