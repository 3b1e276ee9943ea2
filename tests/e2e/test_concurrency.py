"""Fifty writers at once over HTTP on real PostgreSQL: what is accepted is recorded exactly once.

Each test sends 50 commands from 50 threads released together, then reads the store itself:
every accepted CommandResult is one row of the participant's stream (the events table and the
event log joined on position), versions run 1..N without a gap, each idempotency key is logged
at most once, and every refusal carries CONCURRENCY_CONFLICT or a domain code, never INTERNAL
or an HTTP 500. Afterwards the read models equal what a rebuild from the events makes.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row

from domain.vocabulary import Role
from infra.bootstrap import Service
from projections.runner import PROJECTIONS, rebuild
from projections.store import table_name
from tests.e2e.conftest import GraphQLClient, RoleClient
from tests.e2e.documents import (
    CONSENT,
    CORRECT,
    INFUSE,
    PARTICIPANT,
    PARTICIPANTS,
    REPORT_AE,
    SCORE,
    SCREEN,
    UPDATE_AE,
    WITHDRAW,
    ae_input,
    ae_update_input,
    consent_input,
    correction_input,
    enrol,
    infusion_input,
    projected,
    screening_input,
    visit_input,
    withdrawal_input,
)

pytestmark = pytest.mark.e2e

WRITERS = 50
CONFLICT = "CONCURRENCY_CONFLICT"


@dataclass(frozen=True)
class Answer:
    """One HTTP answer to a mutation: its status, body and what it was asked to do."""

    status: int
    body: dict[str, Any]
    label: str = ""

    @property
    def code(self) -> str | None:
        errors = self.body.get("errors") or []
        return None if not errors else (errors[0].get("extensions") or {}).get("code")

    @property
    def result(self) -> dict[str, Any] | None:
        """The CommandResult when the command was accepted, else None."""
        data = self.body.get("data") or {}
        result = next(iter(data.values()), None) if not self.body.get("errors") else None
        return result


@dataclass(frozen=True)
class Command:
    document: str
    input: dict[str, Any]
    label: str = ""


def at_once(client: GraphQLClient, token: str, commands: list[Command]) -> list[Answer]:
    """Send every command from its own thread, all released together; answers in order."""
    gate = threading.Barrier(len(commands))

    def send(command: Command) -> Answer:
        gate.wait(timeout=30)
        return post(client, token, command)

    with ThreadPoolExecutor(max_workers=len(commands)) as pool:
        return list(pool.map(send, commands))


def post(client: GraphQLClient, token: str, command: Command) -> Answer:
    response = client.http.post(
        client.url,
        json={"query": command.document, "variables": {"input": command.input}},
        headers={"Authorization": f"Bearer {token}"},
    )
    body = response.json() if response.headers.get("content-type", "").startswith(
        "application/json"
    ) else {"raw": response.text}  # fmt: skip
    return Answer(response.status_code, body, command.label)


def refused_only_with(answers: list[Answer], codes: set[str]) -> None:
    """No HTTP 500, and every refusal carries one of ``codes``."""
    assert [a.status for a in answers] == [200] * len(answers), [a.body for a in answers]
    unexpected = [(a.label, a.code, a.body) for a in answers if a.result is None]
    assert all(code in codes for _, code, _ in unexpected), unexpected


# ----- the store itself -----


@dataclass(frozen=True)
class Row:
    """An event joined to its event-log row (None on the side that is missing)."""

    position: int | None
    notification_id: int | None
    version: int
    event_type: str | None
    recorded_at: datetime | None
    idempotency_key: str | None


def stream(database_url: str, schema: str, pid: str) -> list[Row]:
    statement = sql.SQL(
        "SELECT l.position, e.notification_id,"
        " coalesce(l.version, e.originator_version) AS version, l.event_type, l.recorded_at,"
        " l.idempotency_key"
        " FROM {s}.trial_events e FULL JOIN {s}.trial_event_log l"
        "  ON l.position = e.notification_id"
        " WHERE coalesce(l.participant_id, e.originator_id) = %s"
        " ORDER BY 3"
    ).format(s=sql.Identifier(schema))
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        return [Row(**row) for row in conn.execute(statement, (pid,)).fetchall()]


def logged_keys(database_url: str, schema: str) -> Counter[str]:
    statement = sql.SQL(
        "SELECT idempotency_key FROM {}.trial_event_log WHERE idempotency_key IS NOT NULL"
    ).format(sql.Identifier(schema))
    with psycopg.connect(database_url) as conn:
        return Counter(str(row[0]) for row in conn.execute(statement).fetchall())


def recorded_exactly_once(
    database_url: str, schema: str, pid: str, before: int, answers: list[Answer]
) -> list[Row]:
    """Check the participant's stream against the accepted answers; return the stream."""
    rows = stream(database_url, schema, pid)
    assert all(r.position == r.notification_id is not None for r in rows), "event without log"
    assert [r.version for r in rows] == list(range(1, len(rows) + 1))
    accepted = {
        (r["participantId"], r["version"], r["position"], r["recordedAt"])
        for a in answers
        if (r := a.result) is not None and r["participantId"] == pid
    }
    new = {
        (pid, r.version, r.position, r.recorded_at.astimezone(UTC).isoformat())
        for r in rows
        if r.version > before and r.recorded_at is not None
    }
    assert {(p, v, n) for p, v, n, _ in accepted} == {(p, v, n) for p, v, n, _ in new}
    assert len(rows) == before + len(accepted)
    by_version = {r.version: r for r in rows}
    for _, version, _, recorded_at in accepted:
        logged = by_version[version].recorded_at
        assert logged is not None
        assert datetime.fromisoformat(recorded_at) == logged
    return rows


