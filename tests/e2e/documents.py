"""GraphQL documents and memorable inputs shared by the end-to-end tests."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any, Protocol

import httpx
import psycopg
from psycopg import sql

from infra.bootstrap import bootstrap
from tests.conftest import settings_for
from tests.e2e.conftest import GraphQLClient, RoleClient, RunningServer

RESULT = "{ participantId version position recordedAt }"

CONSENT = f"mutation($input: ConsentInput!) {{ consent(input: $input) {RESULT} }}"
SCREEN = f"mutation($input: ScreeningInput!) {{ screen(input: $input) {RESULT} }}"
INFUSE = f"mutation($input: InfusionInput!) {{ recordInfusion(input: $input) {RESULT} }}"
SCORE = f"mutation($input: VisitScoreInput!) {{ scoreVisit(input: $input) {RESULT} }}"
CORRECT = f"mutation($input: CorrectionInput!) {{ correctVisit(input: $input) {RESULT} }}"
REPORT_AE = f"mutation($input: AdverseEventInput!) {{ reportAdverseEvent(input: $input) {RESULT} }}"
UPDATE_AE = f"mutation($input: AeUpdateInput!) {{ updateAdverseEvent(input: $input) {RESULT} }}"
WITHDRAW = f"mutation($input: WithdrawInput!) {{ withdraw(input: $input) {RESULT} }}"

PARTICIPANT_FIELDS = """
  id subjectId site status version sex ageAtConsent dateOfBirth initials infusedAt asOf
  eligibility { eligible sledai2k eularAcrScore creatinineClearance rulesVersion
    criteria { code met detail } dataQueries { code message } }
  visits { visit visitDate inWindow sledai2k selenaSledai clinicalSledai bilagScore pga sdi egfr
    sri4 doris remissionOffTherapy lldas crr prr orr perr corrected rulesVersion
    dataQueries { code message } }
  adverseEvents { aeId term category onsetOn ctcaeGrade serious seriousCriteria relatedness
    crsGrade icansGrade acuteGvhdGrade chronicGvhdSeverity resolvedOn awareAt
    reportedToSponsorAt reportingDueAt reportingOverdue daysFromInfusion
    dataQueries { code message } }
