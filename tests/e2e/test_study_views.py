"""studySummary and safetyLedger over HTTP: mutation → projection → query, for every outcome.

The cohort (clinical-rules.md §4 decides each M1 outcome):
- NJ01-001 responds at M1: active BASELINE (SELENA-SLEDAI 10, PGA 1.5, 20 mg/day, UPCR 2.4), a
  quiet M1 (no descriptor, BILAG all D, PGA 0.2, 5 mg/day, UPCR 0.3, eGFR 95). SRI-4, DORIS,
  LLDAS, CRR, ORR and PERR respond; PRR does not (it excludes CRR); remission off therapy does
  not (prednisone 5, not antimalarial only). Grade 2 CRS on day 1.
- NJ01-002 does not respond: its M1 repeats the BASELINE's activity, so every endpoint is
  NON_RESPONDER. A CRS SAE on day 2 (one vasopressor: ASTCT grade 3), never reported to the
  sponsor, so overdue; ICANS grade 2 on day 4.
- NJ01-003 withdrew for DEATH on 2025-07-01, before M1's target day, M1 not scored: every
  endpoint NON_RESPONDER at every visit (non-responder imputation). Acute GVHD (skin stage 3:
  MAGIC grade II) on day 5, life-threatening, reported 12 h after awareness, so not overdue.
- NJ01-004 is infused, nothing scored: NOT_EVALUABLE, excluded.
- NJ01-005 failed screening (not refractory, exclusion 3); NJ01-006 failed (exclusion 5) and
  passed on re-screening: only the latest screening counts.
- NJ02-001 (site NJ02) is infused with grade 1 fatigue on day 3.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from domain.vocabulary import Role
from infra.bootstrap import bootstrap
from tests.conftest import settings_for
from tests.e2e.conftest import GraphQLClient, RoleClient, RunningServer
from tests.e2e.documents import (
    CONSENT,
    CORRECT,
    MUTATION_FIELDS,
    REPORT_AE,
    SCORE,
    SCREEN,
    UPDATE_AE,
    WITHDRAW,
    ae_input,
    ae_update_input,
    baseline_input,
    bilag,
    consent_input,
    correction_input,
    enrol,
    icans_input,
    scratch_schema,
    screening_input,
    visit_input,
    withdrawal_input,
)

pytestmark = pytest.mark.e2e

SUMMARY = """
query($asOf: DateTime, $minPosition: Int) {
  studySummary(asOf: $asOf, minPosition: $minPosition) {
    asOf consented screenFailed eligible infused withdrawn
    screenFailuresByCriterion { code count }
    endpoints { endpoint visit responders evaluable rate }
  }
}"""
LEDGER = """
query($asOf: DateTime, $seriousOnly: Boolean, $minPosition: Int) {
  safetyLedger(asOf: $asOf, seriousOnly: $seriousOnly, minPosition: $minPosition) {
    asOf
    entries { participantId subjectId site event {
      aeId term category onsetOn ctcaeGrade serious seriousCriteria relatedness
      crsGrade icansGrade acuteGvhdGrade chronicGvhdSeverity resolvedOn awareAt
      reportedToSponsorAt reportingDueAt reportingOverdue daysFromInfusion } }
    totals { participantsInfused participantsWithAe participantsWithSae crsAnyGrade
      crsGrade3Plus icansAnyGrade icansGrade3Plus acuteGvhdAnyGrade deaths overdueSaeReports }
  }
}"""

ENDPOINTS = ("SRI4", "DORIS", "REMISSION_OFF_THERAPY", "LLDAS", "CRR", "PRR", "ORR", "PERR")
LATER_VISITS = ("M2", "M3", "M6", "M9", "M12")
# M1 responders out of the three evaluable (NJ01-001, NJ01-002, NJ01-003).
M1_RESPONDERS = {
    "SRI4": 1, "DORIS": 1, "REMISSION_OFF_THERAPY": 0, "LLDAS": 1,
    "CRR": 1, "PRR": 0, "ORR": 1, "PERR": 1,
}  # fmt: skip
ACTIVE_M1 = {
    "sledai": ["PROTEINURIA", "ARTHRITIS", "RASH"],
    "arthritisJointCount": 4,
    "proteinuriaNewOrIncreased": True,
    "bilag": bilag(RENAL="A", MUSCULOSKELETAL="B"),
    "pgaScore": 1.5,
    "prednisoneMgPerDay": 20.0,
    "upcrGPerG": 2.4,
    "egfr": 88.0,
}
GRADE_3_CRS = {
    "temperatureC": 39.2, "feverModifiedByTreatment": False, "hypotension": True,
    "vasopressors": 1, "vasopressin": False, "oxygen": "NONE",
}  # fmt: skip


@dataclass
class Cohort:
    ids: dict[str, str]
    last: dict[str, Any]  # the last mutation's CommandResult
    nj01: RoleClient
    nj02: RoleClient

    def send(self, writer: RoleClient, document: str, value: dict[str, Any]) -> dict[str, Any]:
        self.last = writer.data(document, {"input": value})[MUTATION_FIELDS[document]]
        return self.last


def record_cohort(client: GraphQLClient) -> Cohort:
    nj01 = client.as_role(Role.SITE_STAFF, "NJ01", sub="nurse-li")
    nj02 = client.as_role(Role.SITE_STAFF, "NJ02", sub="nurse-wang")
    ids = {s: enrol(nj01, s) for s in ("NJ01-001", "NJ01-002", "NJ01-003", "NJ01-004")}
    ids["NJ02-001"] = enrol(nj02, "NJ02-001", "NJ02")
    cohort = Cohort(ids, {}, nj01, nj02)
    for subject in ("NJ01-005", "NJ01-006"):
        result = cohort.send(nj01, CONSENT, consent_input(subject))
        ids[subject] = result["participantId"]
    cohort.send(nj01, SCREEN, screening_input(ids["NJ01-005"], refractory=False, exclusions=[3]))
    cohort.send(nj01, SCREEN, screening_input(ids["NJ01-006"], exclusions=[5]))
    cohort.send(nj01, SCREEN, screening_input(ids["NJ01-006"]))

    responder, non_responder, died = ids["NJ01-001"], ids["NJ01-002"], ids["NJ01-003"]
    for pid in (responder, non_responder, died):
        cohort.send(nj01, SCORE, baseline_input(pid))
    cohort.send(nj01, SCORE, visit_input(responder, "M1"))
    cohort.send(nj01, SCORE, visit_input(non_responder, "M1", **ACTIVE_M1))
    cohort.send(nj01, REPORT_AE, ae_input(responder))
    cohort.send(nj01, REPORT_AE, ae_input(
        non_responder, onsetOn="2025-06-22", awareAt="2025-06-22T03:00:00Z", ctcaeGrade=3,
        serious=["HOSPITALISATION"], crs=GRADE_3_CRS))  # fmt: skip
    cohort.send(nj01, REPORT_AE, icans_input(non_responder))
    cohort.send(nj01, REPORT_AE, {
        "participantId": died, "aeId": "AE-001", "term": "Acute graft-versus-host disease",
        "category": "ACUTE_GVHD", "onsetOn": "2025-06-25", "awareAt": "2025-06-25T08:00:00Z",
        "ctcaeGrade": 4, "serious": ["LIFE_THREATENING"], "relatedness": "PROBABLE",
        "acuteGvhd": {"skinStage": 3, "liverStage": 0, "upperGiStage": 0, "lowerGiStage": 0},
    })  # fmt: skip
    cohort.send(
        nj01,
        UPDATE_AE,
        ae_update_input(
            died, reportedToSponsorAt="2025-06-25T20:00:00Z", reason="sponsor notified by phone"
        ),
    )
    cohort.send(nj01, WITHDRAW, withdrawal_input(died, withdrawnOn="2025-07-01", reason="DEATH"))
    cohort.send(nj02, REPORT_AE, {
        "participantId": ids["NJ02-001"], "aeId": "AE-001", "term": "Fatigue",
        "category": "OTHER", "onsetOn": "2025-06-23", "awareAt": "2025-06-23T09:00:00Z",
        "ctcaeGrade": 1, "serious": [], "relatedness": "POSSIBLE",
    })  # fmt: skip
    return cohort


@dataclass
class Study:
    client: GraphQLClient
    cohort: Cohort

    def reader(self, role: Role, site: str | None = None) -> RoleClient:
        return self.client.as_role(role, site, sub=f"{role.value.lower()}-1")

    def summary(self, role: Role = Role.SPONSOR, site: str | None = None) -> dict[str, Any]:
        variables = {"minPosition": self.cohort.last["position"]}
        summary: dict[str, Any] = self.reader(role, site).data(SUMMARY, variables)["studySummary"]
        return summary

    def ledger(
        self, role: Role = Role.SPONSOR, site: str | None = None, serious_only: bool = False
    ) -> dict[str, Any]:
        variables = {"minPosition": self.cohort.last["position"], "seriousOnly": serious_only}
        ledger: dict[str, Any] = self.reader(role, site).data(LEDGER, variables)["safetyLedger"]
        return ledger


@pytest.fixture(scope="module")
def study(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Study]:
    """One projected service and cohort for the read-only tests of this module."""
    data_dir: Path = tmp_path_factory.mktemp("study-views")
    with scratch_schema(database_url) as schema:
        service = bootstrap(settings_for(database_url, data_dir), schema=schema)
        service.start_projector()
        server = RunningServer(service)
        client = GraphQLClient(server.url, service.jwt_secret)
        try:
            server.start()
            yield Study(client, record_cohort(client))
        finally:
            client.http.close()
            server.stop()
            service.close()


def rates(summary: dict[str, Any], visit: str) -> dict[str, tuple[int, int, float | None]]:
    return {
        row["endpoint"]: (row["responders"], row["evaluable"], row["rate"])
        for row in summary["endpoints"]
        if row["visit"] == visit
    }


def entries(ledger: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["subjectId"], e["event"]["aeId"]) for e in ledger["entries"]]


def instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


# ----- studySummary -----


def test_study_summary_m1_rates_count_responders_of_the_three_evaluable_when_one_responds(
    study: Study,
) -> None:
    summary = study.summary()

    assert rates(summary, "M1") == {
        endpoint: (responders, 3, responders / 3) for endpoint, responders in M1_RESPONDERS.items()
    }


def test_study_summary_later_visits_count_only_the_withdrawn_when_nothing_else_is_scored(
    study: Study,
) -> None:
    summary = study.summary()

    for visit in LATER_VISITS:
        assert rates(summary, visit) == {endpoint: (0, 1, 0.0) for endpoint in ENDPOINTS}
    assert [(row["endpoint"], row["visit"]) for row in summary["endpoints"]] == [
        (endpoint, visit) for endpoint in ENDPOINTS for visit in ("M1", *LATER_VISITS)
    ]


def test_study_summary_counts_each_stage_reached_when_the_cohort_is_recorded(
    study: Study,
) -> None:
    summary = study.summary()

    counts = {k: summary[k] for k in ("consented", "screenFailed", "eligible", "infused")}
    assert counts == {"consented": 7, "screenFailed": 1, "eligible": 6, "infused": 5}
    assert summary["withdrawn"] == 1
    assert summary["asOf"] is None


def test_screen_failures_by_criterion_count_only_latest_screenings_when_one_was_rescreened(
    study: Study,
) -> None:
    summary = study.summary()

    assert summary["screenFailuresByCriterion"] == [
        {"code": "INC4_REFRACTORY", "count": 1},
        {"code": "EXC3", "count": 1},
    ]


def test_study_summary_counts_only_own_site_when_read_by_nj02_site_staff(study: Study) -> None:
    summary = study.summary(Role.SITE_STAFF, "NJ02")

    assert (summary["consented"], summary["eligible"], summary["infused"]) == (1, 1, 1)
    assert (summary["screenFailed"], summary["withdrawn"]) == (0, 0)
    assert summary["screenFailuresByCriterion"] == []
    assert rates(summary, "M1") == {endpoint: (0, 0, None) for endpoint in ENDPOINTS}


# ----- safetyLedger -----


def test_safety_ledger_lists_every_ae_with_derived_grades_when_read_by_the_sponsor(
    study: Study,
) -> None:
    ledger = study.ledger()

    assert entries(ledger) == [
        ("NJ01-001", "AE-001"),
        ("NJ01-002", "AE-001"),
        ("NJ01-002", "AE-002"),
        ("NJ01-003", "AE-001"),
        ("NJ02-001", "AE-001"),
    ]
    grades = [
        (e["event"]["crsGrade"], e["event"]["icansGrade"], e["event"]["acuteGvhdGrade"])
        for e in ledger["entries"]
    ]
    assert grades == [(2, None, None), (3, None, None), (None, 2, None), (None, None, 2),
                      (None, None, None)]  # fmt: skip
    assert [e["event"]["daysFromInfusion"] for e in ledger["entries"]] == [1, 2, 4, 5, 3]
    assert [e["site"] for e in ledger["entries"]] == ["NJ01"] * 4 + ["NJ02"]


def test_safety_ledger_flags_the_unreported_sae_overdue_when_its_24_hours_have_passed(
    study: Study,
) -> None:
    ledger = study.ledger()

    clocks = {
        (e["subjectId"], e["event"]["aeId"]): (
            instant(e["event"]["reportingDueAt"]),
            e["event"]["reportingOverdue"],
        )
        for e in ledger["entries"]
    }
    assert clocks[("NJ01-002", "AE-001")] == (datetime(2025, 6, 23, 3, tzinfo=UTC), True)
    assert clocks[("NJ01-003", "AE-001")] == (datetime(2025, 6, 26, 8, tzinfo=UTC), False)
    assert clocks[("NJ01-001", "AE-001")] == (None, False)
    assert ledger["totals"]["overdueSaeReports"] == 1


def test_safety_ledger_totals_count_participants_when_read_by_the_sponsor(study: Study) -> None:
    totals = study.ledger()["totals"]

    assert totals == {
        "participantsInfused": 5,
        "participantsWithAe": 4,
        "participantsWithSae": 2,
        "crsAnyGrade": 2,
        "crsGrade3Plus": 1,
        "icansAnyGrade": 1,
        "icansGrade3Plus": 0,
        "acuteGvhdAnyGrade": 1,
        "deaths": 1,  # NJ01-003, withdrawn for DEATH
        "overdueSaeReports": 1,
    }


def test_safety_ledger_lists_only_saes_when_serious_only(study: Study) -> None:
    full = study.ledger()

    serious = study.ledger(serious_only=True)

    assert entries(serious) == [("NJ01-002", "AE-001"), ("NJ01-003", "AE-001")]
    assert all(e["event"]["serious"] for e in serious["entries"])
    assert serious["totals"] == full["totals"]


def test_safety_ledger_shows_none_of_nj01_when_read_by_nj02_site_staff(study: Study) -> None:
    ledger = study.ledger(Role.SITE_STAFF, "NJ02")

    assert entries(ledger) == [("NJ02-001", "AE-001")]
    assert ledger["totals"] == {
        "participantsInfused": 1, "participantsWithAe": 1, "participantsWithSae": 0,
        "crsAnyGrade": 0, "crsGrade3Plus": 0, "icansAnyGrade": 0, "icansGrade3Plus": 0,
        "acuteGvhdAnyGrade": 0, "deaths": 0, "overdueSaeReports": 0,
    }  # fmt: skip


def test_safety_ledger_shows_none_of_nj02_when_read_by_nj01_site_staff(study: Study) -> None:
    ledger = study.ledger(Role.SITE_STAFF, "NJ01")

    assert {e["site"] for e in ledger["entries"]} == {"NJ01"}
    assert ledger["totals"]["participantsInfused"] == 4
    assert ledger["totals"]["participantsWithAe"] == 3


# ----- changes after the fact: a correction, and the views as of an earlier instant -----


def test_sri4_m1_responders_rise_when_a_correction_makes_the_non_responder_respond(
    client: GraphQLClient,
) -> None:
    study = Study(client, record_cohort(client))
    before = rates(study.summary(), "M1")["SRI4"]
    cohort = study.cohort

    cohort.send(cohort.nj01, CORRECT, correction_input(
        cohort.ids["NJ01-002"], "M1", "activity was copied from the baseline form"))  # fmt: skip

    assert before == (1, 3, 1 / 3)
    assert rates(study.summary(), "M1")["SRI4"] == (2, 3, 2 / 3)


def test_sri4_m1_responders_fall_when_a_correction_makes_the_responder_not_respond(
    client: GraphQLClient,
) -> None:
    study = Study(client, record_cohort(client))
    cohort = study.cohort

    cohort.send(cohort.nj01, CORRECT, correction_input(
        cohort.ids["NJ01-001"], "M1", "activity missed at data entry", **ACTIVE_M1))  # fmt: skip

    assert rates(study.summary(), "M1")["SRI4"] == (0, 3, 0.0)
    assert rates(study.summary(), "M1")["CRR"] == (0, 3, 0.0)


def without_as_of(view: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in view.items() if name != "asOf"}


def test_summary_and_ledger_as_of_show_the_earlier_state_when_later_events_exist(
    client: GraphQLClient,
) -> None:
    study = Study(client, record_cohort(client))
    cohort = study.cohort
    then = cohort.last["recordedAt"]
    summary_then, ledger_then = study.summary(), study.ledger()
    cohort.send(cohort.nj01, REPORT_AE, ae_input(
        cohort.ids["NJ01-004"], ctcaeGrade=5, serious=["DEATH"], crs=GRADE_3_CRS))  # fmt: skip
    cohort.send(cohort.nj01, WITHDRAW, withdrawal_input(cohort.ids["NJ01-004"], reason="DEATH"))
    cohort.send(cohort.nj01, CORRECT, correction_input(
        cohort.ids["NJ01-002"], "M1", "activity was copied from the baseline form"))  # fmt: skip
    sponsor = study.reader(Role.SPONSOR)

    summary = sponsor.data(SUMMARY, {"asOf": then})["studySummary"]
    ledger = sponsor.data(LEDGER, {"asOf": then})["safetyLedger"]

    assert without_as_of(summary) == without_as_of(summary_then)
    assert without_as_of(ledger) == without_as_of(ledger_then)
    assert instant(summary["asOf"]) == instant(ledger["asOf"]) == instant(then)
    now = study.summary(), study.ledger()
    assert (now[0]["withdrawn"], now[1]["totals"]["deaths"]) == (2, 2)
    assert rates(now[0], "M1")["SRI4"] == (2, 3, 2 / 3)