def version_of(staff: RoleClient, pid: str) -> int:
    return int(staff.data(PARTICIPANT, {"id": pid})["participant"]["version"])


# ----- read models against a rebuild -----

SUMMARY = """query($asOf: DateTime) { studySummary(asOf: $asOf) {
  consented screenFailed eligible infused withdrawn screenFailuresByCriterion { code count }
  endpoints { endpoint visit responders evaluable rate } } }"""
LEDGER = """query($asOf: DateTime) { safetyLedger(asOf: $asOf) {
  entries { participantId subjectId site event { aeId category ctcaeGrade serious crsGrade
    seriousCriteria resolvedOn reportingOverdue daysFromInfusion } }
  totals { participantsInfused participantsWithAe participantsWithSae crsAnyGrade crsGrade3Plus
    icansAnyGrade icansGrade3Plus acuteGvhdAnyGrade deaths overdueSaeReports } } }"""


def read_models(service: Service) -> dict[str, list[tuple[Any, ...]]]:
    """Every rm_* table's rows (participant, key, site, document), in a stable order."""
    datastore = service.read_models[PROJECTIONS[0].name].datastore
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with psycopg.connect(service.database_url) as conn:
        for projection in PROJECTIONS:
            statement = sql.SQL(
                "SELECT participant_id, key, site, doc FROM {}.{} ORDER BY participant_id, key"
            ).format(sql.Identifier(datastore.schema), sql.Identifier(table_name(projection.name)))
            tables[projection.name] = [tuple(row) for row in conn.execute(statement).fetchall()]
    return tables


def read_models_match_a_rebuild(service: Service, client: GraphQLClient) -> None:
    """Queries equal their replay from the events; the tables equal a rebuild of themselves."""
    projected(client.url)
    auditor = client.as_role(Role.AUDITOR, None)
    now = datetime.now(UTC).isoformat()
    assert auditor.data(SUMMARY) == auditor.data(SUMMARY, {"asOf": now})
    assert auditor.data(LEDGER) == auditor.data(LEDGER, {"asOf": now})
    for listed in auditor.data(PARTICIPANTS)["participants"]:
        variables = {"id": listed["id"], "atVersion": listed["version"]}
        assert auditor.data(PARTICIPANT, variables)["participant"] == listed
    live = read_models(service)

    for projection in PROJECTIONS:
        rebuild(service.app, projection.name)

    assert read_models(service) == live


# ----- 50 writers on one participant -----