"""
PARTICIPANT = (
    "query($id: ID!, $asOf: DateTime, $atVersion: Int) {"
    f" participant(id: $id, asOf: $asOf, atVersion: $atVersion) {{ {PARTICIPANT_FIELDS} }} }}"
)
BY_SUBJECT = (
    "query($subjectId: String!, $asOf: DateTime) {"
    f" participantBySubject(subjectId: $subjectId, asOf: $asOf) {{ {PARTICIPANT_FIELDS} }} }}"
)
PARTICIPANTS = (
    "query($site: String, $status: ParticipantStatus) {"
    f" participants(site: $site, status: $status) {{ {PARTICIPANT_FIELDS} }} }}"
)

BILAG_DOMAINS = [
    "CONSTITUTIONAL",
    "MUCOCUTANEOUS",
    "NEUROPSYCHIATRIC",
    "MUSCULOSKELETAL",
    "CARDIORESPIRATORY",
    "GASTROINTESTINAL",
    "OPHTHALMIC",
    "RENAL",
    "HAEMATOLOGICAL",
]


def bilag(**grades: str) -> list[dict[str, str]]:
    """All nine BILAG domains graded D, except those named (e.g. RENAL="A")."""
    return [{"domain": d, "grade": grades.get(d, "D")} for d in BILAG_DOMAINS]


def consent_input(subject_id: str = "NJ01-007", site: str = "NJ01", **extra: Any) -> dict[str, Any]:
    return {
        "subjectId": subject_id,
        "site": site,
        "consentVersion": "v2.1",
        "signedOn": "2025-06-02",
        "dateOfBirth": "1988-04-17",
        "sex": "FEMALE",
        "initials": "LMW",
        **extra,
    }


ELIGIBLE_LABS: dict[str, Any] = {
    "wbc": 4.2, "anc": 2.1, "hemoglobin": 112, "platelets": 180,
    "alt": 22, "altUln": 40, "ast": 25, "astUln": 40, "bilirubin": 0.6, "bilirubinUln": 1.2,
    "creatinineMgDl": 0.8, "weightKg": 58, "inr": 1.0, "inrUln": 1.1, "pt": 12.0, "ptUln": 13.0,
    "lvef": 62, "hcgNegativeOn": "2025-06-08", "csfWithin2Weeks": False, "gilbertSyndrome": False,
}  # fmt: skip


def screening_input(participant_id: str, **extra: Any) -> dict[str, Any]:
    """An eligible screening on 2025-06-10: SLEDAI-2K 10, BILAG renal A, EULAR/ACR 12."""
    return {
        "participantId": participant_id,
        "screenedOn": "2025-06-10",
        "labs": ELIGIBLE_LABS,
        "sledai": ["PROTEINURIA", "ARTHRITIS", "RASH"],
        "bilag": bilag(RENAL="A", MUSCULOSKELETAL="B"),
        "eularAcrCriteria": ["ANA_POSITIVE", "JOINT_INVOLVEMENT", "ANTI_DSDNA_OR_ANTI_SM"],
        "refractory": True,
        "childbearingPotential": True,
        "lactating": False,
        "contraceptionAgreed": True,
        "exclusions": [],
        **extra,
    }


def infusion_input(participant_id: str, **extra: Any) -> dict[str, Any]:
    """Infused on 2025-06-20 (Asia/Shanghai), at 02:00 UTC."""
    return {
        "participantId": participant_id,
        "infusedAt": "2025-06-20T02:00:00Z",
        "doseCellsPerKg": 1.0e6,
        "lot": "CHT101-L0042",
        **extra,
    }


VISIT_DATES = {
    "BASELINE": "2025-06-19",
    "M1": "2025-07-20",
    "M2": "2025-08-19",
    "M3": "2025-09-18",
    "M6": "2025-12-17",
    "M9": "2026-03-17",
    "M12": "2026-06-15",
}


def visit_input(participant_id: str, visit: str, **extra: Any) -> dict[str, Any]:
    """A quiet visit: no SLEDAI descriptor, BILAG all D, PGA 0.2, prednisone 5 mg/day."""
    return {
        "participantId": participant_id,
        "visit": visit,
        "visitDate": VISIT_DATES[visit],
        "sledai": [],
        "bilag": bilag(),
        "pgaScore": 0.2,
        "prednisoneMgPerDay": 5.0,
        "antimalarialOnly": False,
        "haemolyticAnaemia": False,
        "giActivity": False,
        "investigationalDrug": False,
        "rescueTherapy": False,
        "lupusNephritis": True,
        "upcrGPerG": 0.3,
        "egfr": 95.0,
        "sdiItems": [],
        **extra,
    }


def baseline_input(participant_id: str, **extra: Any) -> dict[str, Any]:
    """An active BASELINE: SELENA-SLEDAI 10 (proteinuria, arthritis in 4 joints, rash), PGA 1.5."""
    return visit_input(
        participant_id,
        "BASELINE",
        sledai=["PROTEINURIA", "ARTHRITIS", "RASH"],
        arthritisJointCount=4,
        proteinuriaNewOrIncreased=True,
        bilag=bilag(RENAL="A", MUSCULOSKELETAL="B"),
        pgaScore=1.5,
        prednisoneMgPerDay=20.0,
        upcrGPerG=2.4,
        egfr=88.0,
        **extra,
    )


def ae_input(participant_id: str, ae_id: str = "AE-001", **extra: Any) -> dict[str, Any]:
    """Grade 2 CRS on day 1: fever 38.6 °C with hypotension, no vasopressor → ASTCT grade 2."""
    return {
        "participantId": participant_id,
        "aeId": ae_id,
        "term": "Cytokine release syndrome",
        "category": "CRS",
        "onsetOn": "2025-06-21",
        "awareAt": "2025-06-21T03:00:00Z",
        "ctcaeGrade": 2,
        "serious": [],
        "relatedness": "DEFINITE",
        "crs": {
            "temperatureC": 38.6, "feverModifiedByTreatment": False, "hypotension": True,
            "vasopressors": 0, "vasopressin": False, "oxygen": "NONE",
        },
        **extra,
    }  # fmt: skip


# ----- the issue-3 end-to-end suite: a writer's shortcuts, the whole story, the store's rows -----


class Writer(Protocol):
    """What the helpers below need of a client: RoleClient, for one."""

    def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]: ...


def withdrawal_input(participant_id: str, **extra: Any) -> dict[str, Any]:
    """Withdrawn on 2025-09-01, reason OTHER."""
    return {
        "participantId": participant_id,
        "withdrawnOn": "2025-09-01",
        "reason": "OTHER",
        **extra,
    }


def ae_update_input(participant_id: str, ae_id: str = "AE-001", **extra: Any) -> dict[str, Any]:
    """An update of ``ae_id`` after a follow-up call; ``extra`` says what changes."""
    return {"participantId": participant_id, "aeId": ae_id, "reason": "follow-up call", **extra}


Step = tuple[str, Callable[[str], dict[str, Any]]]
_SCREENED: tuple[Step, ...] = ((SCREEN, screening_input),)
_INFUSED: tuple[Step, ...] = (*_SCREENED, (INFUSE, infusion_input))
_M1_SCORED: tuple[Step, ...] = (
    *_INFUSED,
    (SCORE, lambda pid: visit_input(pid, "M1", sdiItems=["CATARACT"])),
)
# The steps after consent that bring a participant to each stage; M1 and M2 record a cataract.
STAGES: dict[str, tuple[Step, ...]] = {
    "CONSENTED": (),
    "SCREEN_FAILED": ((SCREEN, lambda pid: screening_input(pid, refractory=False)),),
    "ELIGIBLE": _SCREENED,
    "INFUSED": _INFUSED,
    "M1_SCORED": _M1_SCORED,
    "M2_SCORED": (
        *_M1_SCORED,
        (SCORE, lambda pid: visit_input(pid, "M2", sdiItems=["CATARACT"])),
    ),
    "AE_REPORTED": (*_INFUSED, (REPORT_AE, ae_input)),
    "WITHDRAWN": (
        *_INFUSED,
        (WITHDRAW, lambda pid: withdrawal_input(pid, withdrawnOn="2025-08-01")),
    ),
}


def enrol(
    writer: Writer, subject_id: str = "NJ01-007", site: str = "NJ01", *, until: str = "INFUSED"
) -> str:
    """Consent ``subject_id`` and record the steps that bring it to the stage ``until``."""
    result = writer.data(CONSENT, {"input": consent_input(subject_id, site)})
    pid: str = result["consent"]["participantId"]
    for document, build in STAGES[until]:
        writer.data(document, {"input": build(pid)})
    return pid


def icans_input(participant_id: str, ae_id: str = "AE-002", **extra: Any) -> dict[str, Any]:
    """ICANS on day 4: ICE score 5, awake, no seizure, weakness or oedema → ASTCT grade 2."""
    return {
        "participantId": participant_id,
        "aeId": ae_id,
        "term": "Immune effector cell-associated neurotoxicity syndrome",
        "category": "ICANS",
        "onsetOn": "2025-06-24",
        "awareAt": "2025-06-24T08:00:00Z",
        "ctcaeGrade": 2,
        "serious": [],
        "relatedness": "PROBABLE",
        "icans": {
            "iceScore": 5, "consciousness": "NORMAL", "seizure": "NONE", "motorWeakness": False,
            "edema": "NONE",
        },
        **extra,
    }  # fmt: skip


def correction_input(participant_id: str, visit: str, reason: str, **score: Any) -> dict[str, Any]:
    """A correction of ``visit``: the visit's quiet values, changed by ``score``."""
    return {
        "participantId": participant_id,
        "visit": visit,
        "reason": reason,
        "score": visit_input(participant_id, visit, **score),
    }


