"""The use cases, in memory: idempotency keys, expected versions, who may write where, and a
refused command recording nothing (the application over ``infra.memory``'s event log).

The contract's rules these follow: a retry with the same idempotency key and input returns the
first result and records nothing, the same key with another input is IDEMPOTENCY_CONFLICT; a
stale or future expectedVersion is CONCURRENCY_CONFLICT; only site staff and investigators
record data, each at their own site (FORBIDDEN otherwise); every refusal records nothing.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from uuid import UUID

import pytest

from domain.application import TrialApplication
from domain.codec import encode
from domain.commands import Actor, CommandResult, Request, command_digest
from domain.errors import (
    ConcurrencyConflict,
    DomainRuleViolation,
    Forbidden,
    IdempotencyConflict,
    NotFound,
    TrialError,
)
from domain.participant import participant_id
from domain.vocabulary import ParticipantStatus, Role, Visit, WithdrawalReason
from infra.memory import MEMORY, MemoryEventLog
from tests.unit.builders import (
    NOW,
    TIME_ZONE,
    ae_report,
    ae_update,
    baseline,
    consent,
    infusion,
    screening,
    visit,
    withdrawal,
)
from tests.unit.story import NURSE, through

DIGESTS = Path(__file__).parent / "data" / "command-digests.json"
OTHER_SITE = Actor("nurse.wang", Role.SITE_STAFF, "NJ02")
INVESTIGATOR = Actor("dr.zhou", Role.INVESTIGATOR, "NJ01")
READERS = [Role.MONITOR, Role.SPONSOR, Role.AUDITOR, Role.SAFETY_REVIEWER]

Send = Callable[[TrialApplication, UUID, Request], CommandResult]


@dataclass(frozen=True)
class Command:
    stage: str  # where the participant must be for the command to succeed
    send: Send
    changed: Send  # the same command with one value changed


COMMANDS: dict[str, Command] = {
    "screen": Command(
        "CONSENTED",
        lambda app, pid, r: app.screen(pid, screening(), r),
        lambda app, pid, r: app.screen(pid, screening(screened_on=date(2025, 6, 11)), r),
    ),
    "recordInfusion": Command(
        "ELIGIBLE",
        lambda app, pid, r: app.record_infusion(pid, infusion(), r),
        lambda app, pid, r: app.record_infusion(pid, infusion(lot="CHT101-L0043"), r),
    ),
    "scoreVisit": Command(
        "INFUSED",
        lambda app, pid, r: app.score_visit(pid, visit(Visit.M1), r),
        lambda app, pid, r: app.score_visit(pid, visit(Visit.M1, pga_tenths=3), r),
    ),
    "correctVisit": Command(
        "M1_SCORED",
        lambda app, pid, r: app.correct_visit(pid, visit(Visit.M1, pga_tenths=3), "misread", r),
        lambda app, pid, r: app.correct_visit(pid, visit(Visit.M1, pga_tenths=4), "misread", r),
    ),
    "reportAdverseEvent": Command(
        "INFUSED",
        lambda app, pid, r: app.report_adverse_event(pid, ae_report(), r),
        lambda app, pid, r: app.report_adverse_event(pid, ae_report(ctcae_grade=3), r),
    ),
    "updateAdverseEvent": Command(
        "AE_REPORTED",
        lambda app, pid, r: app.update_adverse_event(pid, ae_update(ctcae_grade=1), r),
        lambda app, pid, r: app.update_adverse_event(pid, ae_update(ctcae_grade=3), r),
    ),
    "withdraw": Command(
        "INFUSED",
        lambda app, pid, r: app.withdraw(pid, withdrawal(date(2025, 7, 1)), r),
        lambda app, pid, r: app.withdraw(
            pid, withdrawal(date(2025, 7, 1), WithdrawalReason.DEATH), r
        ),
    ),
}


def screen(app: TrialApplication, pid: UUID, request: Request) -> CommandResult:
    return app.screen(pid, screening(), request)


def infuse(app: TrialApplication, pid: UUID, request: Request) -> CommandResult:
    return app.record_infusion(pid, infusion(), request)


def score_m1(app: TrialApplication, pid: UUID, request: Request) -> CommandResult:
    return app.score_visit(pid, visit(Visit.M1), request)


def report_ae(app: TrialApplication, pid: UUID, request: Request) -> CommandResult:
    return app.report_adverse_event(pid, ae_report(), request)


STAGES: dict[str, list[Send]] = {
    "CONSENTED": [],
    "ELIGIBLE": [screen],
    "INFUSED": [screen, infuse],
    "M1_SCORED": [screen, infuse, score_m1],
    "AE_REPORTED": [screen, infuse, report_ae],
}


@pytest.fixture
def app() -> TrialApplication:
    return TrialApplication(env=MEMORY, clock=lambda: NOW, time_zone=TIME_ZONE)


def log(app: TrialApplication) -> MemoryEventLog:
    recorder = app.recorder
    assert isinstance(recorder, MemoryEventLog)
    return recorder


def recorded(app: TrialApplication) -> tuple[int, int]:
    """How many events and log rows are recorded."""
    return app.recorder.max_notification_id() or 0, len(log(app).entries)


def enrol(app: TrialApplication, stage: str = "INFUSED", subject: str = "NJ01-007") -> UUID:
    """A participant consented and taken to ``stage`` by the nurse of NJ01, without keys."""
    pid = app.consent(consent(subject_id=subject), Request(NURSE)).participant_id
    for send in STAGES[stage]:
        send(app, pid, Request(NURSE))
    return pid


def version(app: TrialApplication, pid: UUID) -> int:
    participant = app.participant(pid)
    assert participant is not None
    return participant.version


def refused(
    app: TrialApplication, error: type[TrialError], rule: str, act: Callable[[], object]
) -> TrialError:
    """``act`` raises ``error`` naming ``rule``, and nothing is recorded."""
    before = recorded(app)
    with pytest.raises(error) as raised:
        act()
    assert raised.value.rule == rule
    assert recorded(app) == before
    return raised.value


# ----- the command path -----


def test_each_command_records_one_event_and_its_log_row_with_who_and_when() -> None:
    app = TrialApplication(env=MEMORY, clock=lambda: NOW, time_zone=TIME_ZONE)

    pid, results = through(app)

    assert [r.version for r in results] == list(range(1, len(results) + 1))
    assert [r.position for r in results] == list(range(1, len(results) + 1))
    entries = app.event_log.log_entries(pid)
    assert [(e.position, e.recorded_at) for e in entries] == [
        (r.position, r.recorded_at) for r in results
    ]
    assert {(e.audit.actor, e.audit.actor_role, e.audit.actor_site) for e in entries} == {
        ("nurse.li", "SITE_STAFF", "NJ01")
    }
    assert all(a.recorded_at < b.recorded_at for a, b in itertools.pairwise(entries))
    assert recorded(app) == (len(results), len(results))


def test_command_digests_are_those_recorded_before_the_payload_codec_changed() -> None:
    # data/command-digests.json: the digests commit 0e44de9 recorded for the story's commands.
    # A retry sent across an upgrade must still be recognised as a retry.
    app = TrialApplication(env=MEMORY, clock=lambda: NOW, time_zone=TIME_ZONE)

    pid, _ = through(app)

    recorded = json.loads(DIGESTS.read_text())
    digests = [row["digest"] for row in recorded if row["expected_version"] is None]
    assert [e.audit.command_digest for e in app.event_log.log_entries(pid)] == digests


def test_a_command_digest_covers_its_expected_version_as_before() -> None:
    # The record's scoreVisit of the story's BASELINE values, expecting version 7.
    [row] = [r for r in json.loads(DIGESTS.read_text()) if r["expected_version"] is not None]

    digest = command_digest("scoreVisit", participant_id("NJ01-007"), encode(baseline()), 7)

    assert digest == row["digest"]
    assert digest != command_digest("scoreVisit", participant_id("NJ01-007"),
                                    encode(baseline()), 6)  # fmt: skip


def test_a_reason_is_logged_with_the_corrections_and_updates_that_give_one(
    app: TrialApplication,
) -> None:
    pid = enrol(app, "M1_SCORED")
    app.correct_visit(pid, visit(Visit.M1, pga_tenths=3), "PGA misread", Request(NURSE))
    app.report_adverse_event(pid, ae_report(), Request(NURSE))
    app.update_adverse_event(pid, ae_update(reason="resolved"), Request(NURSE))

    reasons = [e.audit.reason for e in app.event_log.log_entries(pid)]

    assert reasons == [None, None, None, None, "PGA misread", None, "resolved"]


def test_the_participant_reads_back_at_each_version_and_instant_it_was_recorded(
    app: TrialApplication,
) -> None:
    pid = enrol(app, "M1_SCORED")
    entries = app.event_log.log_entries(pid)

    at_versions = [app.participant(pid, at_version=e.version) for e in entries]
    as_of = [app.participant(pid, as_of=e.recorded_at) for e in entries]

    statuses = [ParticipantStatus.CONSENTED, ParticipantStatus.ELIGIBLE]
    statuses += [ParticipantStatus.INFUSED] * 2
    assert [p.status if p else None for p in at_versions] == statuses
    assert [p.version if p else None for p in as_of] == [1, 2, 3, 4]
    assert app.participant(pid, as_of=entries[0].recorded_at.replace(year=2000)) is None
    assert app.participant_ids() == [pid]


# ----- idempotency -----


@pytest.mark.parametrize("name", COMMANDS)
def test_retry_returns_the_first_result_and_records_nothing_when_key_and_input_are_the_same(
    name: str, app: TrialApplication
) -> None:
    command = COMMANDS[name]
    pid = enrol(app, command.stage)
    request = Request(NURSE, idempotency_key=f"{pid}/{name}")
    first = command.send(app, pid, request)
    before = recorded(app)

    retried = command.send(app, pid, request)

    assert retried == first
    assert recorded(app) == before
    assert version(app, pid) == first.version


@pytest.mark.parametrize("name", COMMANDS)
def test_retry_is_an_idempotency_conflict_and_records_nothing_when_the_input_differs(
    name: str, app: TrialApplication
) -> None:
    command = COMMANDS[name]
    pid = enrol(app, command.stage)
    request = Request(NURSE, idempotency_key=f"{pid}/{name}")
    command.send(app, pid, request)

    error = refused(
        app, IdempotencyConflict, "IDEMPOTENCY_KEY", lambda: command.changed(app, pid, request)
    )

    assert f"{pid}/{name}" in error.message


def test_consent_retry_returns_the_first_result_when_key_and_input_are_the_same(
    app: TrialApplication,
) -> None:
    request = Request(NURSE, idempotency_key="consent-retry")
    first = app.consent(consent(), request)
    before = recorded(app)

    assert app.consent(consent(), request) == first
    assert (first.version, recorded(app)) == (1, before)


def test_consent_retry_is_an_idempotency_conflict_when_the_input_differs(
    app: TrialApplication,
) -> None:
    request = Request(NURSE, idempotency_key="consent-changed")
    app.consent(consent(), request)

    refused(app, IdempotencyConflict, "IDEMPOTENCY_KEY",
            lambda: app.consent(consent(initials="LW"), request))  # fmt: skip


def test_consent_is_refused_when_repeated_without_a_key(app: TrialApplication) -> None:
    app.consent(consent(), Request(NURSE))

    refused(app, DomainRuleViolation, "CONSENT_ONCE",
            lambda: app.consent(consent(), Request(NURSE)))  # fmt: skip


def test_a_key_used_for_another_participant_is_an_idempotency_conflict(
    app: TrialApplication,
) -> None:
    first, second = enrol(app, subject="NJ01-007"), enrol(app, subject="NJ01-008")
    request = Request(NURSE, idempotency_key="m1-of-the-day")
    app.score_visit(first, visit(Visit.M1), request)

    refused(app, IdempotencyConflict, "IDEMPOTENCY_KEY",
            lambda: app.score_visit(second, visit(Visit.M1), request))  # fmt: skip
    assert version(app, second) == 3


def test_retry_returns_the_first_result_when_later_events_were_recorded(
    app: TrialApplication,
) -> None:
    pid = enrol(app)
    request = Request(NURSE, idempotency_key="m1")
    first = app.score_visit(pid, visit(Visit.M1), request)
    app.score_visit(pid, visit(Visit.M2), Request(NURSE))
    app.report_adverse_event(pid, ae_report(), Request(NURSE))

    assert app.score_visit(pid, visit(Visit.M1), request) == first
    assert (first.version, version(app, pid)) == (4, 6)


def test_retry_with_its_original_expected_version_returns_the_first_result_when_now_stale(
    app: TrialApplication,
) -> None:
    pid = enrol(app)
    request = Request(NURSE, idempotency_key="m1-at-3", expected_version=3)
    first = app.score_visit(pid, visit(Visit.M1), request)

    assert app.score_visit(pid, visit(Visit.M1), request) == first


def test_retry_is_an_idempotency_conflict_when_its_expected_version_differs(
    app: TrialApplication,
) -> None:
    pid = enrol(app)
    app.score_visit(pid, visit(Visit.M1), Request(NURSE, "m1-expecting", expected_version=3))

    refused(app, IdempotencyConflict, "IDEMPOTENCY_KEY", lambda: app.score_visit(
        pid, visit(Visit.M1), Request(NURSE, "m1-expecting", expected_version=4)
    ))  # fmt: skip


@pytest.mark.parametrize("key", ["", "x" * 201, "tab\there"], ids=["empty", "long", "control"])
def test_an_idempotency_key_is_1_to_200_printable_characters(key: str) -> None:
    with pytest.raises(TrialError) as raised:
        Request(NURSE, idempotency_key=key)

    assert raised.value.rule == "IDEMPOTENCY_KEY"


# ----- expected versions -----


@pytest.mark.parametrize("name", COMMANDS)
@pytest.mark.parametrize("offset", [-1, +1], ids=["stale", "ahead"])
def test_command_is_a_concurrency_conflict_and_records_nothing_when_expected_version_differs(
    name: str, offset: int, app: TrialApplication
) -> None:
    command = COMMANDS[name]
    pid = enrol(app, command.stage)
    current = version(app, pid)
    request = Request(NURSE, expected_version=current + offset)

    error = refused(
        app, ConcurrencyConflict, "EXPECTED_VERSION", lambda: command.send(app, pid, request)
    )

    assert f"expected version {current + offset}" in error.message


@pytest.mark.parametrize("name", COMMANDS)
def test_command_is_recorded_when_expected_version_is_the_current_one(
    name: str, app: TrialApplication
) -> None:
    command = COMMANDS[name]
    pid = enrol(app, command.stage)
    current = version(app, pid)
    events, rows = recorded(app)

    result = command.send(app, pid, Request(NURSE, expected_version=current))

    assert result.version == version(app, pid) == current + 1
    assert recorded(app) == (events + 1, rows + 1)


@pytest.mark.parametrize("expected", [0, None])
def test_consent_is_recorded_when_it_expects_no_events(
    expected: int | None, app: TrialApplication
) -> None:
    assert app.consent(consent(), Request(NURSE, expected_version=expected)).version == 1


def test_consent_is_a_concurrency_conflict_when_it_expects_events(app: TrialApplication) -> None:
    refused(app, ConcurrencyConflict, "EXPECTED_VERSION",
            lambda: app.consent(consent(), Request(NURSE, expected_version=1)))  # fmt: skip


# ----- who may write where -----


@pytest.mark.parametrize("role", READERS)
@pytest.mark.parametrize("name", COMMANDS)
def test_a_reading_role_may_record_nothing(name: str, role: Role, app: TrialApplication) -> None:
    command = COMMANDS[name]
    pid = enrol(app, command.stage)
    reader = Actor("someone", role, "NJ01" if role is Role.MONITOR else None)

    refused(app, Forbidden, "WRITE_ROLE", lambda: command.send(app, pid, Request(reader)))


@pytest.mark.parametrize("role", READERS)
def test_a_reading_role_may_not_consent(role: Role, app: TrialApplication) -> None:
    refused(app, Forbidden, "WRITE_ROLE",
            lambda: app.consent(consent(), Request(Actor("someone", role))))  # fmt: skip


@pytest.mark.parametrize("name", COMMANDS)
def test_staff_of_another_site_may_not_write_the_participant(
    name: str, app: TrialApplication
) -> None:
    command = COMMANDS[name]
    pid = enrol(app, command.stage)

    refused(app, Forbidden, "OWN_SITE", lambda: command.send(app, pid, Request(OTHER_SITE)))


def test_staff_of_another_site_may_not_consent_for_it(app: TrialApplication) -> None:
    refused(app, Forbidden, "OWN_SITE", lambda: app.consent(consent(), Request(OTHER_SITE)))


def test_the_investigator_of_the_site_records_like_its_staff(app: TrialApplication) -> None:
    pid = enrol(app, "INFUSED")

    result = app.score_visit(pid, visit(Visit.M1), Request(INVESTIGATOR))

    assert result.version == 4
    assert app.event_log.log_entries(pid)[-1].audit.actor_role == "INVESTIGATOR"


# ----- refusals -----


def test_a_command_for_a_participant_who_never_consented_is_not_found(
    app: TrialApplication,
) -> None:
    nobody = participant_id("NJ01-404")

    refused(app, NotFound, "PARTICIPANT_EXISTS",
            lambda: app.screen(nobody, screening(), Request(NURSE)))  # fmt: skip


REFUSALS: list[tuple[str, str, Send]] = [
    ("CONSENTED", "INFUSION_NEEDS_ELIGIBILITY", infuse),
    ("ELIGIBLE", "VISIT_NEEDS_INFUSION", score_m1),
    ("INFUSED", "INFUSION_ONCE", infuse),
    ("M1_SCORED", "VISIT_SCORED_ONCE", score_m1),
    ("AE_REPORTED", "AE_ID_UNIQUE", report_ae),
]


@pytest.mark.parametrize(("stage", "rule", "send"), REFUSALS, ids=[r[1] for r in REFUSALS])
def test_a_command_a_rule_refuses_records_nothing_and_leaves_its_key_unused(
    stage: str, rule: str, send: Send, app: TrialApplication
) -> None:
    pid = enrol(app, stage)
    request = Request(NURSE, idempotency_key="refused")

    refused(app, DomainRuleViolation, rule, lambda: send(app, pid, request))

    assert app.event_log.find_command("refused") is None
