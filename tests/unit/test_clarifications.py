"""clinical-rules.md §13 (Clarifications), one test per sentence, written from the rulebook."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain.errors import BadInput, DomainRuleViolation
from domain.inputs import VisitScore
from domain.participant import Participant
from domain.rules.eligibility import Labs
from domain.rules.toxicity import CrsSigns, GvhdStages, IcansSigns
from domain.views import participant_view, visit_outcomes
from domain.vocabulary import (
    AeCategory,
    Consciousness,
    Edema,
    Outcome,
    Oxygen,
    SdiItem,
    SeizureStatus,
    Visit,
)
from projections.safety_ledger import ledger_rows, safety_ledger
from projections.study_summary import study_summary, summary_row
from tests.unit import builders as b

R, N, E = Outcome.RESPONDER, Outcome.NON_RESPONDER, Outcome.NOT_EVALUABLE
QUIET_CRS = CrsSigns(37.0, False, False, 0, False, Oxygen.NONE)  # no fever: no grade met
QUIET_ICANS = IcansSigns(10, Consciousness.NORMAL, SeizureStatus.NONE, False, Edema.NONE)
NO_GVHD = GvhdStages(0, 0, 0, 0)


def screened(screening: object) -> Participant:
    participant = b.consented()
    participant.screen(screening, b.TODAY, b.signature())  # type: ignore[arg-type]
    return b.saved(participant)


def eligibility(participant: Participant) -> dict[str, bool | None]:
    view = participant_view(participant).eligibility
    assert view is not None
    return {criterion.code: criterion.met for criterion in view.criteria}


# Arithmetic: every threshold comparison on a decimal input is exact in decimal arithmetic.


@pytest.mark.parametrize(
    ("labs", "code"),
    [
        ({"bilirubin": 1.8, "bilirubin_uln": 1.2}, "INC6_BILIRUBIN"),  # 1.5 x 1.2 is 1.8
        ({"alt": 0.9, "alt_uln": 0.3}, "INC6_ALT"),  # 3 x 0.3 is 0.9 (0.8999… in binary)
        ({"inr": 1.65, "inr_uln": 1.1}, "INC6_INR"),  # 1.5 x 1.1 is 1.65 (1.6500…01 in binary)
    ],
)
def test_lab_threshold_meets_its_limit_exactly_when_the_value_is_the_uln_multiple(
    labs: dict[str, float], code: str
) -> None:
    participant = screened(b.screening(labs=Labs(**{**vars(b.ELIGIBLE_LABS), **labs})))

    assert eligibility(participant)[code] is True


def test_egfr_decline_of_exactly_15_percent_is_stable_in_decimal_arithmetic() -> None:
    # 59.5 is 15 % below 70.0 exactly; in binary (70 - 59.5) / 70 is 0.15000000000000002.
    participant = b.scored(b.baseline(egfr=70.0), b.visit(Visit.M1, egfr=59.5, upcr_g_per_g=0.3))

    assert visit_outcomes(participant, Visit.M1)["CRR"].outcome is R


# A CRS, ICANS or acute GVHD AE whose inputs meet no grade has derived grade 0; the grade is
# null only for AEs of other categories.


@pytest.mark.parametrize(
    ("changes", "grades"),
    [
        ({"category": AeCategory.CRS, "crs": QUIET_CRS}, (0, None, None)),
        ({"category": AeCategory.CRS, "crs": None}, (0, None, None)),
        ({"category": AeCategory.ICANS, "crs": None, "icans": QUIET_ICANS}, (None, 0, None)),
        ({"category": AeCategory.ICANS, "crs": None}, (None, 0, None)),
        ({"category": AeCategory.ACUTE_GVHD, "crs": None, "acute_gvhd": NO_GVHD}, (None, None, 0)),
        ({"category": AeCategory.ACUTE_GVHD, "crs": None}, (None, None, 0)),
        ({"category": AeCategory.INFECTION, "crs": None}, (None, None, None)),
        ({"category": AeCategory.OTHER, "crs": b.GRADE_2_CRS}, (None, None, None)),
    ],
)  # fmt: skip
def test_toxicity_grade_is_0_when_no_grade_is_met_and_null_only_for_other_categories(
    changes: dict[str, object], grades: tuple[int | None, int | None, int | None]
) -> None:
    participant = b.with_adverse_event(b.ae_report(**changes))

    [event] = participant_view(participant).adverse_events

    assert (event.crs_grade, event.icans_grade, event.acute_gvhd_grade) == grades


def test_crs_without_signs_recorded_with_ctcae_grade_5_is_crs_grade_5() -> None:
    participant = b.with_adverse_event(b.ae_report(crs=None, ctcae_grade=5))

    [event] = participant_view(participant).adverse_events

    assert event.crs_grade == 5


# screenFailuresByCriterion counts, per criterion code, the participants whose latest screening
# failed with that inclusion not met or missing (met null), or that exclusion met; codes with a
# count of 0 may be omitted.


def test_screen_failures_count_inclusions_not_met_or_missing_and_exclusions_met() -> None:
    excluded = screened(b.failed_screening())  # exclusion 3 applies
    missing_wbc = screened(b.screening(labs=Labs(**{**vars(b.ELIGIBLE_LABS), "wbc": None})))
    not_refractory = screened(b.screening(refractory=False))
    eligible = screened(b.screening())
    rescreened = b.consented()  # failed, then eligible: its latest screening passed
    rescreened.screen(b.failed_screening(), b.TODAY, b.signature())
    rescreened.screen(b.screening(), b.TODAY, b.signature())

    rows = [summary_row(p) for p in (excluded, missing_wbc, not_refractory, eligible, rescreened)]
    counts = {c.code: c.count for c in study_summary(rows, None).screen_failures_by_criterion}

    assert counts == {"EXC3": 1, "INC6_WBC": 1, "INC4_REFRACTORY": 1}


# A missing baseline UPCR makes PRR (and so ORR, unless CRR holds) NOT_EVALUABLE; CRR and PERR
# do not use it.


def test_missing_baseline_upcr_leaves_prr_not_evaluable_and_orr_to_crr() -> None:
    meets_crr = b.scored(b.baseline(upcr_g_per_g=None), b.visit(Visit.M1, upcr_g_per_g=0.3))
    misses_crr = b.scored(b.baseline(upcr_g_per_g=None), b.visit(Visit.M1, upcr_g_per_g=0.8))

    met = visit_outcomes(meets_crr, Visit.M1)
    missed = visit_outcomes(misses_crr, Visit.M1)

    assert [met[e].outcome for e in ("CRR", "PRR", "ORR", "PERR")] == [R, E, R, R]
    assert [missed[e].outcome for e in ("CRR", "PRR", "ORR", "PERR")] == [N, E, E, N]


# Against the screening baseline (no BASELINE visit) SRI-4 is NOT_EVALUABLE (no baseline PGA);
# DORIS, remission off therapy and LLDAS are evaluated; renal endpoints are NOT_EVALUABLE.


def test_against_the_screening_baseline_sri4_and_renal_are_not_evaluable_the_rest_evaluated() -> (
    None
):
    participant = b.scored(b.visit(Visit.M1, antimalarial_only=True, prednisone_mg_per_day=0.0))

    outcomes = {name: v.outcome for name, v in visit_outcomes(participant, Visit.M1).items()}

    assert outcomes["SRI4"] is E
    assert {outcomes[e] for e in ("CRR", "PRR", "ORR", "PERR")} == {E}
    assert outcomes["DORIS"] is R and outcomes["REMISSION_OFF_THERAPY"] is R
    assert outcomes["LLDAS"] is R


# LLDAS: haemolyticAnaemia, giActivity or investigationalDrug null → NOT_EVALUABLE.


@pytest.mark.parametrize("flag", ["haemolytic_anaemia", "gi_activity", "investigational_drug"])
def test_lldas_is_not_evaluable_when_a_flag_it_needs_is_null(flag: str) -> None:
    participant = b.scored(b.baseline(), b.visit(Visit.M1, **{flag: None}))

    assert visit_outcomes(participant, Visit.M1)["LLDAS"].outcome is E


# SDI comparisons (never decreases) include the BASELINE visit.


def test_damage_below_the_baseline_visits_is_refused_at_a_follow_up() -> None:
    participant = b.scored(b.baseline(sdi_items=frozenset({SdiItem.CATARACT})))

    with pytest.raises(DomainRuleViolation):
        participant.score_visit(b.visit(Visit.M1, sdi_items=frozenset()), b.TODAY, b.signature())


# participantsWithAe includes participants never infused.


def test_participants_with_ae_counts_a_participant_never_infused() -> None:
    eligible = b.eligible()
    eligible.report_adverse_event(
        b.ae_report(onset_on=date(2025, 6, 12), aware_at=datetime(2025, 6, 12, tzinfo=UTC)),
        b.NOW, b.TODAY, b.signature(),
    )  # fmt: skip

    rows = list(ledger_rows(eligible).items())
    totals = safety_ledger(rows, b.NOW).totals

    assert (totals.participants_with_ae, totals.participants_infused) == (1, 0)


# Refusals: a REPEAT SDI item without its base item, a PGA not in tenths and a BILAG missing a
# domain are BAD_INPUT; a BASELINE visit dated after the infusion date is DOMAIN_RULE.


def test_repeat_sdi_item_without_its_base_item_is_bad_input() -> None:
    with pytest.raises(BadInput):
        b.visit(Visit.M1, sdi_items=frozenset({SdiItem.CVA_REPEAT}))


def test_pga_not_in_tenths_is_bad_input() -> None:
    from domain.rules.assessment import pga_tenths

    with pytest.raises(BadInput) as refused:
        pga_tenths(0.25)
    assert refused.value.code == "BAD_INPUT"


def test_bilag_missing_a_domain_is_bad_input() -> None:
    grades = dict(b.bilag())
    grades.popitem()

    with pytest.raises(BadInput):
        VisitScore(**{**vars(b.visit(Visit.M1)), "bilag": grades})


def test_baseline_dated_after_the_infusion_date_is_a_domain_rule() -> None:
    participant = b.infused()

    with pytest.raises(DomainRuleViolation) as refused:
        participant.score_visit(b.baseline(visit_date=date(2025, 6, 21)), b.TODAY, b.signature())
    assert refused.value.code == "DOMAIN_RULE"