def lifecycle(pid: str) -> list[tuple[str, str, dict[str, Any]]]:
    """NJ01-007's story after consent, in recorded order: (step, mutation document, input).

    Versions after each step are 2 … 16 (consent is version 1). M2 is first scored with a PGA
    of 0.6 and corrected to 0.3; M6 records one damage item, M9 none assessed; AE-001 is a CRS
    SAE reported to the sponsor later; AE-002 (ICANS) is updated after the withdrawal.
    """
    return [
        ("screen", SCREEN, screening_input(pid)),
        ("infuse", INFUSE, infusion_input(pid)),
        ("BASELINE", SCORE, baseline_input(pid)),
        ("M1", SCORE, visit_input(pid, "M1")),
        ("M2", SCORE, visit_input(pid, "M2", pgaScore=0.6)),
        ("M3", SCORE, visit_input(pid, "M3")),
        ("M6", SCORE, visit_input(pid, "M6", sdiItems=["CATARACT"])),
        ("M9", SCORE, visit_input(pid, "M9", sdiItems=None)),
        ("M12", SCORE, visit_input(pid, "M12", sdiItems=["CATARACT"])),
        ("correct M2", CORRECT, correction_input(
            pid, "M2", "PGA transcribed as 0.6; the source record says 0.3", pgaScore=0.3)),
        ("report SAE", REPORT_AE, ae_input(pid, ctcaeGrade=3, serious=["HOSPITALISATION"])),
        ("report ICANS", REPORT_AE, icans_input(pid)),
        ("update SAE", UPDATE_AE, ae_update_input(
            pid, resolvedOn="2025-06-25", reportedToSponsorAt="2025-06-21T20:00:00Z",
            reason="resolved after tocilizumab; sponsor notified by phone")),
        ("withdraw", WITHDRAW, withdrawal_input(
            pid, withdrawnOn="2026-07-01", reason="CONSENT_WITHDRAWN")),
        ("update ICANS", UPDATE_AE, ae_update_input(
            pid, "AE-002", resolvedOn="2025-06-30",
            reason="ICANS resolved; found at the close-out visit")),
    ]  # fmt: skip