def test_each_accepted_report_is_in_the_stream_once_when_50_writers_report_on_one_participant(
    service: Service, client: GraphQLClient, database_url: str, schema: str
) -> None:
    staff = client.as_role(Role.SITE_STAFF, "NJ01")
    pid = enrol(staff, "NJ01-007", until="INFUSED")
    # 25 adverse events, each sent twice at once with its idempotency key (a client's retry).
    commands = [
        Command(REPORT_AE, {**ae_input(pid, f"AE-{i:03d}"), "idempotencyKey": f"{pid}/AE-{i:03d}"},
                f"AE-{i:03d}")
        for i in range(WRITERS // 2)
        for _ in range(2)
    ]  # fmt: skip

    answers = at_once(client, staff.token, commands)

    refused_only_with(answers, {CONFLICT})
    accepted = {a.label for a in answers if a.result is not None}
    for label in accepted:
        twins = [a.result for a in answers if a.label == label and a.result is not None]
        assert all(twin == twins[0] for twin in twins), twins
    recorded_exactly_once(database_url, schema, pid, 3, answers)
    participant = staff.data(PARTICIPANT, {"id": pid})["participant"]
    assert sorted(ae["aeId"] for ae in participant["adverseEvents"]) == sorted(accepted)
    keys = logged_keys(database_url, schema)
    assert set(keys) == {f"{pid}/{label}" for label in accepted}
    assert set(keys.values()) == {1}
    read_models_match_a_rebuild(service, client)


def test_writes_stay_consistent_when_50_mixed_commands_race_on_one_participant(
    service: Service, client: GraphQLClient, database_url: str, schema: str
) -> None:
    staff = client.as_role(Role.SITE_STAFF, "NJ01")
    pid = enrol(staff, "NJ01-007", until="AE_REPORTED")  # version 4, AE-001 reported
    visits = ["M2", "M3", "M6", "M9", "M12"]
    commands = [
        *(Command(SCORE, visit_input(pid, v, sdiItems=[], pgaScore=0.1 * (1 + i)), f"score {v}")
          for i in range(2) for v in visits),
        *(Command(CORRECT, correction_input(pid, v, "source record differs", sdiItems=[]),
                  f"correct {v}") for v in visits * 2),
        *(Command(REPORT_AE, {**ae_input(pid, f"AE-1{i:02d}"), "expectedVersion": 4},
                  f"expecting AE-1{i:02d}") for i in range(10)),
        *(Command(REPORT_AE, ae_input(pid, f"AE-2{i:02d}"), f"AE-2{i:02d}") for i in range(5)),
        *(Command(UPDATE_AE, ae_update_input(pid, ctcaeGrade=1 + i % 3), "update AE-001")
          for i in range(10)),
        *(Command(WITHDRAW, withdrawal_input(pid, withdrawnOn=f"2025-09-0{1 + i}"), "withdraw")
          for i in range(5)),
    ]  # fmt: skip
    assert len(commands) == WRITERS

    answers = at_once(client, staff.token, commands)

    refused_only_with(answers, {CONFLICT, "DOMAIN_RULE"})
    accepted = Counter(a.label for a in answers if a.result is not None)
    assert sum(n for label, n in accepted.items() if label.startswith("expecting")) <= 1
    assert all(accepted[f"score {v}"] <= 1 for v in visits)
    assert accepted["withdraw"] <= 1
    rows = recorded_exactly_once(database_url, schema, pid, 4, answers)
    assert Counter(r.event_type for r in rows)["Withdrawn"] == accepted["withdraw"]
    participant = staff.data(PARTICIPANT, {"id": pid})["participant"]
    assert sorted(v["visit"] for v in participant["visits"]) == sorted(
        v for v in visits if accepted[f"score {v}"]
    )
    reported = {label.split()[-1] for label in accepted if "AE-" in label}
    assert {ae["aeId"] for ae in participant["adverseEvents"]} == {"AE-001", *reported}
    assert (participant["status"] == "WITHDRAWN") is bool(accepted["withdraw"])
    read_models_match_a_rebuild(service, client)


def test_exactly_one_infusion_is_recorded_when_50_writers_infuse_one_eligible_participant(
    service: Service, client: GraphQLClient, database_url: str, schema: str
) -> None:
    staff = client.as_role(Role.SITE_STAFF, "NJ01")
    pid = enrol(staff, "NJ01-007", until="ELIGIBLE")
    commands = [
        Command(INFUSE, infusion_input(pid, lot=f"CHT101-L{i:04d}",
                                       infusedAt=f"2025-06-20T02:{i:02d}:00Z"), f"{i:02d}")
        for i in range(WRITERS)
    ]  # fmt: skip

    answers = at_once(client, staff.token, commands)

    refused_only_with(answers, {CONFLICT, "DOMAIN_RULE"})
    winners = [a for a in answers if a.result is not None]
    assert len(winners) == 1
    rows = recorded_exactly_once(database_url, schema, pid, 2, answers)
    assert [r.event_type for r in rows].count("Infused") == 1
    participant = staff.data(PARTICIPANT, {"id": pid})["participant"]
    assert (participant["status"], participant["version"]) == ("INFUSED", 3)
    assert participant["infusedAt"].startswith(f"2025-06-20T02:{winners[0].label}:00")
    read_models_match_a_rebuild(service, client)


def test_exactly_one_consent_is_recorded_when_50_writers_consent_one_subject(
    service: Service, client: GraphQLClient, database_url: str, schema: str
) -> None:
    staff = client.as_role(Role.SITE_STAFF, "NJ01")
    commands = [
        Command(CONSENT, consent_input("NJ01-007", initials=f"W{i:02d}"), f"W{i:02d}")
        for i in range(WRITERS)
    ]

    answers = at_once(client, staff.token, commands)

    refused_only_with(answers, {CONFLICT, "DOMAIN_RULE"})
    winners = [a for a in answers if a.result is not None]
    assert len(winners) == 1
    pid = winners[0].result["participantId"] if winners[0].result else ""
    recorded_exactly_once(database_url, schema, pid, 0, answers)
    participant = staff.data(PARTICIPANT, {"id": pid})["participant"]
    assert (participant["initials"], participant["version"]) == (winners[0].label, 1)
    read_models_match_a_rebuild(service, client)


# ----- 50 writers on 50 participants -----


def test_every_participant_is_infused_once_when_50_writers_enrol_one_participant_each(
    service: Service, client: GraphQLClient, database_url: str, schema: str
) -> None:
    sites = ["NJ01", "NJ02"]
    staff = {site: client.as_role(Role.SITE_STAFF, site) for site in sites}
    subjects = [(sites[i % 2], f"{sites[i % 2]}-{100 + i}") for i in range(WRITERS)]
    gate = threading.Barrier(WRITERS)

    def enrol_one(site_subject: tuple[str, str]) -> list[Answer]:
        site, subject = site_subject
        gate.wait(timeout=30)
        consented = post(client, staff[site].token, Command(CONSENT, consent_input(subject, site)))
        if consented.result is None:
            return [consented]
        pid = consented.result["participantId"]
        steps: list[Callable[[str], dict[str, Any]]] = [screening_input, infusion_input]
        answers = [consented]
        for document, build in zip((SCREEN, INFUSE), steps, strict=True):
            answers.append(post(client, staff[site].token, Command(document, build(pid))))
        return answers

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        per_writer = list(pool.map(enrol_one, subjects))

    answers = [answer for writer in per_writer for answer in writer]
    refused_only_with(answers, set())
    assert len(answers) == 3 * WRITERS
    positions = [a.result["position"] for a in answers if a.result is not None]
    assert len(set(positions)) == len(positions)
    for writer in per_writer:
        pid = writer[0].result["participantId"] if writer[0].result else ""
        assert [a.result["version"] for a in writer if a.result] == [1, 2, 3]
        recorded_exactly_once(database_url, schema, pid, 0, writer)
    projected(client.url)
    listed = client.as_role(Role.AUDITOR, None).data(PARTICIPANTS)["participants"]
    assert sorted(p["subjectId"] for p in listed) == sorted(s for _, s in subjects)
    assert {(p["status"], p["version"]) for p in listed} == {("INFUSED", 3)}
    read_models_match_a_rebuild(service, client)


def test_refused_commands_write_nothing_when_50_writers_race_on_one_participant(
    client: GraphQLClient, database_url: str, schema: str
) -> None:
    staff = client.as_role(Role.SITE_STAFF, "NJ01")
    pid = enrol(staff, "NJ01-007", until="INFUSED")
    version = version_of(staff, pid)
    commands = [
        Command(SCORE, {**visit_input(pid, "M1"), "expectedVersion": version,
                        "idempotencyKey": f"{pid}/M1/{i}"}, str(i))
        for i in range(WRITERS)
    ]  # fmt: skip

    answers = at_once(client, staff.token, commands)

    refused_only_with(answers, {CONFLICT, "DOMAIN_RULE"})
    winners = [a for a in answers if a.result is not None]
    assert len(winners) == 1
    assert (winners[0].result or {})["version"] == version + 1
    recorded_exactly_once(database_url, schema, pid, version, answers)
    assert set(logged_keys(database_url, schema)) == {f"{pid}/M1/{winners[0].label}"}
