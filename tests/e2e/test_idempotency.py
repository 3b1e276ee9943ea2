"""Idempotency keys and expectedVersion over HTTP and a real database.

The use-case rules (a retry returns the first result and records nothing, a reused key with
another input is a conflict, a stale or future expectedVersion is refused) are tested for every
command in memory, in tests/unit/test_application.py. What only the service shows is here: each
mutation carries the key and the expected version to the use case (a correction carries the
version in its score), the errors reach the caller with their codes and nothing internal, and
concurrent retries and writes, racing in PostgreSQL, record one event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest

from domain.vocabulary import Role
from tests.e2e.conftest import RoleClient
from tests.e2e.documents import (
    CONSENT,
    CORRECT,
    INFUSE,
    MUTATION_FIELDS,
    PARTICIPANT,
    REPORT_AE,
    SCORE,
    SCREEN,
    UPDATE_AE,
    WITHDRAW,
    Shared,
    ae_input,
    ae_update_input,
    consent_input,
    correction_input,
    enrol,
    error_code,
    infusion_input,
    leaks_internals,
    screening_input,
    shared_service,
    visit_input,
    withdrawal_input,
)

Build = Callable[[str], dict[str, Any]]


@dataclass(frozen=True)
class Command:
    stage: str  # the stage the participant must be at for the command to succeed
    document: str
    build: Build  # the command's input for a participant id
    changed: Build  # the same command with one value changed


COMMANDS: dict[str, Command] = {
    "screen": Command(
        "CONSENTED", SCREEN, screening_input, lambda p: screening_input(p, screenedOn="2025-06-11")
    ),
    "recordInfusion": Command(
        "ELIGIBLE", INFUSE, infusion_input, lambda p: infusion_input(p, lot="CHT101-L0043")
    ),
    "scoreVisit": Command(
        "INFUSED",
        SCORE,
        lambda p: visit_input(p, "M1"),
        lambda p: visit_input(p, "M1", pgaScore=0.3),
    ),
    "correctVisit": Command(
        "M1_SCORED",
        CORRECT,
        lambda p: correction_input(p, "M1", "PGA misread", pgaScore=0.3, sdiItems=["CATARACT"]),
        lambda p: correction_input(p, "M1", "PGA misread", pgaScore=0.4, sdiItems=["CATARACT"]),
    ),
    "reportAdverseEvent": Command(
        "INFUSED", REPORT_AE, ae_input, lambda p: ae_input(p, ctcaeGrade=3)
    ),
    "updateAdverseEvent": Command(
        "AE_REPORTED",
        UPDATE_AE,
        lambda p: ae_update_input(p, ctcaeGrade=1),
        lambda p: ae_update_input(p, ctcaeGrade=3),
    ),
    "withdraw": Command(
        "INFUSED", WITHDRAW, withdrawal_input, lambda p: withdrawal_input(p, reason="DEATH")
    ),
}


def keyed(value: dict[str, Any], key: str) -> dict[str, Any]:
    return {**value, "idempotencyKey": key}


def expecting(document: str, value: dict[str, Any], version: int) -> dict[str, Any]:
    """``value`` with an expectedVersion; a correction carries it in its score."""
    if document == CORRECT:
        return {**value, "score": {**value["score"], "expectedVersion": version}}
    return {**value, "expectedVersion": version}


def version_of(reader: RoleClient, pid: str) -> int:
    return int(reader.data(PARTICIPANT, {"id": pid})["participant"]["version"])


@pytest.fixture(scope="module")
def shared(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    with shared_service(database_url, tmp_path_factory.mktemp("idempotency")) as service:
        yield service


@pytest.fixture
def staff(shared: Shared) -> RoleClient:
    return shared.client.as_role(Role.SITE_STAFF, "NJ01", sub="nurse-li")


@pytest.mark.parametrize("name", COMMANDS)
def test_every_mutation_carries_its_idempotency_key_to_the_use_case(
    name: str, shared: Shared, staff: RoleClient
) -> None:
    command = COMMANDS[name]
    pid = enrol(staff, shared.new_subject(), until=command.stage)
    key = f"{pid}/{name}"
    first = staff.data(command.document, {"input": keyed(command.build(pid), key)})[name]
    rows = shared.rows()

    retried = staff.data(command.document, {"input": keyed(command.build(pid), key)})[name]
    body = staff.post(command.document, {"input": keyed(command.changed(pid), key)})

    assert retried == first
    assert error_code(body) == "IDEMPOTENCY_CONFLICT"
    assert key in body["errors"][0]["message"]
    assert not leaks_internals(body)
    assert shared.rows() == rows
    assert version_of(staff, pid) == first["version"]


def test_consent_carries_its_idempotency_key_to_the_use_case(
    shared: Shared, staff: RoleClient
) -> None:
    subject = shared.new_subject()
    value = keyed(consent_input(subject), f"consent-{subject}")
    first = staff.data(CONSENT, {"input": value})["consent"]
    rows = shared.rows()

    retried = staff.data(CONSENT, {"input": value})["consent"]
    body = staff.post(CONSENT, {"input": {**value, "initials": "LW"}})

    assert retried == first
    assert error_code(body) == "IDEMPOTENCY_CONFLICT"
    assert shared.rows() == rows


@pytest.mark.parametrize("name", COMMANDS)
@pytest.mark.parametrize("offset", [-1, +1], ids=["stale", "ahead"])
def test_every_mutation_carries_its_expected_version_to_the_use_case(
    name: str, offset: int, shared: Shared, staff: RoleClient
) -> None:
    command = COMMANDS[name]
    pid = enrol(staff, shared.new_subject(), until=command.stage)
    version = version_of(staff, pid)
    rows = shared.rows()

    refused = staff.post(
        command.document,
        {"input": expecting(command.document, command.build(pid), version + offset)},
    )

    assert error_code(refused) == "CONCURRENCY_CONFLICT"
    assert f"expected version {version + offset}" in refused["errors"][0]["message"]
    assert not leaks_internals(refused)
    assert shared.rows() == rows
    result = staff.data(
        command.document, {"input": expecting(command.document, command.build(pid), version)}
    )[MUTATION_FIELDS[command.document]]
    assert result["version"] == version_of(staff, pid) == version + 1


def test_retries_record_one_event_and_all_return_its_result_when_sent_at_once(
    shared: Shared, staff: RoleClient
) -> None:
    pid = enrol(staff, shared.new_subject())
    value = keyed(visit_input(pid, "M1"), f"{pid}/M1-concurrent")
    events, log = shared.rows()

    with ThreadPoolExecutor(max_workers=6) as pool:
        bodies = list(pool.map(lambda _: staff.post(SCORE, {"input": value}), range(6)))

    results = [body["data"]["scoreVisit"] for body in bodies]
    assert [body.get("errors") for body in bodies] == [None] * 6
    assert all(result == results[0] for result in results)
    assert results[0]["version"] == 4
    assert shared.rows() == (events + 1, log + 1)


def test_only_one_command_is_recorded_when_several_expecting_one_version_are_sent_at_once(
    shared: Shared, staff: RoleClient
) -> None:
    pid = enrol(staff, shared.new_subject())
    events, log = shared.rows()

    def report(index: int) -> dict[str, Any]:
        value = expecting(REPORT_AE, ae_input(pid, f"AE-{index:03d}"), 3)
        return staff.post(REPORT_AE, {"input": value})

    with ThreadPoolExecutor(max_workers=6) as pool:
        bodies = list(pool.map(report, range(6)))

    codes = sorted(str(error_code(body)) for body in bodies)
    assert codes == ["CONCURRENCY_CONFLICT"] * 5 + ["None"]
    assert shared.rows() == (events + 1, log + 1)
    assert version_of(staff, pid) == 4
