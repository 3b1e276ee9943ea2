"""The derived participant view: visit scores and outcomes, AE grades and the SAE clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from domain.inputs import VisitScore
from domain.participant import Participant
from domain.rules.toxicity import CrsSigns, GvhdStages, IcansSigns
from domain.views import (
    AdverseEventView,
    VisitView,
    participant_view,
    visit_outcomes,
)
from domain.vocabulary import (
    AeCategory,
    Consciousness,
    Edema,
    Outcome,
    Oxygen,
    SeizureStatus,
    SeriousCriterion,
    Sex,
    Visit,
)
from domain.vocabulary import SledaiDescriptor as D
from tests.unit.builders import (
    GRADE_2_CRS,
    INFUSION_DAY,
    NOW,
    TODAY,
    ae_report,
    ae_update,
    baseline,
    bilag,
    consented,
    infused,
    saved,
    scored,
    screen_failed,
    screening,
    signature,
    visit,
    with_adverse_event,
    withdrawal,
)

R, NR, NE, NA = (
    Outcome.RESPONDER,
    Outcome.NON_RESPONDER,
    Outcome.NOT_EVALUABLE,
    Outcome.NOT_APPLICABLE,
)
ENDPOINTS = ("SRI4", "DORIS", "REMISSION_OFF_THERAPY", "LLDAS", "CRR", "PRR", "ORR", "PERR")
AWARE_AT = datetime(2025, 6, 21, 3, 0, tzinfo=UTC)
HOSPITALISED = frozenset({SeriousCriterion.HOSPITALISATION})


def visit_view(participant: Participant, name: Visit) -> VisitView:
    [view] = [v for v in participant_view(participant).visits if v.visit is name]
    return view


def ae_view(participant: Participant) -> AdverseEventView:
    [view] = participant_view(participant).adverse_events
    return view


def outcomes(participant: Participant, name: Visit) -> dict[str, Outcome]:
    return {endpoint: v.outcome for endpoint, v in visit_outcomes(participant, name).items()}


def with_baseline(*scores: VisitScore) -> Participant:
    """Infused, with the active BASELINE (SELENA-SLEDAI 10, PGA 1.5) and these visits scored."""
    return scored(baseline(), *scores)


# ----- the participant -----


def test_participant_view_shows_identity_status_and_eligibility_when_infused() -> None:
    participant = infused()

    view = participant_view(participant)

    assert (view.subject_id, view.site, view.status.value, view.version) == (
        "NJ01-007",
        "NJ01",
        "INFUSED",
        3,
    )
    assert (view.sex, view.age_at_consent, view.initials) == (Sex.FEMALE, 37, "LMW")
    assert view.infused_at == datetime(2025, 6, 20, 2, 0, tzinfo=UTC)
    assert view.eligibility is not None
    assert view.eligibility.eligible
    assert view.eligibility.rules_version == "2026.1"
    assert view.eligibility.sledai_2k == 10


def test_eligibility_view_shows_the_latest_screening_when_rescreened() -> None:
    participant = screen_failed()
    participant.screen(screening(screened_on=date(2025, 6, 12)), TODAY, signature())

    eligibility = participant_view(participant).eligibility

    assert eligibility is not None
    assert eligibility.eligible
    exc3 = [c for c in eligibility.criteria if c.code == "EXC3"]
    assert [c.met for c in exc3] == [False]


def test_participant_view_shows_withdrawal_when_withdrawn() -> None:
    participant = infused()
    participant.withdraw(withdrawal(date(2025, 7, 1)), TODAY, signature())

    view = participant_view(participant)

    assert (view.withdrawn_on, view.withdrawal_reason) == (date(2025, 7, 1), "CONSENT_WITHDRAWN")


# ----- visit scores -----


def test_baseline_view_shows_its_scores_and_every_outcome_not_applicable() -> None:
    participant = with_baseline()

    view = visit_view(participant, Visit.BASELINE)

    # Proteinuria 4 + arthritis 4 + rash 2; BILAG A 12 + B 8.
    assert (view.sledai_2k, view.selena_sledai, view.clinical_sledai) == (10, 10, 10)
    assert (view.bilag_score, view.pga, view.sdi, view.egfr) == (20, 1.5, 0, 88.0)
    assert view.in_window
    assert {name: v.outcome for name, v in view.outcomes.items()} == dict.fromkeys(ENDPOINTS, NA)


def test_visits_are_listed_in_visit_order_when_scored_out_of_order() -> None:
    participant = scored(visit(Visit.M2), visit(Visit.M1), baseline())

    visits = participant_view(participant).visits

    assert [v.visit for v in visits] == [Visit.BASELINE, Visit.M1, Visit.M2]


@pytest.mark.parametrize(
    ("day", "expected"),
    [(23, True), (22, False), (37, True), (38, False)],
    ids=["day-23", "day-22", "day-37", "day-38"],
)
def test_month_1_in_window_is_day_30_plus_or_minus_7(day: int, expected: bool) -> None:
    participant = scored(visit(Visit.M1, visit_date=INFUSION_DAY + timedelta(days=day)))

    assert visit_view(participant, Visit.M1).in_window is expected


@pytest.mark.parametrize(
    ("day", "expected"), [(194, True), (195, False)], ids=["day-194", "day-195"]
)
def test_month_6_in_window_is_day_180_plus_or_minus_14(day: int, expected: bool) -> None:
    participant = scored(visit(Visit.M6, visit_date=INFUSION_DAY + timedelta(days=day)))

    assert visit_view(participant, Visit.M6).in_window is expected


@pytest.mark.parametrize(
    ("sex", "expected"), [(Sex.FEMALE, 68.6), (Sex.MALE, 91.7)], ids=["female", "male"]
)
def test_egfr_is_ckd_epi_2021_at_the_age_on_the_visit_date_when_not_recorded(
    sex: Sex, expected: float
) -> None:
    # Born 1975-07-01: 49 at consent, 50 on the M1 date (2025-07-20); creatinine 1.0 mg/dL.
    participant = scored(
        visit(Visit.M1, egfr=None, creatinine_mg_dl=1.0),
        participant=infused(date_of_birth=date(1975, 7, 1), sex=sex),
    )

    egfr = visit_view(participant, Visit.M1).egfr

    assert egfr is not None
    assert round(egfr, 1) == expected


def test_egfr_is_the_recorded_value_when_recorded_with_creatinine() -> None:
    participant = scored(visit(Visit.M1, egfr=95.0, creatinine_mg_dl=1.0))

    assert visit_view(participant, Visit.M1).egfr == 95.0


@pytest.mark.parametrize(
    ("descriptors", "upcr", "queries"),
    [
        (frozenset(), 0.8, ["PROTEINURIA_LAB_MISMATCH"]),
        (frozenset({D.PROTEINURIA}), 0.3, ["PROTEINURIA_LAB_MISMATCH"]),
        (frozenset(), 0.5, []),
        (frozenset({D.PROTEINURIA}), 0.6, []),
        (frozenset(), None, []),
    ],
    ids=["absent-upcr-0.8", "ticked-upcr-0.3", "absent-upcr-0.5", "ticked-upcr-0.6", "no-upcr"],
)
def test_visit_raises_proteinuria_query_when_the_descriptor_contradicts_upcr(
    descriptors: frozenset[D], upcr: float | None, queries: list[str]
) -> None:
    participant = scored(visit(Visit.M1, sledai=descriptors, upcr_g_per_g=upcr))

    view = visit_view(participant, Visit.M1)

    assert [q.code for q in view.data_queries] == queries
    assert view.sledai_2k == (4 if descriptors else 0)


# ----- SRI-4 at month 1 -----


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, R),
        # SELENA-SLEDAI 10 → 6 (arthritis in 4 joints, rash): a fall of exactly 4.
        ({"sledai": frozenset({D.ARTHRITIS, D.RASH}), "arthritis_joint_count": 4}, R),
        # 10 → 7: a fall of 3.
        (
            {"sledai": frozenset({D.ARTHRITIS, D.RASH, D.FEVER}), "arthritis_joint_count": 4},
            NR,
        ),
        # PGA 1.5 → 1.7: an increase of 0.2 is allowed; 1.5 → 1.8 is not.
        ({"pga_tenths": 17}, R),
        ({"pga_tenths": 18}, NR),
        # A new BILAG A (cardiorespiratory D → A); renal A → A is not new.
        ({"bilag": bilag(CARDIORESPIRATORY="A")}, NR),
        ({"bilag": bilag(RENAL="A")}, R),
    ],
    ids=["quiet", "selena-fall-4", "selena-fall-3", "pga-up-0.2", "pga-up-0.3", "new-a", "a-to-a"],
)
def test_sri4_at_month_1_is_judged_against_the_baseline_visit(
    changes: dict[str, object], expected: Outcome
) -> None:
    participant = with_baseline(visit(Visit.M1, **changes))

    assert visit_view(participant, Visit.M1).outcomes["SRI4"].outcome is expected


def test_sri4_is_not_evaluable_when_the_baseline_is_the_screening() -> None:
    participant = scored(visit(Visit.M1))

    verdicts = visit_view(participant, Visit.M1).outcomes

    assert verdicts["SRI4"].outcome is NE
    assert "PGA at baseline" in verdicts["SRI4"].reason
    # DORIS needs no baseline: clinical SLEDAI 0, PGA 0.2, prednisone 5 mg/day.
    assert verdicts["DORIS"].outcome is R


def test_correction_flips_sri4_and_marks_the_visit_corrected_when_activity_was_missed() -> None:
    participant = with_baseline(visit(Visit.M1))
    before = visit_view(participant, Visit.M1)

    participant.correct_visit(
        visit(
            Visit.M1,
            sledai=baseline().sledai,
            arthritis_joint_count=4,
            proteinuria_new_or_increased=True,
        ),
        "activity omitted at entry",
        TODAY,
        signature(),
    )

    after = visit_view(participant, Visit.M1)
    assert (before.outcomes["SRI4"].outcome, before.corrected) == (R, False)
    assert (after.outcomes["SRI4"].outcome, after.corrected) == (NR, True)
    assert after.selena_sledai == 10


# ----- non-responder imputation -----


def test_every_outcome_is_non_responder_when_withdrawn_on_the_target_day_before_scoring() -> None:
    participant = with_baseline()
    participant.withdraw(withdrawal(date(2025, 7, 20)), TODAY, signature())  # M1's target day

    assert outcomes(participant, Visit.M1) == dict.fromkeys(ENDPOINTS, NR)
    assert outcomes(participant, Visit.M2) == dict.fromkeys(ENDPOINTS, NR)


def test_visit_is_not_evaluable_when_withdrawn_after_its_target_day_unscored() -> None:
    participant = with_baseline()
    participant.withdraw(withdrawal(date(2025, 7, 21)), TODAY, signature())  # M1 day + 1

    assert outcomes(participant, Visit.M1)["SRI4"] is NE
    assert outcomes(participant, Visit.M2)["SRI4"] is NR


def test_scored_visit_keeps_its_outcome_when_withdrawn_before_its_target_day() -> None:
    participant = with_baseline(visit(Visit.M1, visit_date=date(2025, 7, 15)))
    participant.withdraw(withdrawal(date(2025, 7, 16)), TODAY, signature())

    assert outcomes(participant, Visit.M1)["SRI4"] is R
    assert outcomes(participant, Visit.M2)["SRI4"] is NR


def test_visit_is_not_evaluable_when_unscored_and_not_withdrawn() -> None:
    participant = with_baseline()

    assert outcomes(participant, Visit.M3) == dict.fromkeys(ENDPOINTS, NE)


def test_later_visits_are_non_responders_when_rescue_was_recorded_at_month_1() -> None:
    participant = with_baseline(visit(Visit.M1, rescue_therapy=True), visit(Visit.M2))

    assert outcomes(participant, Visit.M1) == dict.fromkeys(ENDPOINTS, NR)
    assert outcomes(participant, Visit.M2) == dict.fromkeys(ENDPOINTS, NR)
    assert outcomes(participant, Visit.M3) == dict.fromkeys(ENDPOINTS, NR)


def test_renal_endpoints_are_not_applicable_when_the_baseline_records_no_nephritis() -> None:
    participant = scored(baseline(lupus_nephritis=False), visit(Visit.M1))

    verdicts = outcomes(participant, Visit.M1)

    assert [verdicts[name] for name in ("CRR", "PRR", "ORR", "PERR")] == [NA] * 4
    assert verdicts["SRI4"] is R


# ----- adverse events -----


@pytest.mark.parametrize(
    ("signs", "expected"),
    [
        (GRADE_2_CRS, 2),
        (CrsSigns(38.2, False, False, 0, False, Oxygen.NONE), 1),
        (CrsSigns(37.5, False, True, 0, False, Oxygen.NONE), 0),
        (CrsSigns(39.0, False, True, 1, False, Oxygen.LOW_FLOW), 3),
        (CrsSigns(37.2, True, False, 0, False, Oxygen.POSITIVE_PRESSURE), 4),
    ],
    ids=["hypotension", "fever-alone", "no-fever", "one-vasopressor", "cpap-after-antipyretic"],
)
def test_crs_grade_is_derived_from_the_signs_when_reported(signs: CrsSigns, expected: int) -> None:
    participant = with_adverse_event(ae_report(crs=signs))

    assert ae_view(participant).crs_grade == expected


@pytest.mark.parametrize(
    ("signs", "expected"),
    [
        (IcansSigns(10, Consciousness.NORMAL, SeizureStatus.NONE, False, Edema.NONE), 0),
        (IcansSigns(8, Consciousness.NORMAL, SeizureStatus.NONE, False, Edema.NONE), 1),
        (IcansSigns(5, Consciousness.NORMAL, SeizureStatus.NONE, False, Edema.NONE), 2),
        (IcansSigns(9, Consciousness.VOICE, SeizureStatus.RAPID, False, Edema.NONE), 3),
        (IcansSigns(0, Consciousness.UNAROUSABLE, SeizureStatus.NONE, False, Edema.NONE), 4),
    ],
    ids=["ice-10", "ice-8", "ice-5", "rapid-seizure", "unarousable"],
)
def test_icans_grade_is_the_worst_domain_when_reported(signs: IcansSigns, expected: int) -> None:
    report = ae_report(category=AeCategory.ICANS, term="ICANS", crs=None, icans=signs)

    view = ae_view(with_adverse_event(report))

    assert (view.icans_grade, view.crs_grade) == (expected, None)


@pytest.mark.parametrize(
    ("stages", "expected"),
    [
        (GvhdStages(skin=1, liver=0, upper_gi=0, lower_gi=0), 1),
        (GvhdStages(skin=3, liver=0, upper_gi=0, lower_gi=0), 2),
        (GvhdStages(skin=1, liver=0, upper_gi=1, lower_gi=0), 2),
        (GvhdStages(skin=0, liver=2, upper_gi=0, lower_gi=0), 3),
        (GvhdStages(skin=0, liver=0, upper_gi=0, lower_gi=4), 4),
    ],
    ids=["skin-1", "skin-3", "upper-gi-1", "liver-2", "lower-gi-4"],
)
def test_acute_gvhd_grade_is_magic_when_reported(stages: GvhdStages, expected: int) -> None:
    report = ae_report(category=AeCategory.ACUTE_GVHD, term="aGVHD", crs=None, acute_gvhd=stages)

    assert ae_view(with_adverse_event(report)).acute_gvhd_grade == expected


def test_sae_reporting_is_due_24_hours_after_awareness_when_serious() -> None:
    view = ae_view(with_adverse_event(ae_report(serious=HOSPITALISED)))

    assert view.serious
    assert view.serious_criteria == (SeriousCriterion.HOSPITALISATION,)
    assert view.reporting_due_at == datetime(2025, 6, 22, 3, 0, tzinfo=UTC)


def test_ae_has_no_reporting_clock_when_not_serious() -> None:
    view = ae_view(with_adverse_event())

    assert (view.serious, view.reporting_due_at, view.overdue_at(NOW)) == (False, None, False)


@pytest.mark.parametrize(
    ("reference", "overdue"),
    [
        (datetime(2025, 6, 22, 3, 0, 1, tzinfo=UTC), True),
        (datetime(2025, 6, 22, 3, 0, tzinfo=UTC), False),
        (datetime(2025, 6, 21, 20, 0, tzinfo=UTC), False),
    ],
    ids=["a-second-past-due", "at-due", "before-due"],
)
def test_sae_is_overdue_when_unreported_and_the_reference_is_past_due(
    reference: datetime, overdue: bool
) -> None:
    participant = with_adverse_event(ae_report(serious=HOSPITALISED))

    assert ae_view(participant).overdue_at(reference) is overdue


@pytest.mark.parametrize(
    ("reported_at", "overdue"),
    [
        (datetime(2025, 6, 22, 2, 30, tzinfo=UTC), False),
        (datetime(2025, 6, 22, 3, 0, tzinfo=UTC), False),
        (datetime(2025, 6, 22, 3, 30, tzinfo=UTC), True),
    ],
    ids=["in-time", "at-due", "late"],
)
def test_sae_overdue_is_decided_by_the_report_time_when_reported(
    reported_at: datetime, overdue: bool
) -> None:
    participant = with_adverse_event(ae_report(serious=HOSPITALISED))
    participant.update_adverse_event(
        ae_update(reported_to_sponsor_at=reported_at), NOW, TODAY, signature()
    )

    view = ae_view(participant)

    assert view.reported_to_sponsor_at == reported_at
    assert view.overdue_at(NOW) is overdue


def test_days_from_infusion_count_from_the_nanjing_infusion_date() -> None:
    # 2025-06-19T17:30Z is 01:30 on 2025-06-20 in Nanjing: infusion day 2025-06-20.
    participant = infused(infused_at=datetime(2025, 6, 19, 17, 30, tzinfo=UTC))
    participant.report_adverse_event(ae_report(), NOW, TODAY, signature())  # onset 2025-06-21

    assert ae_view(saved(participant)).days_from_infusion == 1


def test_days_from_infusion_is_none_when_not_infused() -> None:
    participant = consented()
    participant.report_adverse_event(ae_report(), NOW, TODAY, signature())

    assert ae_view(participant).days_from_infusion is None


def test_grade_4_ae_raises_a_data_query_when_recorded_without_a_serious_criterion() -> None:
    participant = with_adverse_event(ae_report(ctcae_grade=4))

    before = ae_view(participant).data_queries
    participant.update_adverse_event(
        ae_update(serious=frozenset({SeriousCriterion.LIFE_THREATENING})), NOW, TODAY, signature()
    )
    after = ae_view(participant).data_queries

    assert [q.code for q in before] == ["GRADE_4_NOT_SERIOUS"]
    assert after == ()


def test_ae_update_changes_grade_seriousness_and_resolution_and_keeps_the_rest() -> None:
    participant = with_adverse_event()
    reported = ae_view(participant)

    participant.update_adverse_event(
        ae_update(ctcae_grade=3, serious=HOSPITALISED), NOW, TODAY, signature()
    )
    participant.update_adverse_event(
        ae_update(resolved_on=date(2025, 6, 25)), NOW, TODAY, signature()
    )

    updated = ae_view(participant)
    assert (updated.ctcae_grade, updated.serious, updated.resolved_on) == (
        3,
        True,
        date(2025, 6, 25),
    )
    assert updated.serious_criteria == (SeriousCriterion.HOSPITALISATION,)
    unchanged = ("ae_id", "term", "category", "onset_on", "aware_at", "relatedness", "crs_grade")
    assert {f: getattr(updated, f) for f in unchanged} == {
        f: getattr(reported, f) for f in unchanged
    }
    assert (reported.ctcae_grade, reported.serious, reported.resolved_on) == (2, False, None)


def test_crs_grade_is_5_when_the_ae_is_updated_to_ctcae_grade_5() -> None:
    participant = with_adverse_event()

    participant.update_adverse_event(
        ae_update(ctcae_grade=5, serious=frozenset({SeriousCriterion.DEATH})),
        NOW,
        TODAY,
        signature(),
    )

    assert ae_view(participant).crs_grade == 5
