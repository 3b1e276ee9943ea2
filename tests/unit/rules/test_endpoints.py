"""SRI-4, DORIS remission, remission off therapy and LLDAS (clinical-rules.md §4–6)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.rules.assessment import VisitScore
from domain.rules.endpoints import (
    LLDAS_MAJOR_ORGANS,
    VisitContext,
    doris,
    lldas,
    remission_off_therapy,
    sri4,
)
from domain.rules.sledai import selena_sledai
from domain.vocabulary import BilagDomain, BilagGrade, Outcome
from domain.vocabulary import SledaiDescriptor as D
from tests.unit.rules.visit_records import (
    BASELINE_RECORD,
    M1_RECORD,
    SCREENING_RECORD,
    at_visit,
    bilag,
    record,
    sledai,
)

R, NR, NE = Outcome.RESPONDER, Outcome.NON_RESPONDER, Outcome.NOT_EVALUABLE
BASELINE_SET = BASELINE_RECORD.sledai  # ARTHRITIS (5 joints), RASH, ALOPECIA, serology: SELENA 12

# --- SRI-4 (§4): against SELENA-SLEDAI 12, BILAG MSK A / MUCO B, PGA 1.5 at baseline ---


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, R),
        # SELENA-SLEDAI 12 → 8: a drop of exactly 4 passes
        ({"sledai": sledai(D.RASH, D.ALOPECIA, D.LOW_COMPLEMENT, D.INCREASED_DNA_BINDING)}, R),
        # 12 → 9: a drop of 3 fails
        (
            {
                "sledai": sledai(D.ARTHRITIS, D.RASH, D.LOW_COMPLEMENT, D.FEVER),
                "arthritis_joint_count": 3,
            },
            NR,
        ),
        # arthritis in 2 joints does not count in SELENA: 12 → 8
        ({"sledai": BASELINE_SET, "arthritis_joint_count": 2}, R),
        # arthritis in 3 joints counts: 12 → 12
        ({"sledai": BASELINE_SET, "arthritis_joint_count": 3}, NR),
        # joint count not recorded: scored as SLEDAI-2K, 12 → 12
        ({"sledai": BASELINE_SET, "arthritis_joint_count": None}, NR),
        # proteinuria neither new nor increased does not count: 12 → 6
        (
            {
                "sledai": sledai(D.PROTEINURIA, D.RASH, D.ALOPECIA, D.LOW_COMPLEMENT),
                "proteinuria_new_or_increased": False,
            },
            R,
        ),
        # new or increased proteinuria counts: 12 → 10
        (
            {
                "sledai": sledai(D.PROTEINURIA, D.RASH, D.ALOPECIA, D.LOW_COMPLEMENT),
                "proteinuria_new_or_increased": True,
            },
            NR,
        ),
        # flag not recorded: scored as SLEDAI-2K, 12 → 10
        ({"sledai": sledai(D.PROTEINURIA, D.RASH, D.ALOPECIA, D.LOW_COMPLEMENT)}, NR),
    ],
    ids=[
        "quiet",
        "drop-4",
        "drop-3",
        "arthritis-2-joints",
        "arthritis-3-joints",
        "joints-unrecorded",
        "proteinuria-old",
        "proteinuria-new",
        "proteinuria-unflagged",
    ],
)
def test_sri4_by_selena_sledai_drop(changes: dict[str, Any], expected: Outcome) -> None:
    ctx = at_visit(replace(M1_RECORD, **changes))

    assert sri4(ctx).outcome is expected


@pytest.mark.parametrize(
    ("grades", "expected"),
    [
        ({"MUSCULOSKELETAL": "C"}, R),
        ({"CONSTITUTIONAL": "B"}, R),  # exactly 1 new B passes
        ({"CONSTITUTIONAL": "B", "RENAL": "B"}, NR),  # 2 new B fail
        ({"HAEMATOLOGICAL": "A"}, NR),  # a new A fails
        ({"MUSCULOSKELETAL": "B", "CONSTITUTIONAL": "B"}, R),  # A→B is no new B; 1 new B
        ({"MUSCULOSKELETAL": "B", "MUCOCUTANEOUS": "B", "CONSTITUTIONAL": "C"}, R),  # no new B
        ({"MUSCULOSKELETAL": "A"}, R),  # A stays A: no new A
        ({"MUCOCUTANEOUS": "A"}, NR),  # B→A is a new A
        ({"MUCOCUTANEOUS": "B", "CONSTITUTIONAL": "B"}, R),  # B stays B; 1 new B
        ({"CONSTITUTIONAL": "B", "OPHTHALMIC": "B", "MUCOCUTANEOUS": "B"}, NR),  # 2 new B
    ],
)
def test_sri4_by_bilag_new_domains(grades: dict[str, str], expected: Outcome) -> None:
    ctx = at_visit(replace(M1_RECORD, bilag=bilag(**grades)))

    assert sri4(ctx).outcome is expected


@pytest.mark.parametrize(
    ("baseline_pga", "now_pga", "expected"),
    [
        (15, 0, R),
        (15, 15, R),
        (15, 17, R),  # +0.2 passes
        (15, 18, NR),  # +0.3 fails
        (15, 30, NR),
        (0, 2, R),
        (0, 3, NR),
        (28, 30, R),
    ],
)
def test_sri4_by_pga_increase(baseline_pga: int, now_pga: int, expected: Outcome) -> None:
    ctx = at_visit(
        replace(M1_RECORD, pga_tenths=now_pga),
        baseline=replace(BASELINE_RECORD, pga_tenths=baseline_pga),
    )

    assert sri4(ctx).outcome is expected


def test_sri4_reason_names_every_failed_criterion_when_all_fail() -> None:
    current = replace(
        BASELINE_RECORD, pga_tenths=18, bilag=bilag(MUSCULOSKELETAL="A", HAEMATOLOGICAL="A")
    )

    verdict = sri4(at_visit(current))

    assert verdict.outcome is NR
    assert "SELENA-SLEDAI decrease ≥ 4 (from 12 to 12)" in verdict.reason
    assert "new A: 1" in verdict.reason
    assert "PGA increase < 0.3 (from 1.5 to 1.8)" in verdict.reason


def test_sri4_compares_with_baseline_not_previous_visit() -> None:
    ctx = at_visit(M1_RECORD, previous=M1_RECORD)

    assert sri4(ctx).outcome is R


@pytest.mark.parametrize(
    ("ctx", "missing"),
    [
        (at_visit(baseline=SCREENING_RECORD), "PGA at baseline"),
        (at_visit(replace(M1_RECORD, pga_tenths=None)), "PGA now"),
        (at_visit(baseline=None), "SLEDAI descriptors at baseline"),
    ],
    ids=["screening-baseline", "no-pga-now", "no-baseline"],
)
def test_sri4_not_evaluable_when_pga_missing_now_or_at_baseline(
    ctx: VisitContext, missing: str
) -> None:
    verdict = sri4(ctx)

    assert verdict.outcome is NE
    assert missing in verdict.reason


grades = st.fixed_dictionaries(
    {domain: st.sampled_from(list(BilagGrade)) for domain in BilagDomain}
)
records = st.builds(
    record,
    sledai=st.frozensets(st.sampled_from(list(D))),
    bilag=grades,
    arthritis_joint_count=st.none() | st.integers(0, 28),
    proteinuria_new_or_increased=st.none() | st.booleans(),
    pga_tenths=st.integers(0, 30),
    rescue_therapy=st.none() | st.booleans(),
)


def selena(record: VisitScore) -> int:
    return selena_sledai(
        record.sledai, record.arthritis_joint_count, record.proteinuria_new_or_increased
    )


@given(now=records, baseline=records, rescue_earlier=st.booleans())
def test_sri4_never_responder_when_selena_fell_by_fewer_than_4(
    now: VisitScore, baseline: VisitScore, rescue_earlier: bool
) -> None:
    verdict = sri4(at_visit(now, baseline=baseline, rescue_earlier=rescue_earlier))

    if selena(baseline) - selena(now) < 4:
        assert verdict.outcome is not R


# --- DORIS 2021 and remission off therapy (§5) ---


@pytest.mark.parametrize(
    ("changes", "expected_doris", "expected_off_therapy"),
    [
        ({}, R, R),  # serology only: clinical SLEDAI 0
        ({"sledai": sledai()}, R, R),
        ({"sledai": sledai(D.FEVER)}, NR, NR),  # clinical SLEDAI 1
        ({"sledai": sledai(D.RASH, D.LOW_COMPLEMENT)}, NR, NR),
        ({"pga_tenths": 4}, R, R),  # PGA 0.4 passes
        ({"pga_tenths": 5}, NR, NR),  # PGA 0.5 fails
        ({"prednisone_mg_per_day": 5.0}, R, NR),  # prednisone 5 passes DORIS only
        ({"prednisone_mg_per_day": 5.1}, NR, NR),
        ({"prednisone_mg_per_day": 0.5}, R, NR),
        ({"antimalarial_only": False}, R, NR),  # other treatment allowed by DORIS
        ({"antimalarial_only": None}, R, NE),  # remission off therapy needs it
        ({"prednisone_mg_per_day": None}, NE, NE),
        ({"pga_tenths": None}, NE, NE),
        ({"haemolytic_anaemia": None, "upcr_g_per_g": None}, R, R),  # not DORIS values
    ],
)
def test_doris_and_remission_off_therapy_by_criteria(
    changes: dict[str, Any], expected_doris: Outcome, expected_off_therapy: Outcome
) -> None:
    ctx = at_visit(replace(M1_RECORD, **changes))

    assert doris(ctx).outcome is expected_doris
    assert remission_off_therapy(ctx).outcome is expected_off_therapy


@pytest.mark.parametrize(
    "baseline", [SCREENING_RECORD, None, BASELINE_RECORD], ids=["screening", "none", "baseline"]
)
def test_doris_responder_when_baseline_has_no_pga(baseline: VisitScore | None) -> None:
    ctx = at_visit(baseline=baseline)

    assert doris(ctx).outcome is R
    assert remission_off_therapy(ctx).outcome is R


def test_doris_reason_names_the_prednisone_dose_when_it_fails() -> None:
    verdict = doris(at_visit(replace(M1_RECORD, prednisone_mg_per_day=5.1)))

    assert verdict.reason == "DORIS: not met: prednisone ≤ 5 mg/day (is 5.1)"


# --- LLDAS (§6): previous scored visit = baseline unless given ---

LLDAS_EDGE = replace(
    M1_RECORD,
    sledai=sledai(D.ARTHRITIS),  # SLEDAI-2K 4, present at baseline
    pga_tenths=10,
    prednisone_mg_per_day=7.5,
    antimalarial_only=False,
)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, R),  # SLEDAI 4, PGA 1.0, prednisone 7.5: every edge passes
        ({"pga_tenths": 11}, NR),  # PGA 1.1 fails
        ({"prednisone_mg_per_day": 7.6}, NR),
        ({"prednisone_mg_per_day": 0.0}, R),
        ({"haemolytic_anaemia": True}, NR),
        ({"haemolytic_anaemia": None}, NE),
        ({"gi_activity": True}, NR),
        ({"gi_activity": None}, NE),
        ({"investigational_drug": True}, NR),
        ({"investigational_drug": None}, NE),
        ({"pga_tenths": None}, NE),
        ({"prednisone_mg_per_day": None}, NE),
        ({"bilag": bilag(HAEMATOLOGICAL="A", RENAL="A")}, R),  # BILAG not used
        ({"antimalarial_only": None, "upcr_g_per_g": None, "egfr": None}, R),
    ],
)
def test_lldas_by_visit_values(changes: dict[str, Any], expected: Outcome) -> None:
    ctx = at_visit(replace(LLDAS_EDGE, **changes))

    assert lldas(ctx).outcome is expected


@pytest.mark.parametrize(
    ("now", "previous", "expected"),
    [
        (sledai(D.RASH, D.ALOPECIA), sledai(D.RASH, D.ALOPECIA), R),  # SLEDAI-2K 4 passes
        (  # SLEDAI-2K 5 fails
            sledai(D.RASH, D.ALOPECIA, D.THROMBOCYTOPENIA),
            sledai(D.RASH, D.ALOPECIA, D.THROMBOCYTOPENIA),
            NR,
        ),
        (sledai(D.MYOSITIS), sledai(D.MYOSITIS), R),
        (sledai(D.MUCOSAL_ULCERS, D.LOW_COMPLEMENT), sledai(D.MUCOSAL_ULCERS, D.LOW_COMPLEMENT), R),
        (sledai(D.LEUKOPENIA, D.THROMBOCYTOPENIA), sledai(D.LEUKOPENIA, D.THROMBOCYTOPENIA), R),
        (sledai(), sledai(), R),
        (sledai(D.RASH), sledai(), NR),  # new descriptor
        (sledai(), sledai(D.RASH), R),  # resolved descriptor is no new activity
        (sledai(D.LOW_COMPLEMENT), sledai(D.INCREASED_DNA_BINDING), NR),  # serology counts
    ],
)
def test_lldas_by_sledai_and_new_activity(
    now: frozenset[D], previous: frozenset[D], expected: Outcome
) -> None:
    ctx = at_visit(
        replace(LLDAS_EDGE, sledai=now), previous=replace(BASELINE_RECORD, sledai=previous)
    )

    assert lldas(ctx).outcome is expected


@pytest.mark.parametrize("organ", sorted(LLDAS_MAJOR_ORGANS))
def test_lldas_non_responder_when_a_major_organ_is_active(organ: D) -> None:
    ctx = at_visit(
        replace(LLDAS_EDGE, sledai=sledai(organ)),
        previous=replace(BASELINE_RECORD, sledai=sledai(organ)),
    )

    verdict = lldas(ctx)

    assert verdict.outcome is NR
    assert f"no major-organ activity (present: {organ.value})" in verdict.reason


def test_lldas_major_organs_are_renal_cns_cardiopulmonary_vasculitis_fever() -> None:
    assert {
        D.URINARY_CASTS,
        D.HEMATURIA,
        D.PROTEINURIA,
        D.PYURIA,
        D.SEIZURE,
        D.PSYCHOSIS,
        D.ORGANIC_BRAIN_SYNDROME,
        D.VISUAL_DISTURBANCE,
        D.CRANIAL_NERVE_DISORDER,
        D.LUPUS_HEADACHE,
        D.CVA,
        D.PLEURISY,
        D.PERICARDITIS,
        D.VASCULITIS,
        D.FEVER,
    } == LLDAS_MAJOR_ORGANS


def test_lldas_compares_with_previous_visit_not_baseline() -> None:
    ctx = at_visit(replace(LLDAS_EDGE, sledai=sledai(D.RASH)), previous=M1_RECORD)

    verdict = lldas(ctx)

    assert verdict.outcome is NR
    assert "new since the previous visit (RASH)" in verdict.reason


def test_lldas_not_evaluable_when_no_previous_scored_visit() -> None:
    verdict = lldas(at_visit(LLDAS_EDGE, previous=None))

    assert verdict.outcome is NE
    assert "previous scored visit" in verdict.reason


def test_lldas_responder_when_previous_is_the_screening() -> None:
    ctx = at_visit(LLDAS_EDGE, baseline=SCREENING_RECORD)

    assert lldas(ctx).outcome is R
