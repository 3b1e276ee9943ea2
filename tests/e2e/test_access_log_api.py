"""The read-access log over HTTP and WebSocket: each answer with participant-level data appends one
row naming who read which participants and how; refused reads append nothing; readAccessLog is
for AUDITORs, pages by id and is logged itself; a read that cannot be logged is not answered."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import count
from typing import Any

import psycopg
import pytest
from psycopg.sql import SQL, Identifier

from domain.vocabulary import Role
from tests.e2e.conftest import GraphQLClient, RoleClient, RunningServer
from tests.e2e.documents import (
    BY_SUBJECT,
    PARTICIPANT,
    PARTICIPANTS,
    REPORT_AE,
    SCREEN,
    ae_input,
    enrol,
    error_code,
    projected,
    screening_input,
    shared_service,
)
from tests.e2e.test_subscriptions import (
    LEDGER_CHANGED,
    PARTICIPANT_CHANGED,
    mutate,
    run,
    settled,
    subscribed,
    subscriber,
)

pytestmark = pytest.mark.e2e

READ_ACCESS_LOG = """
query($after: Int, $limit: Int, $participantId: ID) {
  readAccessLog(after: $after, limit: $limit, participantId: $participantId) {
    entries { id readAt actor actorRole actorSite operation participantIds detail }
    nextAfter
  }
}"""
LEDGER = "query { safetyLedger { entries { subjectId event { aeId term } } } }"
SUMMARY = "query { studySummary { consented } }"
LOG_TABLE = "trial_read_log"


@dataclass(frozen=True)
class Study:
    """NJ01-007 (infused, a CRS reported), NJ01-008 (consented) and SH02-001 (consented)."""

    client: GraphQLClient
    database_url: str
    schema: str
    seven: str
    eight: str
    sh02: str
    recorded: str  # an instant after all three were recorded
    readers: Iterator[int]

    def reader(
        self, role: Role = Role.SITE_STAFF, site: str | None = "NJ01"
    ) -> tuple[RoleClient, str]:
        """A caller no other test uses, so that its rows are its own, and its user id."""
        sub = f"reader-{next(self.readers)}"
        return self.client.as_role(role, site, sub=sub), sub

    def auditor(self) -> RoleClient:
        return self.client.as_role(Role.AUDITOR, None, sub="inspector")


@pytest.fixture(scope="module")
def study(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Study]:
    with shared_service(database_url, tmp_path_factory.mktemp("access-log")) as shared:
        client = shared.client
        nj01 = client.as_role(Role.SITE_STAFF, "NJ01", sub="staff-nj01")
        seven = enrol(nj01, "NJ01-007", until="AE_REPORTED")
        eight = enrol(nj01, "NJ01-008", until="CONSENTED")
        sh02 = enrol(client.as_role(Role.SITE_STAFF, "SH02", sub="staff-sh02"), "SH02-001", "SH02",
                     until="CONSENTED")  # fmt: skip
        projected(client.url)
        recorded = datetime.now(UTC).isoformat()
        yield Study(
            client, shared.database_url, shared.schema, seven, eight, sh02, recorded, count(1)
        )


def log_of(auditor: RoleClient, actor: str) -> list[dict[str, Any]]:
    """Every row of ``actor``, read through readAccessLog page by page."""
    rows: list[dict[str, Any]] = []
    after = None
    while True:
        page = auditor.data(READ_ACCESS_LOG, {"after": after, "limit": 50})["readAccessLog"]
        rows += [row for row in page["entries"] if row["actor"] == actor]
        after = page["nextAfter"]
        if after is None:
            return rows


# ----- one row per answered query -----

Case = Callable[[Study], tuple[str, dict[str, Any], str, list[str], dict[str, Any]]]
CASES: dict[str, Case] = {
    "participant now": lambda s: (
        PARTICIPANT, {"id": s.seven}, "participant", [s.seven], {"id": s.seven}),
    "participant atVersion": lambda s: (
        PARTICIPANT, {"id": s.seven, "atVersion": 2}, "participant", [s.seven],
        {"id": s.seven, "atVersion": 2}),
    "participant asOf": lambda s: (
        PARTICIPANT, {"id": s.seven, "asOf": s.recorded}, "participant", [s.seven],
        {"id": s.seven, "asOf": s.recorded}),
    "participant asOf before consent": lambda s: (
        PARTICIPANT, {"id": s.seven, "asOf": "2025-01-01T00:00:00+00:00"}, "participant", [],
        {"id": s.seven, "asOf": "2025-01-01T00:00:00+00:00"}),
    "participant unknown": lambda s: (
        PARTICIPANT, {"id": "00000000-0000-4000-8000-000000000007"}, "participant", [],
        {"id": "00000000-0000-4000-8000-000000000007"}),
    "participantBySubject": lambda s: (
        BY_SUBJECT, {"subjectId": "NJ01-007"}, "participantBySubject", [s.seven],
        {"subjectId": "NJ01-007"}),
    "participants of a site": lambda s: (
        PARTICIPANTS, {"site": "NJ01"}, "participants", [s.seven, s.eight], {"site": "NJ01"}),
    "participants of any status": lambda s: (
        PARTICIPANTS, {"status": "INFUSED"}, "participants", [s.seven], {"status": "INFUSED"}),
    "safetyLedger": lambda s: (LEDGER, {}, "safetyLedger", [s.seven], {}),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_query_appends_one_row_with_actor_role_operation_and_ids_when_it_is_answered(
    study: Study, case: Case
) -> None:
    document, variables, operation, ids, asked = case(study)
    reader, reader_id = study.reader(Role.SITE_STAFF, "NJ01")

    reader.data(document, variables)

    [row] = log_of(study.auditor(), reader_id)
    assert (row["actorRole"], row["actorSite"], row["operation"]) == (
        "SITE_STAFF", "NJ01", operation,
    )  # fmt: skip
    assert row["participantIds"] == ids
    assert row["detail"] == {**asked, "pii": True}
    assert datetime.fromisoformat(row["readAt"]).tzinfo is not None


def test_participants_logs_every_site_and_no_pii_when_a_sponsor_lists_them(study: Study) -> None:
    sponsor, sponsor_id = study.reader(Role.SPONSOR, None)

    listed = sponsor.data(PARTICIPANTS)["participants"]

    [row] = log_of(study.auditor(), sponsor_id)
    assert sorted(row["participantIds"]) == sorted(p["id"] for p in listed)
    assert sorted(row["participantIds"]) == sorted([study.seven, study.eight, study.sh02])
    assert (row["actorRole"], row["actorSite"], row["detail"]) == ("SPONSOR", None, {"pii": False})


def test_study_summary_appends_no_row_when_it_is_answered(study: Study) -> None:
    sponsor, sponsor_id = study.reader(Role.SPONSOR, None)

    sponsor.data(SUMMARY)

    assert log_of(study.auditor(), sponsor_id) == []


# ----- refused reads -----

REFUSED: dict[str, Callable[[Study], tuple[str, dict[str, Any]]]] = {
    "participant": lambda s: (PARTICIPANT, {"id": s.seven}),
    "participant asOf": lambda s: (PARTICIPANT, {"id": s.seven, "asOf": s.recorded}),
    "participant atVersion": lambda s: (PARTICIPANT, {"id": s.seven, "atVersion": 1}),
    "participantBySubject": lambda s: (BY_SUBJECT, {"subjectId": "NJ01-007"}),
    "participants of another site": lambda s: (PARTICIPANTS, {"site": "NJ01"}),
}


@pytest.mark.parametrize("refused", REFUSED.values(), ids=REFUSED.keys())
def test_query_appends_nothing_when_it_is_forbidden(
    study: Study, refused: Callable[[Study], tuple[str, dict[str, Any]]]
) -> None:
    document, variables = refused(study)
    outsider, outsider_id = study.reader(Role.SITE_STAFF, "SH02")

    body = outsider.post(document, variables)

    assert error_code(body) == "FORBIDDEN"
    assert log_of(study.auditor(), outsider_id) == []


# ----- readAccessLog -----


@pytest.mark.parametrize(
    ("role", "site"),
    [
        (Role.SITE_STAFF, "NJ01"),
        (Role.INVESTIGATOR, "NJ01"),
        (Role.MONITOR, None),
        (Role.SPONSOR, None),
        (Role.SAFETY_REVIEWER, None),
    ],
)
def test_read_access_log_is_forbidden_when_the_caller_is_not_an_auditor(
    study: Study, role: Role, site: str | None
) -> None:
    caller, caller_id = study.reader(role, site)

    body = caller.post(READ_ACCESS_LOG)

    assert error_code(body) == "FORBIDDEN"
    assert body["data"] is None
    assert log_of(study.auditor(), caller_id) == []


def test_read_access_log_pages_every_row_once_when_an_auditor_follows_next_after(
    study: Study,
) -> None:
    reader, _ = study.reader()
    for _ in range(5):
        reader.data(PARTICIPANT, {"id": study.eight})
    auditor, _ = study.reader(Role.AUDITOR, None)
    everything = auditor.data(READ_ACCESS_LOG, {"limit": 1000})["readAccessLog"]

    paged: list[dict[str, Any]] = []
    after = None
    while True:
        page = auditor.data(READ_ACCESS_LOG, {"after": after, "limit": 2})["readAccessLog"]
        assert len(page["entries"]) <= 2
        paged += page["entries"]
        after = page["nextAfter"]
        if after is None:
            break

    ids = [row["id"] for row in paged]
    assert ids == sorted(set(ids))
    assert [row for row in paged if row["id"] <= everything["entries"][-1]["id"]] == everything[
        "entries"
    ]
    assert everything["nextAfter"] is None


def test_read_access_log_is_logged_itself_and_filters_by_participant_when_asked(
    study: Study,
) -> None:
    reader, reader_id = study.reader()
    reader.data(PARTICIPANT, {"id": study.eight})
    auditor, auditor_id = study.reader(Role.AUDITOR, None)

    page = auditor.data(READ_ACCESS_LOG, {"participantId": study.eight})["readAccessLog"]

    assert page["entries"] and all(study.eight in row["participantIds"] for row in page["entries"])
    assert reader_id in {row["actor"] for row in page["entries"]}
    [own] = log_of(study.auditor(), auditor_id)
    assert (own["operation"], own["participantIds"]) == ("readAccessLog", [])
    assert own["detail"] == {"limit": 100, "participantId": study.eight, "pii": True}


# ----- a read that cannot be logged -----


def test_participant_is_not_served_when_its_read_cannot_be_logged(study: Study) -> None:
    reader, reader_id = study.reader()
    table = SQL("{}.{}").format(Identifier(study.schema), Identifier(LOG_TABLE))
    renamed = SQL("ALTER TABLE {} RENAME TO trial_read_log_away").format(table)
    back = SQL("ALTER TABLE {}.trial_read_log_away RENAME TO {}").format(
        Identifier(study.schema), Identifier(LOG_TABLE)
    )
    with psycopg.connect(study.database_url, autocommit=True) as conn:
        conn.execute(renamed)
        try:
            body = reader.post(PARTICIPANT, {"id": study.seven})
        finally:
            conn.execute(back)

    assert error_code(body) == "SERVICE_UNAVAILABLE"
    assert body["data"] == {"participant": None}
    assert "LMW" not in json.dumps(body) and "1988-04-17" not in json.dumps(body)
    assert log_of(study.auditor(), reader_id) == []


# ----- subscription pushes -----


def rows_of(client: GraphQLClient, actor: str) -> list[dict[str, Any]]:
    return log_of(client.as_role(Role.AUDITOR, None, sub="inspector"), actor)


def test_participant_changed_push_appends_one_row_when_the_participant_is_screened(
    server: RunningServer, client: GraphQLClient
) -> None:
    writer = client.as_role(Role.SITE_STAFF, "NJ01", sub="staff-nj01")
    pid = enrol(writer, "NJ01-007", until="CONSENTED")
    watcher = client.as_role(Role.MONITOR, "NJ01", sub="monitor-watching")

    async def scenario() -> tuple[list[dict[str, Any]], dict[str, Any]]:
        async with subscriber(server, watcher.token) as sub:
            await sub.subscribe(PARTICIPANT_CHANGED, {"id": pid})
            await subscribed(server, 1)
            before_push = rows_of(client, "monitor-watching")
            await mutate(writer, SCREEN, screening_input(pid))
            return before_push, await sub.push()

    before_push, pushed = run(scenario())

    assert before_push == []
    assert pushed["version"] == 2
    [row] = rows_of(client, "monitor-watching")
    assert (row["operation"], row["participantIds"], row["actorRole"]) == (
        "participantChanged", [pid], "MONITOR",
    )  # fmt: skip
    assert row["detail"] == {"id": pid, "pii": True}


def test_safety_ledger_changed_push_appends_one_row_with_the_participants_when_an_ae_is_reported(
    server: RunningServer, client: GraphQLClient
) -> None:
    writer = client.as_role(Role.SITE_STAFF, "NJ01", sub="staff-nj01")
    pid = enrol(writer, "NJ01-007", until="INFUSED")
    reviewer = client.as_role(Role.SAFETY_REVIEWER, None, sub="reviewer-watching")

    async def scenario() -> dict[str, Any]:
        await settled(server)
        async with subscriber(server, reviewer.token) as sub:
            await sub.subscribe(LEDGER_CHANGED)
            await subscribed(server, 1)
            await mutate(writer, REPORT_AE, ae_input(pid))
            return await sub.push()

    ledger = run(scenario())

    assert [entry["subjectId"] for entry in ledger["entries"]] == ["NJ01-007"]
    [row] = rows_of(client, "reviewer-watching")
    assert (row["operation"], row["participantIds"], row["detail"]) == (
        "safetyLedgerChanged", [pid], {"pii": False},
    )  # fmt: skip


def test_access_log_row_is_in_postgres_when_a_participant_was_read(study: Study) -> None:
    reader, reader_id = study.reader()
    reader.data(PARTICIPANT, {"id": study.seven})

    with psycopg.connect(study.database_url) as conn:
        table = SQL("{}.{}").format(Identifier(study.schema), Identifier(LOG_TABLE))
        row = conn.execute(
            SQL("SELECT operation, participant_ids::text[] FROM {} WHERE actor = %s").format(table),
            (reader_id,),
        ).fetchone()

    assert row == ("participant", [study.seven])
