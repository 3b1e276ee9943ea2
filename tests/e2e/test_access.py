"""Who may do what, over HTTP: the role × operation matrix, PII masking, and bad tokens.

The contract: SITE_STAFF and INVESTIGATOR write and read their own site only; MONITOR reads (its
own site when the token names one); SPONSOR and SAFETY_REVIEWER read without PII (dateOfBirth and
initials null); AUDITOR reads everything. Everyone else's write is FORBIDDEN and records nothing.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest

from api.auth import issue_token
from domain.vocabulary import Role
from tests.conftest import TEST_JWT_SECRET
from tests.e2e.conftest import RoleClient
from tests.e2e.documents import (
    BY_SUBJECT,
    CONSENT,
    CORRECT,
    INFUSE,
    MUTATION_FIELDS,
    PARTICIPANT,
    PARTICIPANTS,
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
    projected,
    screening_input,
    shared_service,
    visit_input,
    withdrawal_input,
)


@dataclass(frozen=True)
class Caller:
    role: Role
    site: str | None

    @property
    def writes_nj01(self) -> bool:
        return self.role in (Role.SITE_STAFF, Role.INVESTIGATOR) and self.site == "NJ01"

    @property
    def reads_nj01(self) -> bool:
        return self.site in ("NJ01", None) or self.role not in SITE_BOUND

    @property
    def sees_pii(self) -> bool:
        return self.role not in (Role.SPONSOR, Role.SAFETY_REVIEWER)


SITE_BOUND = (Role.SITE_STAFF, Role.INVESTIGATOR, Role.MONITOR)
CALLERS = {
    "SITE_STAFF NJ01": Caller(Role.SITE_STAFF, "NJ01"),
    "SITE_STAFF NJ02": Caller(Role.SITE_STAFF, "NJ02"),
    "INVESTIGATOR NJ01": Caller(Role.INVESTIGATOR, "NJ01"),
    "INVESTIGATOR NJ02": Caller(Role.INVESTIGATOR, "NJ02"),
    "MONITOR NJ01": Caller(Role.MONITOR, "NJ01"),
    "MONITOR NJ02": Caller(Role.MONITOR, "NJ02"),
    "MONITOR without a site": Caller(Role.MONITOR, None),
    "SPONSOR": Caller(Role.SPONSOR, None),
    "SAFETY_REVIEWER": Caller(Role.SAFETY_REVIEWER, None),
    "AUDITOR": Caller(Role.AUDITOR, None),
}

Build = Callable[[str], dict[str, Any]]
# Each write: the stage the NJ01 participant is brought to first (None: a new subject), the
# document, and its input.
WRITES: dict[str, tuple[str | None, str, Build]] = {
    "consent": (None, CONSENT, consent_input),
    "screen": ("CONSENTED", SCREEN, screening_input),
    "recordInfusion": ("ELIGIBLE", INFUSE, infusion_input),
    "scoreVisit": ("INFUSED", SCORE, lambda p: visit_input(p, "M1")),
    "correctVisit": (
        "M1_SCORED",
        CORRECT,
        lambda p: correction_input(p, "M1", "PGA misread", pgaScore=0.3, sdiItems=["CATARACT"]),
    ),
    "reportAdverseEvent": ("INFUSED", REPORT_AE, lambda p: ae_input(p, "AE-002")),
    "updateAdverseEvent": ("AE_REPORTED", UPDATE_AE, lambda p: ae_update_input(p, ctcaeGrade=1)),
    "withdraw": ("INFUSED", WITHDRAW, withdrawal_input),
}


@dataclass(frozen=True)
class Cohort:
    """For the read checks: NJ01-007 (infused, one AE) and NJ02-003 (infused)."""

    shared: Shared
    nj01: str
    nj02: str

    def as_caller(self, caller: Caller) -> RoleClient:
        return self.shared.client.as_role(caller.role, caller.site, sub="user-under-test")


@pytest.fixture(scope="module")
def cohort(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cohort]:
    with shared_service(database_url, tmp_path_factory.mktemp("access")) as shared:
        client = shared.client
        nj01 = enrol(client.as_role(Role.SITE_STAFF, "NJ01"), "NJ01-007", until="AE_REPORTED")
        nj02 = enrol(client.as_role(Role.SITE_STAFF, "NJ02"), "NJ02-003", "NJ02")
        yield Cohort(shared, nj01, nj02)


def version_of(cohort: Cohort, pid: str) -> int | None:
    auditor = cohort.shared.client.as_role(Role.AUDITOR, None)
    participant = auditor.data(PARTICIPANT, {"id": pid})["participant"]
    return None if participant is None else int(participant["version"])


@pytest.mark.parametrize("operation", WRITES)
@pytest.mark.parametrize("caller", CALLERS.values(), ids=CALLERS.keys())
def test_write_is_recorded_only_when_the_caller_writes_at_the_participants_site(
    caller: Caller, operation: str, cohort: Cohort
) -> None:
    stage, document, build = WRITES[operation]
    subject = cohort.shared.new_subject()
    staff = cohort.shared.client.as_role(Role.SITE_STAFF, "NJ01")
    pid = None if stage is None else enrol(staff, subject, until=stage)
    value = build(subject if pid is None else pid)  # consent takes the subject id
    rows = cohort.shared.rows()
    version = None if pid is None else version_of(cohort, pid)

    body = cohort.as_caller(caller).post(document, {"input": value})

    if caller.writes_nj01:
        result = body["data"][MUTATION_FIELDS[document]]
        assert "errors" not in body
        assert result["version"] == (version or 0) + 1
        assert cohort.shared.rows() == (rows[0] + 1, rows[1] + 1)
    else:
        assert error_code(body) == "FORBIDDEN"
        assert body["data"] is None
        assert not leaks_internals(body)
        assert cohort.shared.rows() == rows
        if pid is not None:
            assert version_of(cohort, pid) == version


READS: dict[str, Callable[[Cohort], tuple[str, dict[str, Any], str]]] = {
    "participant": lambda c: (PARTICIPANT, {"id": c.nj01}, "participant"),
    "participant asOf now": lambda c: (
        PARTICIPANT,
        {"id": c.nj01, "asOf": datetime.now(UTC).isoformat()},
        "participant",
    ),
    "participantBySubject": lambda c: (
        BY_SUBJECT,
        {"subjectId": "NJ01-007"},
        "participantBySubject",
    ),
}


@pytest.mark.parametrize("operation", READS)
@pytest.mark.parametrize("caller", CALLERS.values(), ids=CALLERS.keys())
def test_participant_is_shown_with_pii_by_role_or_forbidden_when_read_from_another_site(
    caller: Caller, operation: str, cohort: Cohort
) -> None:
    document, variables, field_name = READS[operation](cohort)

    body = cohort.as_caller(caller).post(document, variables)

    if caller.reads_nj01:
        participant = body["data"][field_name]
        assert "errors" not in body
        assert (participant["id"], participant["subjectId"]) == (cohort.nj01, "NJ01-007")
        pii = (participant["dateOfBirth"], participant["initials"])
        assert pii == (("1988-04-17", "LMW") if caller.sees_pii else (None, None))
    else:
        assert error_code(body) == "FORBIDDEN"
        assert body["data"] == {field_name: None}  # a nullable field: null, with the error
        assert not leaks_internals(body)


@pytest.mark.parametrize("caller", CALLERS.values(), ids=CALLERS.keys())
def test_participants_lists_the_callers_sites_with_pii_by_role_when_not_filtered(
    caller: Caller, cohort: Cohort
) -> None:
    projected(cohort.shared.client.url)

    body = cohort.as_caller(caller).post(PARTICIPANTS)

    listed = body["data"]["participants"]
    assert "errors" not in body
    sites = {p["site"] for p in listed}
    assert sites <= (
        {caller.site} if caller.site and caller.role in SITE_BOUND else {"NJ01", "NJ02"}
    )
    assert (cohort.nj01 in [p["id"] for p in listed]) is caller.reads_nj01
    assert (cohort.nj02 in [p["id"] for p in listed]) is (caller.site in ("NJ02", None))
    for participant in listed:
        present = participant["dateOfBirth"] is not None and participant["initials"] is not None
        absent = participant["dateOfBirth"] is None and participant["initials"] is None
        assert present if caller.sees_pii else absent


@pytest.mark.parametrize("caller", CALLERS.values(), ids=CALLERS.keys())
def test_participants_of_nj01_are_forbidden_when_the_caller_is_bound_to_another_site(
    caller: Caller, cohort: Cohort
) -> None:
    projected(cohort.shared.client.url)

    body = cohort.as_caller(caller).post(PARTICIPANTS, {"site": "NJ01"})

    if caller.reads_nj01:
        assert "errors" not in body
        assert {p["site"] for p in body["data"]["participants"]} == {"NJ01"}
    else:
        assert error_code(body) == "FORBIDDEN"
        assert body["data"] is None


# ----- tokens that do not authenticate -----


def b64(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def claims(**changes: Any) -> dict[str, Any]:
    now = int(datetime.now(UTC).timestamp())
    return {"sub": "nurse-li", "role": "SITE_STAFF", "site": "NJ01", "exp": now + 3600, **changes}


def unsigned(payload: dict[str, Any]) -> str:
    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(payload)}."


TWO_HOURS_AGO = datetime.now(UTC) - timedelta(hours=2)
BAD_TOKENS: dict[str, Callable[[str], str]] = {
    "expired": lambda secret: issue_token(
        secret, Role.SITE_STAFF, subject="nurse-li", site="NJ01", lifetime=timedelta(hours=1),
        now=TWO_HOURS_AGO,
    ),
    "signed with another secret": lambda _: issue_token(
        "another-secret-that-is-long-enough-for-hs256-0123456789", Role.SITE_STAFF,
        subject="nurse-li", site="NJ01",
    ),
    'with "alg": "none"': lambda _: unsigned(claims()),
    "with its signature removed": lambda secret: jwt.encode(claims(), secret).rsplit(".", 1)[0]
    + ".",
    "of SITE_STAFF without a site": lambda secret: issue_token(
        secret, Role.SITE_STAFF, subject="nurse-li"
    ),
    "of INVESTIGATOR without a site": lambda secret: issue_token(
        secret, Role.INVESTIGATOR, subject="dr-wang"
    ),
    "with an unknown role": lambda secret: jwt.encode(claims(role="ADMIN"), secret),
    "without an expiry": lambda secret: jwt.encode(
        {k: v for k, v in claims().items() if k != "exp"}, secret
    ),
    "without a subject": lambda secret: jwt.encode(
        {k: v for k, v in claims().items() if k != "sub"}, secret
    ),
    "that is not a JWT": lambda _: "not-a-jwt",
}  # fmt: skip


@pytest.mark.parametrize("make", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
def test_request_is_unauthenticated_and_records_nothing_when_the_token(
    make: Callable[[str], str], cohort: Cohort
) -> None:
    client = cohort.shared.client
    token = make(TEST_JWT_SECRET)
    rows = cohort.shared.rows()

    read = client.post(PARTICIPANT, {"id": cohort.nj01}, token=token)
    write = client.post(SCORE, {"input": visit_input(cohort.nj01, "M2")}, token=token)

    assert read["data"] == {"participant": None}
    assert write["data"] is None
    for body in (read, write):
        assert error_code(body) == "UNAUTHENTICATED"
        assert not leaks_internals(body)
    assert cohort.shared.rows() == rows


def test_request_is_unauthenticated_when_it_carries_no_token(cohort: Cohort) -> None:
    client = cohort.shared.client
    rows = cohort.shared.rows()

    read = client.post(PARTICIPANTS)
    write = client.post(CONSENT, {"input": consent_input(cohort.shared.new_subject())})

    assert [error_code(read), error_code(write)] == ["UNAUTHENTICATED"] * 2
    assert cohort.shared.rows() == rows


def test_request_is_unauthenticated_when_the_header_is_not_a_bearer_token(cohort: Cohort) -> None:
    token = cohort.shared.client.token(Role.AUDITOR, None)

    response = httpx.post(
        cohort.shared.client.url,
        json={"query": PARTICIPANTS},
        headers={"Authorization": f"Token {token}"},
    )

    assert error_code(response.json()) == "UNAUTHENTICATED"
