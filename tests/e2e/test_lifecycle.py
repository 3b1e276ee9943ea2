"""NJ01-007 from consent to withdrawal over HTTP, read back after every step.

Expected values come from docs/clinical-rules.md, worked by hand for the memorable inputs of
``tests/e2e/documents.py``: infusion date 2025-06-20 (Asia/Shanghai), BASELINE SELENA-SLEDAI 10,
BILAG 20 (renal A, musculoskeletal B), PGA 1.5, UPCR 2.4 g/g, eGFR 88, lupus nephritis.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from domain.vocabulary import Role
from tests.e2e.documents import PARTICIPANTS, Story, projected, scratch_schema, serving, walk

OUTCOMES = ("sri4", "doris", "remissionOffTherapy", "lldas", "crr", "prr", "orr", "perr")
R, NR, NA = "RESPONDER", "NON_RESPONDER", "NOT_APPLICABLE"
# A quiet visit against the active BASELINE: SELENA-SLEDAI 10 → 0 and PGA 1.5 → 0.2 (SRI-4);
# clinical SLEDAI 0, PGA < 0.5, prednisone 5 (DORIS); prednisone 5 and antimalarialOnly false
# (no remission off therapy); UPCR 0.3 < 0.5 with eGFR 95 vs 88 (CRR, so not PRR; ORR; PERR).
QUIET = (R, R, NR, R, R, NR, R, R)
# M2 as first scored, PGA 0.6: still an SRI-4 responder and in LLDAS (≤ 1.0), not DORIS (< 0.5).
M2_PGA_0_6 = (R, NR, NR, R, R, NR, R, R)

STATUS_AFTER = {
    "consent": "CONSENTED",
    "screen": "ELIGIBLE",
    "infuse": "INFUSED",
    "BASELINE": "INFUSED",
    "M1": "INFUSED",
    "M2": "INFUSED",
    "M3": "INFUSED",
    "M6": "INFUSED",
    "M9": "INFUSED",
    "M12": "COMPLETED",
    "correct M2": "COMPLETED",
    "report SAE": "COMPLETED",
    "report ICANS": "COMPLETED",
    "update SAE": "COMPLETED",
    "withdraw": "WITHDRAWN",
    "update ICANS": "WITHDRAWN",
}
VISIT_ORDER = ("BASELINE", "M1", "M2", "M3", "M6", "M9", "M12")


def by_name(items: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {item[key]: item for item in items}


def pick(item: dict[str, Any], *names: str) -> tuple[Any, ...]:
    return tuple(item[name] for name in names)


def outcomes(visit: dict[str, Any]) -> tuple[str, ...]:
    return tuple(visit[name] for name in OUTCOMES)


@pytest.fixture(scope="module")
def story(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    """Recorded once for the module: every test below reads the same story a different way."""
    data_dir = tmp_path_factory.mktemp("lifecycle")
    with scratch_schema(database_url) as schema, serving(database_url, schema, data_dir) as client:
        yield walk(client.as_role(Role.SITE_STAFF, "NJ01", sub="nurse-li"))


def test_participant_advances_one_version_per_event_when_taken_through_the_lifecycle(
    story: Story,
) -> None:
    pid, taken = story.pid, story.taken

    positions = [result["position"] for _, result, _ in taken]
    recorded = [datetime.fromisoformat(result["recordedAt"]) for _, result, _ in taken]
    assert positions == sorted(set(positions))
    assert recorded == sorted(recorded)
    for version, (step, result, participant) in enumerate(taken, start=1):
        assert result["participantId"] == pid, step
        assert result["version"] == version, step
        assert participant["version"] == version, step
        assert participant["status"] == STATUS_AFTER[step], step
        assert participant["asOf"] is None, step


def test_visits_appear_in_visit_order_with_outcomes_when_each_is_scored(
    story: Story,
) -> None:
    seen = story.seen

    for index, visit in enumerate(VISIT_ORDER):
        visits = seen[visit]["visits"]
        assert [v["visit"] for v in visits] == list(VISIT_ORDER[: index + 1])
        assert [v["corrected"] for v in visits] == [False] * (index + 1)
    assert seen["infuse"]["visits"] == []
    assert outcomes(seen["BASELINE"]["visits"][0]) == (NA,) * 8
    assert outcomes(by_name(seen["M1"]["visits"], "visit")["M1"]) == QUIET
    assert outcomes(by_name(seen["M2"]["visits"], "visit")["M2"]) == M2_PGA_0_6


def test_correction_replaces_the_visit_and_flags_it_when_recorded_with_a_reason(
    story: Story,
) -> None:
    seen = story.seen

    before = by_name(seen["M12"]["visits"], "visit")["M2"]
    after = by_name(seen["correct M2"]["visits"], "visit")
    assert (before["pga"], before["doris"], before["corrected"]) == (0.6, NR, False)
    assert (after["M2"]["pga"], after["M2"]["corrected"]) == (0.3, True)
    assert outcomes(after["M2"]) == QUIET
    assert [visit for visit, v in after.items() if v["corrected"]] == ["M2"]


def test_final_view_shows_every_visit_score_when_the_lifecycle_is_complete(
    story: Story,
) -> None:
    final = story.seen["update ICANS"]

    visits = by_name(final["visits"], "visit")
    assert list(visits) == list(VISIT_ORDER)
    baseline = visits["BASELINE"]
    assert pick(baseline, "sledai2k", "selenaSledai", "clinicalSledai") == (10, 10, 10)
    assert pick(baseline, "bilagScore", "pga", "sdi", "egfr", "inWindow") == (20, 1.5, 0, 88, True)
    for name in VISIT_ORDER[1:]:
        visit = visits[name]
        assert pick(visit, "sledai2k", "selenaSledai", "bilagScore", "egfr") == (0, 0, 0, 95), name
        assert pick(visit, "inWindow", "rulesVersion", "dataQueries") == (True, "2026.1", []), name
        assert outcomes(visit) == QUIET, name
    assert [visits[v]["sdi"] for v in VISIT_ORDER] == [0, 0, 0, 0, 1, None, 1]
    assert [visits[v]["visitDate"] for v in ("M1", "M6", "M12")] == [
        "2025-07-20",
        "2025-12-17",
        "2026-06-15",
    ]


def test_screening_records_the_eligibility_decision_when_every_criterion_is_met(
    story: Story,
) -> None:
    consented, screened = story.seen["consent"], story.seen["screen"]

    eligibility = screened["eligibility"]
    assert consented["eligibility"] is None
    assert eligibility["eligible"] is True
    assert eligibility["sledai2k"] == 10  # proteinuria 4 + arthritis 4 + rash 2
    assert eligibility["eularAcrScore"] == 12  # joints 6 + anti-dsDNA 6; ANA is the entry
    # Cockcroft-Gault, female, 37 y, 58 kg, 0.8 mg/dL: (140 − 37) × 58 / (72 × 0.8) × 0.85
    assert eligibility["creatinineClearance"] == pytest.approx(88.16, abs=0.01)
    assert eligibility["rulesVersion"] == "2026.1"
    assert eligibility["dataQueries"] == []
    criteria = eligibility["criteria"]
    assert len(criteria) == 19 + 14
    assert all(c["met"] is True for c in criteria if c["code"].startswith("INC"))
    assert all(c["met"] is False for c in criteria if c["code"].startswith("EXC"))


def test_consent_shows_demographics_and_infusion_shows_its_time_when_recorded(
    story: Story,
) -> None:
    consented, infused = story.seen["consent"], story.seen["infuse"]

    assert pick(consented, "subjectId", "site", "sex") == ("NJ01-007", "NJ01", "FEMALE")
    assert consented["ageAtConsent"] == 37  # born 1988-04-17, signed 2025-06-02
    assert pick(consented, "dateOfBirth", "initials") == ("1988-04-17", "LMW")
    assert consented["infusedAt"] is None
    assert datetime.fromisoformat(infused["infusedAt"]) == datetime.fromisoformat(
        "2025-06-20T02:00:00+00:00"
    )


def test_adverse_events_show_derived_grades_and_reporting_clock_when_reported_and_updated(
    story: Story,
) -> None:
    seen = {step: by_name(p["adverseEvents"], "aeId") for step, p in story.seen.items()}

    reported, updated = seen["report SAE"]["AE-001"], seen["update SAE"]["AE-001"]
    assert seen["M12"] == {}
    # CRS: 38.6 °C with hypotension and no vasopressor, no oxygen → ASTCT grade 2.
    assert pick(reported, "ctcaeGrade", "crsGrade", "icansGrade") == (3, 2, None)
    assert pick(reported, "serious", "seriousCriteria") == (True, ["HOSPITALISATION"])
    assert reported["daysFromInfusion"] == 1  # onset 2025-06-21, infused 2025-06-20
    assert datetime.fromisoformat(reported["reportingDueAt"]) == datetime.fromisoformat(
        "2025-06-22T03:00:00+00:00"
    )  # awareAt + 24 h
    assert reported["reportingOverdue"] is True  # not reported, and now is long past due
    assert pick(reported, "resolvedOn", "reportedToSponsorAt") == (None, None)
    assert updated["reportingOverdue"] is False  # reported 7 h before the due time
    assert pick(updated, "resolvedOn", "ctcaeGrade", "crsGrade") == ("2025-06-25", 3, 2)
    icans = seen["report ICANS"]["AE-002"]
    # ICE score 5 (3–6) → grade 2; awake, no seizure, weakness or oedema add nothing worse.
    assert pick(icans, "icansGrade", "crsGrade", "serious") == (2, None, False)
    assert pick(icans, "reportingDueAt", "reportingOverdue", "daysFromInfusion") == (None, False, 4)


def test_adverse_event_update_is_recorded_when_the_participant_has_withdrawn(
    story: Story,
) -> None:
    (_, withdrawn, _), (step, result, participant) = story.taken[-2:]

    assert step == "update ICANS"
    assert result["version"] == withdrawn["version"] + 1
    assert participant["status"] == "WITHDRAWN"
    assert by_name(participant["adverseEvents"], "aeId")["AE-002"]["resolvedOn"] == "2025-06-30"
    # Every visit was scored before the withdrawal, so no outcome is imputed.
    assert [outcomes(v) for v in participant["visits"][1:]] == [QUIET] * 6


def test_participants_lists_the_withdrawn_participant_when_filtered_by_status(
    story: Story,
) -> None:
    pid, staff = story.pid, story.staff
    projected(staff.client.url)

    withdrawn = staff.data(PARTICIPANTS, {"status": "WITHDRAWN"})["participants"]
    infused = staff.data(PARTICIPANTS, {"status": "INFUSED"})["participants"]
    at_site = staff.data(PARTICIPANTS, {"site": "NJ01"})["participants"]

    assert [p["id"] for p in withdrawn] == [pid]
    assert infused == []
    assert [(p["id"], p["version"]) for p in at_site] == [(pid, 16)]
