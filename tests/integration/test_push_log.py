"""The pushes of one change to many subscribers are logged in one INSERT: each push its own row,
in the order recorded, committed before ``record`` returns; when the INSERT fails, every push
of it is refused."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.sql import SQL, Identifier

from api.access_log import PushLog, ReadNotLogged
from api.auth import Principal
from domain.vocabulary import Role
from infra.access_log import TABLE, ReadRow
from infra.bootstrap import Service
from tests.integration.stories import pid, unprojected

pytestmark = pytest.mark.integration

SEVEN, EIGHT = pid("NJ01-007"), pid("NJ01-008")
WATCHERS = [
    Principal("monitor.wang", Role.MONITOR, frozenset({"NJ01"})),
    Principal("sponsor.chen", Role.SPONSOR, None),
    Principal("nurse.li", Role.SITE_STAFF, frozenset({"NJ01"})),
]


@pytest.fixture
def service(database_url: str, schema: str, tmp_path: Path) -> Iterator[Service]:
    built = unprojected(database_url, schema, tmp_path)
    yield built
    built.close()


def rename(database_url: str, schema: str, table: str, to: str) -> None:
    statement = SQL("ALTER TABLE {}.{} RENAME TO {}")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(statement.format(Identifier(schema), Identifier(table), Identifier(to)))


def count_rows(database_url: str, schema: str, table: str) -> int:
    with psycopg.connect(database_url) as conn:
        statement = SQL("SELECT count(*) FROM {}.{}").format(Identifier(schema), Identifier(table))
        row = conn.execute(statement).fetchone()
    return int(row[0]) if row else 0


async def push_to_all(log: PushLog) -> list[BaseException | None]:
    """Each watcher's push of NJ01-007 logged at once, as after one change; what each raised."""
    pushes = [
        log.record(watcher, "participantChanged", [SEVEN], {"id": SEVEN}) for watcher in WATCHERS
    ]
    return list(await asyncio.gather(*pushes, return_exceptions=True))


def test_append_many_writes_each_row_with_its_own_actor_in_order_when_given_several(
    service: Service,
) -> None:
    rows = [
        ReadRow(WATCHERS[0].actor, "participantChanged", [SEVEN, EIGHT, SEVEN], {"pii": True}),
        ReadRow(WATCHERS[1].actor, "participants", [], {"pii": False, "site": "NJ01"}),
    ]

    ids = service.access_log.append_many(rows)

    logged = service.access_log.page()
    assert [row.id for row in logged] == ids and ids[0] < ids[1]
    assert [(row.actor, row.actor_role, row.actor_site) for row in logged] == [
        ("monitor.wang", "MONITOR", "NJ01"), ("sponsor.chen", "SPONSOR", None),
    ]  # fmt: skip
    assert [(row.operation, row.participant_ids, row.detail) for row in logged] == [
        ("participantChanged", (SEVEN, EIGHT), {"pii": True}),
        ("participants", (), {"pii": False, "site": "NJ01"}),
    ]


def test_push_log_appends_one_row_per_push_in_one_insert_when_pushes_are_ready_together(
    service: Service,
) -> None:
    log = PushLog(service)

    refused = asyncio.run(push_to_all(log))

    assert refused == [None, None, None]
    assert log.inserts == 1
    logged = service.access_log.page()
    assert [(row.actor, row.participant_ids) for row in logged] == [
        ("monitor.wang", (SEVEN,)), ("sponsor.chen", (SEVEN,)), ("nurse.li", (SEVEN,)),
    ]  # fmt: skip
    assert [row.detail for row in logged] == [
        {"id": str(SEVEN), "pii": True}, {"id": str(SEVEN), "pii": False},
        {"id": str(SEVEN), "pii": True},
    ]  # fmt: skip


def test_push_log_refuses_every_push_of_the_insert_when_the_log_cannot_be_written(
    service: Service, database_url: str, schema: str
) -> None:
    log = PushLog(service)
    rename(database_url, schema, TABLE, "trial_read_log_gone")

    refused = asyncio.run(push_to_all(log))

    assert count_rows(database_url, schema, "trial_read_log_gone") == 0
    assert [type(error) for error in refused] == [ReadNotLogged] * 3
    assert all(error is not None and "not served" in str(error) for error in refused)


def test_push_log_writes_again_when_an_insert_failed_before(
    service: Service, database_url: str, schema: str
) -> None:
    log = PushLog(service)
    rename(database_url, schema, TABLE, "trial_read_log_gone")
    asyncio.run(push_to_all(log))
    rename(database_url, schema, "trial_read_log_gone", TABLE)

    refused = asyncio.run(push_to_all(log))

    assert refused == [None, None, None]
    assert count_rows(database_url, schema, TABLE) == 3
