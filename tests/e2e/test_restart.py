"""A restart keeps everything: participants, versions, point-in-time views and idempotency keys.

The first service records its data and is closed; a second one is bootstrapped on the same
database and schema (``infra.bootstrap.bootstrap``) and served by a new server.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from domain.vocabulary import Role
from tests.e2e.conftest import GraphQLClient
from tests.e2e.documents import (
    CONSENT,
    PARTICIPANT,
    PARTICIPANTS,
    REPORT_AE,
    SCORE,
    Story,
    ae_input,
    consent_input,
    enrol,
    error_code,
    projected,
    scratch_schema,
    serving,
    stored_rows,
    visit_input,
    walk,
)

KEYED_SCORE = "NJ01-008/M1/first-entry"
KEYED_CONSENT = "NJ01-009/consent"


@dataclass(frozen=True)
class BeforeRestart:
    """What the first service recorded and showed before it was closed."""

    story: Story  # NJ01-007's whole lifecycle
    keyed_pid: str  # NJ01-008, whose M1 was scored with KEYED_SCORE
    keyed_score: dict[str, Any]
    keyed_consent: dict[str, Any]  # NJ01-009's consent, under KEYED_CONSENT
    participants: list[dict[str, Any]]
    token: str


@dataclass(frozen=True)
class Restarted:
    before: BeforeRestart
    rows_before: tuple[int, int]  # (events, event-log rows) once the first service was closed
    client: GraphQLClient
    database_url: str
    schema: str

    def rows(self) -> tuple[int, int]:
        return stored_rows(self.database_url, self.schema)


def record_first_life(client: GraphQLClient) -> BeforeRestart:
    staff = client.as_role(Role.SITE_STAFF, "NJ01", sub="nurse-li")
    story = walk(staff)
    keyed_pid = enrol(staff, "NJ01-008")
    keyed_input = {**visit_input(keyed_pid, "M1"), "idempotencyKey": KEYED_SCORE}
    keyed_score = staff.data(SCORE, {"input": keyed_input})["scoreVisit"]
    consent = {**consent_input("NJ01-009"), "idempotencyKey": KEYED_CONSENT}
    keyed_consent = staff.data(CONSENT, {"input": consent})["consent"]
    projected(client.url)
    participants = staff.data(PARTICIPANTS)["participants"]
    return BeforeRestart(story, keyed_pid, keyed_score, keyed_consent, participants, staff.token)


@pytest.fixture(scope="module")
def restarted(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Restarted]:
    with scratch_schema(database_url) as schema:
        with serving(database_url, schema, tmp_path_factory.mktemp("first-life")) as first:
            before = record_first_life(first)
        rows = stored_rows(database_url, schema)
        with serving(database_url, schema, tmp_path_factory.mktemp("second-life")) as second:
            yield Restarted(before, rows, second, database_url, schema)


def test_participants_are_listed_as_before_when_the_service_restarted(
    restarted: Restarted,
) -> None:
    staff = restarted.client.as_role(Role.SITE_STAFF, "NJ01", sub="nurse-li")

    projected(restarted.client.url)
    listed = staff.data(PARTICIPANTS)["participants"]

    before = {p["id"]: p for p in restarted.before.participants}
    after = {p["id"]: p for p in listed if p["id"] in before}
    assert after == before
    versions = {p["subjectId"]: p["version"] for p in before.values()}
    assert versions == {"NJ01-007": 16, "NJ01-008": 4, "NJ01-009": 1}


def test_retry_returns_the_first_result_and_records_nothing_when_the_service_restarted(
    restarted: Restarted,
) -> None:
    staff = restarted.client.as_role(Role.SITE_STAFF, "NJ01", sub="nurse-li")
    keyed_input = {**visit_input(restarted.before.keyed_pid, "M1"), "idempotencyKey": KEYED_SCORE}
    consent = {**consent_input("NJ01-009"), "idempotencyKey": KEYED_CONSENT}

    score = staff.data(SCORE, {"input": keyed_input})["scoreVisit"]
    consented = staff.data(CONSENT, {"input": consent})["consent"]

    assert score == restarted.before.keyed_score
    assert consented == restarted.before.keyed_consent
    assert restarted.rows() == restarted.rows_before


def test_key_reused_with_another_input_is_a_conflict_when_the_service_restarted(
    restarted: Restarted,
) -> None:
    staff = restarted.client.as_role(Role.SITE_STAFF, "NJ01", sub="nurse-li")
    changed = {
        **visit_input(restarted.before.keyed_pid, "M1", pgaScore=0.4),
        "idempotencyKey": KEYED_SCORE,
    }

    body = staff.post(SCORE, {"input": changed})

    assert error_code(body) == "IDEMPOTENCY_CONFLICT"
    assert restarted.rows() == restarted.rows_before


def test_consent_of_a_recorded_subject_is_refused_when_the_service_restarted(
    restarted: Restarted,
) -> None:
    staff = restarted.client.as_role(Role.SITE_STAFF, "NJ01", sub="nurse-li")

    body = staff.post(CONSENT, {"input": consent_input("NJ01-007")})

    assert error_code(body) == "DOMAIN_RULE"
    assert restarted.rows() == restarted.rows_before


@pytest.mark.parametrize("version", [1, 5, 11, 16])
def test_earlier_states_are_served_as_captured_when_the_service_restarted(
    restarted: Restarted, version: int
) -> None:
    story = restarted.before.story
    _, result, captured = story.taken[version - 1]
    staff = restarted.client.as_role(Role.SITE_STAFF, "NJ01", sub="nurse-li")

    at_version = staff.data(PARTICIPANT, {"id": story.pid, "atVersion": version})["participant"]
    as_of = staff.data(PARTICIPANT, {"id": story.pid, "asOf": result["recordedAt"]})["participant"]

    assert at_version == captured
    assert {**as_of, "asOf": None} == captured
    assert datetime.fromisoformat(as_of["asOf"]) == datetime.fromisoformat(result["recordedAt"])


def test_token_issued_before_the_restart_is_accepted_when_the_secret_is_the_same(
    restarted: Restarted,
) -> None:
    body = restarted.client.post(
        PARTICIPANT, {"id": restarted.before.story.pid}, token=restarted.before.token
    )

    assert "errors" not in body
    assert body["data"]["participant"]["version"] == 16


def test_new_command_continues_the_stream_when_the_service_restarted(
    restarted: Restarted,
) -> None:
    staff = restarted.client.as_role(Role.SITE_STAFF, "NJ01", sub="nurse-li")
    pid = restarted.before.keyed_pid
    last_position = restarted.before.keyed_consent["position"]  # the last command recorded
    events, log = restarted.rows()

    result = staff.data(REPORT_AE, {"input": ae_input(pid)})["reportAdverseEvent"]

    assert result["version"] == 5
    assert result["position"] > last_position
    assert restarted.rows() == (events + 1, log + 1)
    assert staff.data(PARTICIPANT, {"id": pid})["participant"]["version"] == 5
