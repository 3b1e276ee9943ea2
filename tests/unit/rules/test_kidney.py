"""Cockcroft-Gault creatinine clearance and CKD-EPI 2021 eGFR (clinical-rules.md §10)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import BadInput
from domain.rules.kidney import ckd_epi_2021, cockcroft_gault
from domain.vocabulary import Sex

F, M = Sex.FEMALE, Sex.MALE

ages = st.integers(min_value=0, max_value=120)
weights = st.floats(min_value=20, max_value=250)
creatinines = st.floats(min_value=0.1, max_value=15)

# ---------- Cockcroft-Gault ----------


@pytest.mark.parametrize(
    ("age", "weight", "creatinine", "sex", "expected"),
    [
        (70, 70, 1.0, M, 68.06),  # 70 × 70 / 72 = 68.056
        (50, 70, 1.0, M, 87.5),  # 90 × 70 / 72
        (50, 70, 1.0, F, 74.38),  # 87.5 × 0.85 = 74.375
    ],
    ids=["male-70y", "male-50y", "female-50y"],
)
def test_cockcroft_gault_matches_published_vectors_when_given_rulebook_inputs(
    age: int, weight: float, creatinine: float, sex: Sex, expected: float
) -> None:
    assert cockcroft_gault(age, weight, creatinine, sex) == pytest.approx(expected, abs=0.005)


@pytest.mark.parametrize(
    ("age", "weight", "creatinine", "sex", "expected"),
    [
        (60, 54, 1.0, M, 60.0),  # 80 × 54 / 72
        (60, 54, 0.85, F, 60.0),  # 80 × 54 / (72 × 0.85) × 0.85
        (40, 72, 2.0, M, 50.0),  # 100 × 72 / 144
        (0, 72, 1.0, M, 140.0),  # 140 × 72 / 72
        (139, 72, 1.0, M, 1.0),  # 1 × 72 / 72
        (20, 60, 0.5, F, 170.0),  # 120 × 60 / 36 × 0.85 = 200 × 0.85
    ],
    ids=["exactly-60-male", "exactly-60-female", "high-creatinine", "age-0", "age-139", "female"],
)
def test_cockcroft_gault_equals_hand_computed_value_when_inputs_divide_evenly(
    age: int, weight: float, creatinine: float, sex: Sex, expected: float
) -> None:
    assert cockcroft_gault(age, weight, creatinine, sex) == pytest.approx(expected, abs=1e-9)


@given(ages, weights, creatinines)
def test_cockcroft_gault_female_is_085_of_male_when_other_inputs_equal(
    age: int, weight: float, creatinine: float
) -> None:
    male = cockcroft_gault(age, weight, creatinine, M)

    assert cockcroft_gault(age, weight, creatinine, F) == pytest.approx(male * 0.85)


@given(ages, weights, creatinines)
def test_cockcroft_gault_falls_when_creatinine_doubles(
    age: int, weight: float, creatinine: float
) -> None:
    once = cockcroft_gault(age, weight, creatinine, M)

    assert cockcroft_gault(age, weight, 2 * creatinine, M) == pytest.approx(once / 2)


@pytest.mark.parametrize(
    ("age", "weight", "creatinine", "rule"),
    [
        (50, 70, 0.0, "CREATININE_VALUE"),
        (50, 70, -1.0, "CREATININE_VALUE"),
        (50, 70, math.nan, "CREATININE_VALUE"),
        (50, 70, math.inf, "CREATININE_VALUE"),
        (50, 0.0, 1.0, "WEIGHT_VALUE"),
        (50, -70, 1.0, "WEIGHT_VALUE"),
        (50, math.nan, 1.0, "WEIGHT_VALUE"),
        (-1, 70, 1.0, "AGE_VALUE"),
        (140, 70, 1.0, "AGE_VALUE"),
    ],
    ids=[
        "creatinine-0",
        "creatinine-negative",
        "creatinine-nan",
        "creatinine-inf",
        "weight-0",
        "weight-negative",
        "weight-nan",
        "age-negative",
        "age-140",
    ],
)
def test_cockcroft_gault_rejected_when_input_out_of_range(
    age: int, weight: float, creatinine: float, rule: str
) -> None:
    with pytest.raises(BadInput) as error:
        cockcroft_gault(age, weight, creatinine, F)

    assert error.value.rule == rule


# ---------- CKD-EPI 2021 ----------


@pytest.mark.parametrize(
    ("creatinine", "age", "sex", "expected"),
    [
        (1.0, 50, F, 68.6),
        (1.0, 50, M, 91.7),
        (2.0, 65, M, 36.4),
    ],
    ids=["female-50y", "male-50y", "male-65y-scr-2"],
)
def test_ckd_epi_2021_matches_published_vectors_when_given_rulebook_inputs(
    creatinine: float, age: int, sex: Sex, expected: float
) -> None:
    assert ckd_epi_2021(creatinine, age, sex) == pytest.approx(expected, abs=0.05)


# Hand-derived: at SCr = κ both ratio terms are 1, so eGFR = 142 × 0.9938^age (× 1.012 if F);
# 0.9938^40 = e^(40 × ln 0.9938) = 0.77974. Below κ only the α term acts (ratio 0.5:
# 0.5^-0.241 = 1.18182, 0.5^-0.302 = 1.23285); above κ only the −1.200 term (2^-1.2 = 0.435275).
@pytest.mark.parametrize(
    ("creatinine", "age", "sex", "expected"),
    [
        (0.7, 40, F, 112.05),  # 142 × 0.77974 × 1.012
        (0.9, 40, M, 110.72),  # 142 × 0.77974
        (0.35, 0, F, 169.83),  # 142 × 1.18182 × 1.012
        (0.45, 0, M, 175.06),  # 142 × 1.23285
        (1.4, 0, F, 62.55),  # 142 × 0.435275 × 1.012
        (1.8, 0, M, 61.81),  # 142 × 0.435275
    ],
    ids=[
        "female-at-kappa",
        "male-at-kappa",
        "female-below-kappa",
        "male-below-kappa",
        "female-above-kappa",
        "male-above-kappa",
    ],
)
def test_ckd_epi_2021_uses_the_exponent_of_its_side_of_kappa_when_scr_near_kappa(
    creatinine: float, age: int, sex: Sex, expected: float
) -> None:
    assert ckd_epi_2021(creatinine, age, sex) == pytest.approx(expected, abs=0.01)


@pytest.mark.parametrize(("sex", "kappa"), [(F, 0.7), (M, 0.9)])
def test_ckd_epi_2021_is_continuous_when_scr_crosses_kappa(sex: Sex, kappa: float) -> None:
    at_kappa = ckd_epi_2021(kappa, 45, sex)

    assert ckd_epi_2021(kappa - 1e-9, 45, sex) == pytest.approx(at_kappa, rel=1e-8)
    assert ckd_epi_2021(kappa + 1e-9, 45, sex) == pytest.approx(at_kappa, rel=1e-8)
    assert ckd_epi_2021(kappa - 0.01, 45, sex) > at_kappa > ckd_epi_2021(kappa + 0.01, 45, sex)


@given(creatinines, creatinines, ages, st.sampled_from([F, M]))
def test_ckd_epi_2021_never_rises_when_creatinine_rises(
    first: float, second: float, age: int, sex: Sex
) -> None:
    low, high = sorted((first, second))

    assert ckd_epi_2021(high, age, sex) <= ckd_epi_2021(low, age, sex)


@given(creatinines, ages, st.sampled_from([F, M]))
def test_ckd_epi_2021_falls_by_0_9938_when_one_year_older(
    creatinine: float, age: int, sex: Sex
) -> None:
    younger = ckd_epi_2021(creatinine, age, sex)

    assert ckd_epi_2021(creatinine, age + 1, sex) == pytest.approx(younger * 0.9938)


@pytest.mark.parametrize(
    ("creatinine", "age", "rule"),
    [
        (0.0, 50, "CREATININE_VALUE"),
        (-0.5, 50, "CREATININE_VALUE"),
        (math.nan, 50, "CREATININE_VALUE"),
        (math.inf, 50, "CREATININE_VALUE"),
        (1.0, -1, "AGE_VALUE"),
    ],
    ids=["creatinine-0", "creatinine-negative", "creatinine-nan", "creatinine-inf", "age-negative"],
)
def test_ckd_epi_2021_rejected_when_input_out_of_range(
    creatinine: float, age: int, rule: str
) -> None:
    with pytest.raises(BadInput) as error:
        ckd_epi_2021(creatinine, age, M)

    assert error.value.rule == rule
