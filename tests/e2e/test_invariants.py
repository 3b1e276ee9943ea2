"""Every rule a command can break, refused over HTTP with its code — and nothing recorded.

"Nothing recorded" is read from the store itself: the schema's ``trial_events`` and
``trial_event_log`` tables keep their row counts, and the participant keeps its version.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
    RESULT,
    SCORE,
    SCREEN,
    UPDATE_AE,
    WITHDRAW,
    Shared,
    ae_input,
    ae_update_input,
    bilag,
    consent_input,
    correction_input,
    enrol,
    error_code,
    icans_input,
    infusion_input,
    leaks_internals,
    screening_input,
    shared_service,
    visit_input,
    withdrawal_input,
)

UNKNOWN = "00000000-0000-4000-8000-000000000404"
# Three days ahead of the UTC date is in the future in every time zone, the trial's included.
FUTURE = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
IN_TWO_HOURS = (datetime.now(UTC) + timedelta(hours=2)).isoformat()

Build = Callable[[str], dict[str, Any]]


def labs(**changes: Any) -> dict[str, Any]:
    return {**screening_input(UNKNOWN)["labs"], **changes}


@dataclass(frozen=True)
class Refusal:
    stage: str | None  # None: the participant does not exist
    document: str
    build: Build
    code: str
    rule: str
    writer: tuple[Role, str | None] = (Role.SITE_STAFF, "NJ01")
    subject: str | None = None  # the subject the setup consents; by default a fresh one


DOMAIN_RULES = {
    "consenting the same subject twice": Refusal(
        "CONSENTED",
        CONSENT,
        lambda _: consent_input("NJ01-007"),
        "DOMAIN_RULE",
        "CONSENT_ONCE",
        subject="NJ01-007",
    ),
    "screening an infused participant": Refusal(
        "INFUSED", SCREEN, screening_input, "DOMAIN_RULE", "SCREENING_NEEDS_CONSENT"
    ),
    "screening dated before the consent": Refusal(
        "CONSENTED",
        SCREEN,
        lambda pid: screening_input(pid, screenedOn="2025-06-01"),
        "DOMAIN_RULE",
        "NOT_BEFORE_CONSENT",
    ),
    "infusion before any screening": Refusal(
        "CONSENTED", INFUSE, infusion_input, "DOMAIN_RULE", "INFUSION_NEEDS_ELIGIBILITY"
    ),
    "infusion after a screen failure": Refusal(
        "SCREEN_FAILED", INFUSE, infusion_input, "DOMAIN_RULE", "INFUSION_NEEDS_ELIGIBILITY"
    ),
    "a second infusion": Refusal("INFUSED", INFUSE, infusion_input, "DOMAIN_RULE", "INFUSION_ONCE"),
    "a visit before the infusion is recorded": Refusal(
        "ELIGIBLE", SCORE, lambda pid: visit_input(pid, "M1"), "DOMAIN_RULE", "VISIT_NEEDS_INFUSION"
    ),
    "scoring a visit twice": Refusal(
        "M1_SCORED",
        SCORE,
        lambda pid: visit_input(pid, "M1", sdiItems=["CATARACT"]),
        "DOMAIN_RULE",
        "VISIT_SCORED_ONCE",
    ),
    "a visit after withdrawal": Refusal(
        "WITHDRAWN",
        SCORE,
        lambda pid: visit_input(pid, "M1"),
        "DOMAIN_RULE",
        "NO_VISIT_AFTER_WITHDRAWAL",
    ),
    # A follow-up dated before the infusion date contradicts the recorded infusion: a workflow
    # rule between two recorded facts (like NOT_BEFORE_CONSENT), not malformed input.
    "a follow-up visit dated before the infusion date": Refusal(
        "INFUSED",
        SCORE,
        lambda pid: visit_input(pid, "M1", visitDate="2025-06-19"),
        "DOMAIN_RULE",
        "VISIT_BEFORE_INFUSION",
    ),
    "a BASELINE dated after the infusion date": Refusal(
        "INFUSED",
        SCORE,
        lambda pid: visit_input(pid, "BASELINE", visitDate="2025-06-21"),
        "DOMAIN_RULE",
        "BASELINE_AFTER_INFUSION",
    ),
    "damage (SDI) decreasing at a later visit": Refusal(
        "M1_SCORED",
        SCORE,
        lambda pid: visit_input(pid, "M2", sdiItems=[]),
        "DOMAIN_RULE",
        "SDI_NEVER_DECREASES",
    ),
    "damage (SDI) decreasing by a correction": Refusal(
        "M2_SCORED",
        CORRECT,
        lambda pid: correction_input(pid, "M2", "cataract was misattributed", sdiItems=[]),
        "DOMAIN_RULE",
        "SDI_NEVER_DECREASES",
    ),
    "damage (SDI) raised above a later visit by a correction": Refusal(
        "M2_SCORED",
        CORRECT,
        lambda pid: correction_input(
            pid, "M1", "diabetes found in the notes", sdiItems=["CATARACT", "DIABETES"]
        ),
        "DOMAIN_RULE",
        "SDI_NEVER_DECREASES",
    ),
    "correcting a visit never scored": Refusal(
        "INFUSED",
        CORRECT,
        lambda pid: correction_input(pid, "M1", "typo"),
        "DOMAIN_RULE",
        "CORRECTION_NEEDS_SCORED_VISIT",
    ),
    "a correction without a reason": Refusal(
        "M1_SCORED",
        CORRECT,
        lambda pid: correction_input(pid, "M1", "   ", sdiItems=["CATARACT"]),
        "DOMAIN_RULE",
        "REASON_REQUIRED",
    ),
    "an AE id reported twice": Refusal(
        "AE_REPORTED", REPORT_AE, ae_input, "DOMAIN_RULE", "AE_ID_UNIQUE"
    ),
    "an AE resolved before its onset": Refusal(
        "AE_REPORTED",
        UPDATE_AE,
        lambda pid: ae_update_input(pid, resolvedOn="2025-06-20"),
        "DOMAIN_RULE",
        "AE_RESOLVED_AFTER_ONSET",
    ),
    "an AE update without a reason": Refusal(
        "AE_REPORTED",
        UPDATE_AE,
        lambda pid: ae_update_input(pid, ctcaeGrade=1, reason=" "),
        "DOMAIN_RULE",
        "REASON_REQUIRED",
    ),
    "a second withdrawal": Refusal(
        "WITHDRAWN", WITHDRAW, withdrawal_input, "DOMAIN_RULE", "WITHDRAWAL_ONCE"
    ),
}

FUTURE_DATES = {
    "a consent signed in the future": Refusal(
        None,
        CONSENT,
        lambda _: consent_input("NJ01-008", signedOn=FUTURE),
        "DOMAIN_RULE",
        "NO_FUTURE_DATE",
    ),
    "a screening dated in the future": Refusal(
        "CONSENTED",
        SCREEN,
        lambda pid: screening_input(pid, screenedOn=FUTURE),
        "DOMAIN_RULE",
        "NO_FUTURE_DATE",
    ),
    "an infusion two hours from now": Refusal(
        "ELIGIBLE",
        INFUSE,
        lambda pid: infusion_input(pid, infusedAt=IN_TWO_HOURS),
        "DOMAIN_RULE",
        "NO_FUTURE_DATE",
    ),
    "a visit dated in the future": Refusal(
        "INFUSED",
        SCORE,
        lambda pid: visit_input(pid, "M12", visitDate=FUTURE),
        "DOMAIN_RULE",
        "NO_FUTURE_DATE",
    ),
    "an AE onset in the future": Refusal(
        "INFUSED",
        REPORT_AE,
        lambda pid: ae_input(pid, onsetOn=FUTURE),
        "DOMAIN_RULE",
        "NO_FUTURE_DATE",
    ),
    "an AE the site becomes aware of two hours from now": Refusal(
        "INFUSED",
        REPORT_AE,
        lambda pid: ae_input(pid, awareAt=IN_TWO_HOURS),
        "DOMAIN_RULE",
        "NO_FUTURE_DATE",
    ),
    "an AE resolved in the future": Refusal(
        "AE_REPORTED",
        UPDATE_AE,
        lambda pid: ae_update_input(pid, resolvedOn=FUTURE),
        "DOMAIN_RULE",
        "NO_FUTURE_DATE",
    ),
    "an AE reported to the sponsor two hours from now": Refusal(
        "AE_REPORTED",
        UPDATE_AE,
        lambda pid: ae_update_input(pid, reportedToSponsorAt=IN_TWO_HOURS),
        "DOMAIN_RULE",
        "NO_FUTURE_DATE",
    ),
    "a withdrawal dated in the future": Refusal(
        "INFUSED",
        WITHDRAW,
        lambda pid: withdrawal_input(pid, withdrawnOn=FUTURE),
        "DOMAIN_RULE",
        "NO_FUTURE_DATE",
    ),
}

BAD_INPUTS = {
    "a PGA of 3.5": Refusal(
        "INFUSED", SCORE, lambda pid: visit_input(pid, "M1", pgaScore=3.5), "BAD_INPUT", "PGA_RANGE"
    ),
    "a PGA of 0.25": Refusal(
        "INFUSED", SCORE, lambda pid: visit_input(pid, "M1", pgaScore=0.25), "BAD_INPUT", "PGA_STEP"
    ),
    "a PGA of 3.5 in a correction": Refusal(
        "M1_SCORED",
        CORRECT,
        lambda pid: correction_input(pid, "M1", "typo", pgaScore=3.5, sdiItems=["CATARACT"]),
        "BAD_INPUT",
        "PGA_RANGE",
    ),
    "an ICE score of 11": Refusal(
        "INFUSED",
        REPORT_AE,
        lambda pid: icans_input(pid, icans={**icans_input(pid)["icans"], "iceScore": 11}),
        "BAD_INPUT",
        "ICE_SCORE_RANGE",
    ),
    "a CTCAE grade of 6": Refusal(
        "INFUSED",
        REPORT_AE,
        lambda pid: ae_input(pid, ctcaeGrade=6),
        "BAD_INPUT",
        "CTCAE_GRADE_RANGE",
    ),
    "a negative white cell count at screening": Refusal(
        "CONSENTED",
        SCREEN,
        lambda pid: screening_input(pid, labs=labs(wbc=-1.0)),
        "BAD_INPUT",
        "LAB_VALUE",
    ),
    "a negative UPCR at a visit": Refusal(
        "INFUSED",
        SCORE,
        lambda pid: visit_input(pid, "M1", upcrGPerG=-0.2),
        "BAD_INPUT",
        "UPCR_VALUE",
    ),
    "a BILAG without its renal domain": Refusal(
        "INFUSED",
        SCORE,
        lambda pid: visit_input(pid, "M1", bilag=bilag()[:-2] + bilag()[-1:]),
        "BAD_INPUT",
        "BILAG_DOMAINS",
    ),
    "exclusion 15, which the registry does not have": Refusal(
        "CONSENTED",
        SCREEN,
        lambda pid: screening_input(pid, exclusions=[15]),
        "BAD_INPUT",
        "EXCLUSION_NUMBER",
    ),
    "SCREENING scored as a visit": Refusal(
        "INFUSED",
        SCORE,
        lambda pid: {**visit_input(pid, "M1"), "visit": "SCREENING"},
        "BAD_INPUT",
        "VISIT_KIND",
    ),
    "a participant id that is not a UUID": Refusal(
        None, SCORE, lambda _: visit_input("NJ01-007", "M1"), "BAD_INPUT", "PARTICIPANT_ID"
    ),
    # An unknown enum value sent in the variables fails their coercion: the API reports it as
    # BAD_INPUT (api/errors.py), naming the value and the enum.
    "an unknown visit M4": Refusal(
        "INFUSED", SCORE, lambda pid: {**visit_input(pid, "M1"), "visit": "M4"}, "BAD_INPUT", "'M4'"
    ),
    "a visit dated 2025-13-45": Refusal(
        "INFUSED",
        SCORE,
        lambda pid: visit_input(pid, "M1", visitDate="2025-13-45"),
        "BAD_INPUT",
        "2025-13-45",
    ),
    "a visit without its PGA": Refusal(
        "INFUSED", SCORE, lambda pid: visit_input(pid, "M1", pgaScore=None), "BAD_INPUT", "pgaScore"
    ),
    "an unknown serious criterion": Refusal(
        "INFUSED",
        REPORT_AE,
        lambda pid: ae_input(pid, serious=["HOSPITALIZATION"]),
        "BAD_INPUT",
        "'HOSPITALIZATION'",
    ),
}

NOT_FOUND = {
    "an update of an AE never reported": Refusal(
        "AE_REPORTED",
        UPDATE_AE,
        lambda pid: ae_update_input(pid, aeId="AE-999", ctcaeGrade=1),
        "NOT_FOUND",
        "AE_EXISTS",
    ),
    **{
        f"{MUTATION_FIELDS[document]} naming an unknown participant": Refusal(
            None, document, build, "NOT_FOUND", "PARTICIPANT_EXISTS"
        )
        for document, build in (
            (SCREEN, screening_input),
            (INFUSE, infusion_input),
            (SCORE, lambda pid: visit_input(pid, "M1")),
            (CORRECT, lambda pid: correction_input(pid, "M1", "typo")),
            (REPORT_AE, ae_input),
            (UPDATE_AE, lambda pid: ae_update_input(pid, ctcaeGrade=1)),
            (WITHDRAW, withdrawal_input),
        )
    },
}

FORBIDDEN = {
    "site staff of NJ02 scoring an NJ01 visit": Refusal(
        "INFUSED",
        SCORE,
        lambda pid: visit_input(pid, "M1"),
        "FORBIDDEN",
        "OWN_SITE",
        writer=(Role.SITE_STAFF, "NJ02"),
    ),
    "site staff of NJ01 consenting a subject at NJ02": Refusal(
        None,
        CONSENT,
        lambda _: consent_input("NJ02-003", "NJ02"),
        "FORBIDDEN",
        "OWN_SITE",
    ),
    "a monitor withdrawing a participant": Refusal(
        "INFUSED",
        WITHDRAW,
        withdrawal_input,
        "FORBIDDEN",
        "WRITE_ROLE",
        writer=(Role.MONITOR, "NJ01"),
    ),
}

REFUSALS = {**DOMAIN_RULES, **FUTURE_DATES, **BAD_INPUTS, **NOT_FOUND, **FORBIDDEN}


@pytest.fixture(scope="module")
def shared(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    with shared_service(database_url, tmp_path_factory.mktemp("invariants")) as service:
        yield service


def version_of(reader: RoleClient, pid: str) -> int | None:
    if pid == UNKNOWN:
        return None
    participant = reader.data(PARTICIPANT, {"id": pid})["participant"]
    return None if participant is None else int(participant["version"])


@pytest.mark.parametrize("case", REFUSALS.values(), ids=REFUSALS.keys())
def test_command_is_refused_with_its_code_and_records_nothing_when_it_breaks_a_rule(
    case: Refusal, shared: Shared
) -> None:
    staff = shared.client.as_role(Role.SITE_STAFF, "NJ01")
    subject = case.subject or shared.new_subject()
    pid = UNKNOWN if case.stage is None else enrol(staff, subject, until=case.stage)
    version = version_of(staff, pid)
    rows = shared.rows()

    body = shared.client.as_role(*case.writer).post(case.document, {"input": case.build(pid)})

    assert error_code(body) == case.code, body
    assert case.rule in body["errors"][0]["message"]
    assert body.get("data") is None
    assert not leaks_internals(body)
    assert shared.rows() == rows
    assert version_of(staff, pid) == version


def test_mutation_is_a_validation_error_without_code_when_the_document_has_an_unknown_enum_value(
    shared: Shared,
) -> None:
    staff = shared.client.as_role(Role.SITE_STAFF, "NJ01")
    pid = enrol(staff, shared.new_subject())
    rows = shared.rows()
    inline = (
        "mutation($id: ID!, $bilag: [BilagGradeInput!]!) { scoreVisit(input: {participantId: $id,"
        ' visit: M4, visitDate: "2025-07-20", sledai: [], bilag: $bilag, pgaScore: 0.2,'
        f" prednisoneMgPerDay: 5}}) {RESULT} }}"
    )

    body = staff.post(inline, {"id": pid, "bilag": bilag()})

    assert body.get("data") is None  # refused by validation, before execution
    [error] = body["errors"]
    assert "'M4' does not exist in 'Visit' enum" in error["message"]
    assert error_code(body) is None  # the contract: validation errors follow the specification
    assert not leaks_internals(body)
    assert shared.rows() == rows
    assert version_of(staff, pid) == 3


def test_participant_query_is_null_when_the_participant_is_unknown(shared: Shared) -> None:
    auditor = shared.client.as_role(Role.AUDITOR, None)

    body = auditor.post(PARTICIPANT, {"id": UNKNOWN})

    assert body == {"data": {"participant": None}}
