"""PGA in tenths, BILAG grade completeness and the validation of a time point's values
(clinical-rules.md §3, General conventions)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import BadInput
from domain.rules.assessment import bilag_grades, pga_tenths
from domain.vocabulary import BilagDomain, BilagGrade, SledaiDescriptor
from tests.unit.rules.visit_records import record

ALL_E = {domain: BilagGrade.E for domain in BilagDomain}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0),
        (0.0, 0),
        (0.1, 1),
        (0.3, 3),  # the float that 0.1 + 0.2 misses; the reason PGA is stored in tenths
        (0.5, 5),
        (1.0, 10),
        (2.9, 29),
        (3.0, 30),
        (3, 30),
        (-0.0, 0),
        (Decimal("0"), 0),
        (Decimal("0.3"), 3),
        (Decimal("2.90"), 29),
        (Decimal("3.000"), 30),
        ("0.1", 1),
        ("1.5", 15),
        ("3", 30),
        ("3.0", 30),
    ],
)
def test_pga_tenths_accepted_when_multiple_of_a_tenth_within_0_to_3(
    value: float | int | str | Decimal, expected: int
) -> None:
    assert pga_tenths(value) == expected


@pytest.mark.parametrize("tenths", range(31))
def test_pga_tenths_round_trips_when_every_tenth_from_0_to_3(tenths: int) -> None:
    as_float = tenths / 10
    as_string = f"{tenths // 10}.{tenths % 10}"

    assert pga_tenths(as_float) == tenths
    assert pga_tenths(as_string) == tenths
    assert pga_tenths(Decimal(as_string)) == tenths


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        (3.5, "PGA_RANGE"),
        (3.1, "PGA_RANGE"),
        (-0.1, "PGA_RANGE"),
        (4, "PGA_RANGE"),
        (-1, "PGA_RANGE"),
        (Decimal("3.01"), "PGA_RANGE"),  # outside 0–3 is reported before the step
        (Decimal("-0.05"), "PGA_RANGE"),
        ("1e999999", "PGA_RANGE"),
        (0.25, "PGA_STEP"),
        (0.05, "PGA_STEP"),
        (2.95, "PGA_STEP"),
        (0.01, "PGA_STEP"),
        (0.1 + 0.2, "PGA_STEP"),  # 0.30000000000000004 as sent is not a multiple of 0.1
        (Decimal("1.25"), "PGA_STEP"),
        ("0.15", "PGA_STEP"),
        ("0.1000000000000000000000000000001", "PGA_STEP"),  # beyond Decimal's 28 digits
        (float("nan"), "PGA_RANGE"),
        (float("inf"), "PGA_RANGE"),
        (float("-inf"), "PGA_RANGE"),
        (Decimal("NaN"), "PGA_RANGE"),
        (Decimal("sNaN"), "PGA_RANGE"),
        ("abc", "PGA_RANGE"),
        ("", "PGA_RANGE"),
    ],
)
def test_pga_tenths_rejected_naming_rule_and_value_when_outside_range_or_step(
    value: float | int | str | Decimal, rule: str
) -> None:
    with pytest.raises(BadInput) as error:
        pga_tenths(value)

    assert error.value.rule == rule
    assert str(value) in error.value.message


@given(st.decimals(min_value=0, max_value=3, places=2))
def test_pga_tenths_accepts_hundredths_only_when_hundredths_digit_is_zero(value: Decimal) -> None:
    hundredths = int(value * 100)

    if hundredths % 10 == 0:
        assert pga_tenths(value) == hundredths // 10
    else:
        with pytest.raises(BadInput) as error:
            pga_tenths(value)
        assert error.value.rule == "PGA_STEP"


def test_bilag_grades_returns_every_domain_when_all_nine_graded_once() -> None:
    pairs = [(domain, BilagGrade.C) for domain in BilagDomain]

    grades = bilag_grades(pairs)

    assert grades == {domain: BilagGrade.C for domain in BilagDomain}


@pytest.mark.parametrize("missing", list(BilagDomain))
def test_bilag_grades_rejected_naming_domain_when_one_domain_missing(missing: BilagDomain) -> None:
    pairs = [(domain, BilagGrade.E) for domain in BilagDomain if domain is not missing]

    with pytest.raises(BadInput) as error:
        bilag_grades(pairs)

    assert error.value.rule == "BILAG_DOMAINS"
    assert missing.value in error.value.message


def test_bilag_grades_rejected_naming_every_domain_when_none_graded() -> None:
    with pytest.raises(BadInput) as error:
        bilag_grades([])

    assert error.value.rule == "BILAG_DOMAINS"
    assert all(domain.value in error.value.message for domain in BilagDomain)


@pytest.mark.parametrize(
    ("first", "second"),
    [(BilagGrade.A, BilagGrade.B), (BilagGrade.E, BilagGrade.E)],
    ids=["different-grades", "same-grade"],
)
def test_bilag_grades_rejected_naming_domain_when_domain_graded_twice(
    first: BilagGrade, second: BilagGrade
) -> None:
    pairs = [(domain, BilagGrade.E) for domain in BilagDomain if domain is not BilagDomain.RENAL]
    pairs += [(BilagDomain.RENAL, first), (BilagDomain.RENAL, second)]

    with pytest.raises(BadInput) as error:
        bilag_grades(pairs)

    assert error.value.rule == "BILAG_DOMAINS"
    assert "RENAL" in error.value.message


def test_assessment_accepted_when_recording_descriptors_and_grades_only() -> None:
    assessment = record(sledai=frozenset({SledaiDescriptor.RASH}), bilag=ALL_E)

    assert assessment.pga_tenths is None
    assert assessment.upcr_g_per_g is None


def test_assessment_cannot_be_changed_when_created() -> None:
    assessment = record(sledai=frozenset(), bilag=ALL_E)

    with pytest.raises(dataclasses.FrozenInstanceError):
        assessment.pga_tenths = 5  # type: ignore[misc]


def test_assessment_rejected_naming_domain_when_bilag_domain_missing() -> None:
    bilag = {
        domain: grade for domain, grade in ALL_E.items() if domain is not BilagDomain.OPHTHALMIC
    }

    with pytest.raises(BadInput) as error:
        record(sledai=frozenset(), bilag=bilag)

    assert error.value.rule == "BILAG_DOMAINS"
    assert "OPHTHALMIC" in error.value.message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("pga_tenths", 0),
        ("pga_tenths", 30),
        ("arthritis_joint_count", 0),
        ("prednisone_mg_per_day", 0.0),
        ("upcr_g_per_g", 0.0),
        ("egfr", 0.0),
    ],
)
def test_assessment_accepted_when_value_on_lower_or_upper_bound(field: str, value: float) -> None:
    assessment = record(sledai=frozenset(), bilag=ALL_E, **{field: value})

    assert getattr(assessment, field) == value


@pytest.mark.parametrize(
    ("field", "value", "rule", "shown"),
    [
        ("pga_tenths", 31, "PGA_RANGE", "3.1"),
        ("pga_tenths", -1, "PGA_RANGE", "-0.1"),
        ("arthritis_joint_count", -1, "ARTHRITIS_JOINT_COUNT", "-1"),
        ("prednisone_mg_per_day", -0.5, "PREDNISONE_DOSE", "-0.5"),
        ("prednisone_mg_per_day", float("nan"), "PREDNISONE_DOSE", "nan"),
        ("upcr_g_per_g", -0.01, "UPCR_VALUE", "-0.01"),
        ("upcr_g_per_g", float("inf"), "UPCR_VALUE", "inf"),
        ("egfr", -1.0, "EGFR_VALUE", "-1.0"),
        ("egfr", float("nan"), "EGFR_VALUE", "nan"),
    ],
)
def test_assessment_rejected_naming_rule_and_value_when_value_out_of_range(
    field: str, value: float, rule: str, shown: str
) -> None:
    with pytest.raises(BadInput) as error:
        record(sledai=frozenset(), bilag=ALL_E, **{field: value})

    assert error.value.rule == rule
    assert shown in error.value.message