MUTATION_FIELDS = {
    CONSENT: "consent",
    SCREEN: "screen",
    INFUSE: "recordInfusion",
    SCORE: "scoreVisit",
    CORRECT: "correctVisit",
    REPORT_AE: "reportAdverseEvent",
    UPDATE_AE: "updateAdverseEvent",
    WITHDRAW: "withdraw",
}


def stored_rows(database_url: str, schema: str) -> tuple[int, int]:
    """(rows in the events table, rows in the event log) of ``schema``, read with psycopg."""
    with psycopg.connect(database_url) as conn:
        counts = [
            conn.execute(
                sql.SQL("SELECT count(*) FROM {}.{}").format(
                    sql.Identifier(schema), sql.Identifier(table)
                )
            ).fetchone()
            for table in ("trial_events", "trial_event_log")
        ]
    events, log = (int(row[0]) if row else 0 for row in counts)
    return events, log


def error_code(body: dict[str, Any]) -> str | None:
    """The first error's ``extensions.code`` (None when the response has no error)."""
    errors = body.get("errors") or [{}]
    code: str | None = (errors[0].get("extensions") or {}).get("code")
    return code


def leaks_internals(body: dict[str, Any]) -> bool:
    """Whether a response shows a stack trace or a source file to the client."""
    text = json.dumps(body)
    return "Traceback" in text or 'File \\"' in text or 'File "' in text


@contextmanager
def scratch_schema(database_url: str) -> Iterator[str]:
    """A schema for a whole module's tests, dropped afterwards (the ``schema`` fixture's twin)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    try:
        yield name
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


@dataclass
class KeptAliveClient(GraphQLClient):
    """The same client over one pool of kept-alive connections.

    ``httpx.post`` builds a new client, and with it an SSL context, for every request (~30 ms);
    a module that sends hundreds of requests keeps one instead.
    """

    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))

    def post(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        payload = {"query": query, "variables": variables or {}}
        response = self.http.post(self.url, json=payload, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@contextmanager
def serving(database_url: str, schema: str, data_dir: Path) -> Iterator[GraphQLClient]:
    """A service bootstrapped on ``schema`` and served over HTTP until the block ends."""
    service = bootstrap(settings_for(database_url, data_dir), schema=schema)
    service.start_projector()
    server = RunningServer(service)
    client = KeptAliveClient(server.url, service.jwt_secret)
    try:
        server.start()
        yield client
    finally:
        client.http.close()
        server.stop()
        service.close()


@dataclass(frozen=True)
class Story:
    """The lifecycle as recorded once: the id, and (step, CommandResult, participant) each."""

    pid: str
    taken: list[tuple[str, dict[str, Any], dict[str, Any]]]
    staff: RoleClient

    @property
    def seen(self) -> dict[str, dict[str, Any]]:
        return {step: participant for step, _, participant in self.taken}


def walk(staff: RoleClient) -> Story:
    """Record the whole lifecycle, reading the participant back after each step."""
    consented = staff.data(CONSENT, {"input": consent_input()})["consent"]
    pid = consented["participantId"]
    taken = [("consent", consented, staff.data(PARTICIPANT, {"id": pid})["participant"])]
    for step, document, value in lifecycle(pid):
        result = staff.data(document, {"input": value})[MUTATION_FIELDS[document]]
        taken.append((step, result, staff.data(PARTICIPANT, {"id": pid})["participant"]))
    return Story(pid, taken, staff)


@dataclass(frozen=True)
class Shared:
    """One service for a whole module; each test consents its own subjects, so they never meet."""

    client: GraphQLClient
    database_url: str
    schema: str
    subjects: Iterator[int]

    def new_subject(self, site: str = "NJ01") -> str:
        return f"{site}-{next(self.subjects):03d}"

    def rows(self) -> tuple[int, int]:
        """(events, event-log rows) of the module's schema: the tests run one at a time."""
        return stored_rows(self.database_url, self.schema)


@contextmanager
def shared_service(database_url: str, data_dir: Path) -> Iterator[Shared]:
    """A service on a schema of its own, served over HTTP, for a module-scoped fixture."""
    with scratch_schema(database_url) as schema, serving(database_url, schema, data_dir) as client:
        yield Shared(client, database_url, schema, count(100))


def projected(graphql_url: str, timeout: float = 10.0) -> None:
    """Wait until /health shows every read model at the head (lists read the read models)."""
    health = graphql_url.removesuffix("/graphql") + "/health"
    deadline = time.monotonic() + timeout
    while True:
        projections = httpx.get(health, timeout=5).json()["projections"]
        if all(p["lag"] == 0 for p in projections):
            return
        assert time.monotonic() < deadline, f"read models still behind: {projections}"
        time.sleep(0.01)
