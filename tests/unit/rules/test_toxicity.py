"""ASTCT 2019 CRS and ICANS, MAGIC 2016 acute GVHD (clinical-rules.md §11)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import BadInput
from domain.rules.toxicity import (
    CrsSigns,
    GvhdStages,
    IcansSigns,
    crs_data_queries,
    crs_grade,
    icans_data_queries,
    icans_grade,
    ice_grade,
    magic_grade,
)
from domain.vocabulary import Consciousness, Edema, Oxygen, SeizureStatus


def crs(
    temperature_c: float = 38.5,
    *,
    modified: bool = False,
    hypotension: bool = False,
    vasopressors: int = 0,
    vasopressin: bool = False,
    oxygen: Oxygen = Oxygen.NONE,
) -> CrsSigns:
    return CrsSigns(temperature_c, modified, hypotension, vasopressors, vasopressin, oxygen)


def icans(
    ice_score: int = 10,
    consciousness: Consciousness = Consciousness.NORMAL,
    seizure: SeizureStatus = SeizureStatus.NONE,
    motor_weakness: bool = False,
    edema: Edema = Edema.NONE,
) -> IcansSigns:
    return IcansSigns(ice_score, consciousness, seizure, motor_weakness, edema)


# ---------- CRS ----------

CRS_CASES = [
    ("37.9-no-fever", crs(37.9), 0),
    ("37.9-fever-modified", crs(37.9, modified=True), 1),
    ("36.6-fever-modified", crs(36.6, modified=True), 1),
    ("38.0-fever-alone", crs(38.0), 1),
    ("39.5-fever-alone", crs(39.5), 1),
    ("no-fever-hypotension", crs(37.9, hypotension=True), 0),
    ("no-fever-two-vasopressors", crs(37.9, hypotension=True, vasopressors=2), 0),
    ("no-fever-cpap", crs(37.0, oxygen=Oxygen.POSITIVE_PRESSURE), 0),
    ("modified-hypotension", crs(36.8, modified=True, hypotension=True), 2),
    ("hypotension-no-vasopressor", crs(hypotension=True), 2),
    ("vasopressin-alone", crs(hypotension=True, vasopressin=True), 3),
    ("one-vasopressor", crs(hypotension=True, vasopressors=1), 3),
    ("one-vasopressor-vasopressin", crs(hypotension=True, vasopressors=1, vasopressin=True), 3),
    ("two-vasopressors", crs(hypotension=True, vasopressors=2), 4),
    ("three-vasopressors-vasopressin", crs(hypotension=True, vasopressors=3, vasopressin=True), 4),
    ("vasopressors-without-hypotension", crs(vasopressors=2, vasopressin=True), 1),
    ("low-flow", crs(oxygen=Oxygen.LOW_FLOW), 2),
    ("high-flow", crs(oxygen=Oxygen.HIGH_FLOW), 3),
    ("cpap", crs(oxygen=Oxygen.POSITIVE_PRESSURE), 4),
    ("hypotension-2-high-flow-3", crs(hypotension=True, oxygen=Oxygen.HIGH_FLOW), 3),
    ("hypotension-3-low-flow-2", crs(hypotension=True, vasopressors=1, oxygen=Oxygen.LOW_FLOW), 3),
    ("hypotension-4-low-flow-2", crs(hypotension=True, vasopressors=2, oxygen=Oxygen.LOW_FLOW), 4),
    ("hypotension-2-cpap-4", crs(hypotension=True, oxygen=Oxygen.POSITIVE_PRESSURE), 4),
    ("hypotension-2-low-flow-2", crs(hypotension=True, oxygen=Oxygen.LOW_FLOW), 2),
]


@pytest.mark.parametrize(
    ("signs", "expected"), [case[1:] for case in CRS_CASES], ids=[case[0] for case in CRS_CASES]
)
def test_crs_grade_is_worse_of_hypotension_and_hypoxia_when_febrile(
    signs: CrsSigns, expected: int
) -> None:
    assert crs_grade(signs) == expected


@pytest.mark.parametrize(
    ("signs", "ctcae", "expected"),
    [
        (crs(37.0), 5, 5),
        (crs(hypotension=True, vasopressors=2), 5, 5),
        (crs(hypotension=True), 4, 2),
        (crs(oxygen=Oxygen.HIGH_FLOW), 1, 3),
        (crs(38.0), None, 1),
    ],
    ids=["death-no-fever", "death-grade-4-signs", "ctcae-4", "ctcae-1", "no-ctcae"],
)
def test_crs_grade_is_5_only_when_ctcae_grade_5(
    signs: CrsSigns, ctcae: int | None, expected: int
) -> None:
    assert crs_grade(signs, ctcae) == expected


def test_crs_grade_rejected_when_ctcae_grade_out_of_range() -> None:
    with pytest.raises(BadInput) as error:
        crs_grade(crs(), ctcae_grade=6)

    assert error.value.rule == "CTCAE_GRADE_RANGE"


@pytest.mark.parametrize("temperature", [25.0, 45.0])
def test_crs_signs_accepted_when_temperature_at_plausible_edges(temperature: float) -> None:
    assert crs(temperature).temperature_c == temperature


@pytest.mark.parametrize("temperature", [24.9, 45.1, -38.0, 100.4, math.nan, math.inf])
def test_crs_signs_rejected_when_temperature_implausible(temperature: float) -> None:
    with pytest.raises(BadInput) as error:
        crs(temperature)

    assert error.value.rule == "TEMPERATURE_RANGE"


def test_crs_signs_rejected_when_vasopressor_count_negative() -> None:
    with pytest.raises(BadInput) as error:
        crs(hypotension=True, vasopressors=-1)

    assert error.value.rule == "VASOPRESSOR_COUNT"
    assert "-1" in error.value.message


@pytest.mark.parametrize(
    ("signs", "codes"),
    [
        (crs(vasopressors=1), ["VASOPRESSOR_WITHOUT_HYPOTENSION"]),
        (crs(vasopressin=True), ["VASOPRESSOR_WITHOUT_HYPOTENSION"]),
        (crs(hypotension=True, vasopressors=2, vasopressin=True), []),
        (crs(), []),
    ],
    ids=["vasopressor", "vasopressin", "with-hypotension", "none"],
)
def test_crs_data_queries_flag_vasopressors_when_hypotension_not_recorded(
    signs: CrsSigns, codes: list[str]
) -> None:
    assert [query.code for query in crs_data_queries(signs)] == codes


crs_signs = st.builds(
    CrsSigns,
    temperature_c=st.floats(min_value=25.0, max_value=45.0),
    fever_modified_by_treatment=st.booleans(),
    hypotension=st.booleans(),
    vasopressors=st.integers(min_value=0, max_value=10),
    vasopressin=st.booleans(),
    oxygen=st.sampled_from(Oxygen),
)


@given(signs=crs_signs, ctcae=st.none() | st.integers(min_value=1, max_value=5))
def test_crs_grade_stays_within_0_to_5_when_signs_are_valid(
    signs: CrsSigns, ctcae: int | None
) -> None:
    grade = crs_grade(signs, ctcae)

    assert 0 <= grade <= 5
    assert (grade == 5) == (ctcae == 5)


@given(signs=crs_signs)
def test_crs_grade_is_0_when_afebrile_and_untreated(signs: CrsSigns) -> None:
    febrile = signs.temperature_c >= 38.0 or signs.fever_modified_by_treatment

    assert (crs_grade(signs) == 0) == (not febrile)


# ---------- ICANS ----------


@pytest.mark.parametrize(
    ("score", "unarousable", "expected"),
    [
        (10, False, 0),
        (9, False, 1),
        (8, False, 1),
        (7, False, 1),
        (6, False, 2),
        (3, False, 2),
        (2, False, 3),
        (1, False, 3),
        (0, False, 3),
        (0, True, 4),
        (2, True, 3),
        (5, True, 2),
    ],
)
def test_ice_grade_follows_astct_bands_when_score_recorded(
    score: int, unarousable: bool, expected: int
) -> None:
    assert ice_grade(score, unarousable) == expected


@pytest.mark.parametrize("score", [-1, 11])
def test_ice_score_rejected_when_outside_0_to_10(score: int) -> None:
    with pytest.raises(BadInput) as grade_error:
        ice_grade(score, unarousable=False)
    with pytest.raises(BadInput) as signs_error:
        icans(ice_score=score)

    assert grade_error.value.rule == "ICE_SCORE_RANGE"
    assert signs_error.value.rule == "ICE_SCORE_RANGE"
    assert str(score) in signs_error.value.message


@pytest.mark.parametrize(
    ("signs", "expected"),
    [
        (icans(), 0),
        (icans(ice_score=9), 1),
        (icans(consciousness=Consciousness.SPONTANEOUS), 1),
        (icans(consciousness=Consciousness.VOICE), 2),
        (icans(consciousness=Consciousness.TACTILE), 3),
        (icans(consciousness=Consciousness.UNAROUSABLE), 4),
        (icans(seizure=SeizureStatus.RAPID), 3),
        (icans(seizure=SeizureStatus.PROLONGED), 4),
        (icans(motor_weakness=True), 4),
        (icans(edema=Edema.FOCAL), 3),
        (icans(edema=Edema.DIFFUSE), 4),
    ],
    ids=[
        "nothing",
        "ice-9",
        "spontaneous",
        "voice",
        "tactile",
        "unarousable",
        "seizure-rapid",
        "seizure-prolonged",
        "motor-weakness",
        "edema-focal",
        "edema-diffuse",
    ],
)
def test_icans_grade_is_domain_grade_when_one_domain_abnormal(
    signs: IcansSigns, expected: int
) -> None:
    assert icans_grade(signs) == expected


@pytest.mark.parametrize(
    ("signs", "expected"),
    [
        (icans(ice_score=5, consciousness=Consciousness.VOICE), 2),
        (icans(ice_score=8, seizure=SeizureStatus.RAPID), 3),
        (icans(ice_score=2, consciousness=Consciousness.SPONTANEOUS), 3),
        (icans(ice_score=2, edema=Edema.DIFFUSE), 4),
        (icans(ice_score=0, consciousness=Consciousness.UNAROUSABLE), 4),
        (icans(ice_score=0, consciousness=Consciousness.TACTILE), 3),
        (icans(ice_score=6, edema=Edema.FOCAL, motor_weakness=True), 4),
    ],
    ids=[
        "ice-2-voice-2",
        "ice-1-seizure-3",
        "ice-3-spontaneous-1",
        "ice-3-diffuse-4",
        "ice-0-unarousable",
        "ice-0-tactile-not-unarousable",
        "ice-2-focal-3-motor-4",
    ],
)
def test_icans_grade_is_worst_domain_when_several_abnormal(
    signs: IcansSigns, expected: int
) -> None:
    assert icans_grade(signs) == expected


@pytest.mark.parametrize(
    ("ctcae", "expected"), [(5, 5), (4, 1), (None, 1)], ids=["death", "ctcae-4", "no-ctcae"]
)
def test_icans_grade_is_5_only_when_ctcae_grade_5(ctcae: int | None, expected: int) -> None:
    assert icans_grade(icans(ice_score=8), ctcae) == expected


@pytest.mark.parametrize(
    ("signs", "codes"),
    [
        (
            icans(ice_score=4, consciousness=Consciousness.UNAROUSABLE),
            ["ICE_SCORE_WHILE_UNAROUSABLE"],
        ),
        (icans(ice_score=0, consciousness=Consciousness.UNAROUSABLE), []),
        (icans(ice_score=4, consciousness=Consciousness.TACTILE), []),
    ],
    ids=["scored-while-unarousable", "zero-while-unarousable", "scored-while-tactile"],
)
def test_icans_data_queries_flag_ice_score_when_patient_unarousable(
    signs: IcansSigns, codes: list[str]
) -> None:
    assert [query.code for query in icans_data_queries(signs)] == codes


@given(
    signs=st.builds(
        IcansSigns,
        ice_score=st.integers(min_value=0, max_value=10),
        consciousness=st.sampled_from(Consciousness),
        seizure=st.sampled_from(SeizureStatus),
        motor_weakness=st.booleans(),
        edema=st.sampled_from(Edema),
    ),
    ctcae=st.none() | st.integers(min_value=1, max_value=5),
)
def test_icans_grade_stays_within_0_to_5_when_signs_are_valid(
    signs: IcansSigns, ctcae: int | None
) -> None:
    grade = icans_grade(signs, ctcae)

    assert 0 <= grade <= 5
    assert (grade == 5) == (ctcae == 5)


# ---------- acute GVHD (MAGIC) ----------


@pytest.mark.parametrize(
    ("stages", "expected"),
    [
        (GvhdStages(0, 0, 0, 0), 0),
        (GvhdStages(1, 0, 0, 0), 1),
        (GvhdStages(2, 0, 0, 0), 1),
        (GvhdStages(3, 0, 0, 0), 2),
        (GvhdStages(4, 0, 0, 0), 4),
        (GvhdStages(0, 1, 0, 0), 2),
        (GvhdStages(0, 2, 0, 0), 3),
        (GvhdStages(0, 3, 0, 0), 3),
        (GvhdStages(0, 4, 0, 0), 4),
        (GvhdStages(0, 0, 1, 0), 2),
        (GvhdStages(0, 0, 0, 1), 2),
        (GvhdStages(0, 0, 0, 2), 3),
        (GvhdStages(0, 0, 0, 3), 3),
        (GvhdStages(0, 0, 0, 4), 4),
        (GvhdStages(2, 0, 1, 0), 2),
        (GvhdStages(3, 1, 1, 1), 2),
        (GvhdStages(3, 2, 0, 0), 3),
        (GvhdStages(3, 0, 1, 3), 3),
        (GvhdStages(4, 0, 1, 0), 4),
        (GvhdStages(1, 3, 1, 4), 4),
    ],
    ids=[
        "all-zero",
        "skin-1",
        "skin-2",
        "skin-3-is-II-not-III",
        "skin-4",
        "liver-1",
        "liver-2",
        "liver-3",
        "liver-4",
        "upper-gi-1",
        "lower-gi-1",
        "lower-gi-2",
        "lower-gi-3",
        "lower-gi-4",
        "skin-2-upper-gi-1",
        "skin-3-all-stage-1",
        "skin-3-liver-2",
        "skin-3-lower-gi-3",
        "skin-4-upper-gi-1",
        "liver-3-lower-gi-4",
    ],
)
def test_magic_grade_follows_rulebook_order_when_stages_recorded(
    stages: GvhdStages, expected: int
) -> None:
    assert magic_grade(stages) == expected


@pytest.mark.parametrize(
    "stages",
    [
        (5, 0, 0, 0),
        (-1, 0, 0, 0),
        (0, 5, 0, 0),
        (0, -1, 0, 0),
        (0, 0, 2, 0),
        (0, 0, -1, 0),
        (0, 0, 0, 5),
        (0, 0, 0, -1),
    ],
    ids=[
        "skin-5",
        "skin--1",
        "liver-5",
        "liver--1",
        "upper-gi-2",
        "upper-gi--1",
        "lower-gi-5",
        "lower-gi--1",
    ],
)
def test_gvhd_stages_rejected_when_stage_out_of_range(stages: tuple[int, int, int, int]) -> None:
    with pytest.raises(BadInput) as error:
        GvhdStages(*stages)

    assert error.value.rule == "GVHD_STAGE_RANGE"


valid_stages = st.builds(
    GvhdStages,
    skin=st.integers(min_value=0, max_value=4),
    liver=st.integers(min_value=0, max_value=4),
    upper_gi=st.integers(min_value=0, max_value=1),
    lower_gi=st.integers(min_value=0, max_value=4),
)


@given(stages=valid_stages)
def test_magic_grade_stays_within_0_to_4_when_stages_are_valid(stages: GvhdStages) -> None:
    grade = magic_grade(stages)

    assert 0 <= grade <= 4
    assert (grade == 4) == (4 in (stages.skin, stages.liver, stages.lower_gi))
    assert (grade == 0) == (stages == GvhdStages(0, 0, 0, 0))
