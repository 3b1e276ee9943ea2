"""Screening eligibility: each registry criterion, its boundaries and the decision (rules §9)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import BadInput
from domain.rules.eligibility import (
    CRITERION_CODES,
    CriterionResult,
    EligibilityResult,
    Labs,
    ScreeningDetails,
    age_on,
    evaluate_eligibility,
)
from domain.vocabulary import BilagDomain, BilagGrade, Sex
from domain.vocabulary import EularAcrCriterion as C
from domain.vocabulary import SledaiDescriptor as D

SCREENED_ON = date(2026, 3, 10)
DAY = timedelta(days=1)


def bilag(**grades: BilagGrade) -> dict[BilagDomain, BilagGrade]:
    return {domain: grades.get(domain.value, BilagGrade.D) for domain in BilagDomain}


# NJ01-007: a 35-year-old woman of childbearing potential who meets every criterion.
# CrCl (Cockcroft-Gault) = 105 × 60 / (72 × 0.8) × 0.85 = 92.97 mL/min.
NJ01_007 = ScreeningDetails(
    screened_on=SCREENED_ON,
    labs=Labs(
        wbc=4.5,
        anc=2.1,
        hemoglobin=110,
        platelets=180,
        alt=25,
        alt_uln=40,
        ast=30,
        ast_uln=40,
        bilirubin=0.8,
        bilirubin_uln=1.2,
        creatinine_mg_dl=0.8,
        weight_kg=60,
        inr=1.0,
        inr_uln=1.2,
        pt=12,
        pt_uln=13.5,
        lvef=62,
        hcg_negative_on=date(2026, 3, 8),
        csf_within_2_weeks=False,
        gilbert_syndrome=False,
    ),
    sledai=frozenset({D.ARTHRITIS, D.RASH, D.LOW_COMPLEMENT, D.INCREASED_DNA_BINDING}),  # 10
    bilag=bilag(MUSCULOSKELETAL=BilagGrade.A, MUCOCUTANEOUS=BilagGrade.B),
    eular_acr_criteria=frozenset(  # 6 + 6 + 4 + 6 = 22
        {
            C.ANA_POSITIVE,
            C.JOINT_INVOLVEMENT,
            C.ACUTE_CUTANEOUS_LUPUS,
            C.LOW_C3_AND_LOW_C4,
            C.ANTI_DSDNA_OR_ANTI_SM,
        }
    ),
    refractory=True,
    childbearing_potential=True,
    lactating=False,
    contraception_agreed=True,
    exclusions=frozenset(),
)

RULEBOOK_CODES = [
    "INC1_EULAR_ACR",
    "INC2_SLEDAI",
    "INC3_BILAG",
    "INC4_REFRACTORY",
    "INC5_AGE",
    "INC6_WBC",
    "INC6_ANC",
    "INC6_HEMOGLOBIN",
    "INC6_ALT",
    "INC6_AST",
    "INC6_BILIRUBIN",
    "INC6_CRCL",
    "INC6_INR",
    "INC6_PT",
    "INC6_LVEF",
    "INC7_CONTRACEPTION",
    "INC7_HCG",
    "INC7_NOT_LACTATING",
    "INC8_CONSENT",
    *(f"EXC{n}" for n in range(1, 15)),
]


@dataclass(frozen=True)
class Candidate:
    """NJ01-007's screening and what eligibility reads of her consent."""

    screening: ScreeningDetails = NJ01_007
    date_of_birth: date = date(1990, 5, 15)
    sex: Sex = Sex.FEMALE
    consented: bool = True


PERSON = ("date_of_birth", "sex", "consented")


def screening(**changes: Any) -> Candidate:
    """NJ01-007 with these changes, of the screening or of her date of birth, sex, consent."""
    person = {name: changes.pop(name) for name in PERSON if name in changes}
    return Candidate(replace(NJ01_007, **changes), **person)


def with_labs(**changes: Any) -> Candidate:
    return screening(labs=replace(NJ01_007.labs, **changes))


def evaluate(candidate: Candidate | ScreeningDetails) -> EligibilityResult:
    if isinstance(candidate, ScreeningDetails):
        candidate = Candidate(candidate)
    return evaluate_eligibility(
        candidate.screening,
        date_of_birth=candidate.date_of_birth,
        sex=candidate.sex,
        consented=candidate.consented,
    )


def criterion(result: EligibilityResult, code: str) -> CriterionResult:
    (found,) = [c for c in result.criteria if c.code == code]
    return found


def failures(result: EligibilityResult) -> set[str]:
    """Codes that stop eligibility: an inclusion not met, or an exclusion that applies."""
    return {
        c.code
        for c in result.criteria
        if (c.met is not True if c.code.startswith("INC") else c.met is not False)
    }


# ---------- the whole decision ----------


def test_evaluate_eligibility_eligible_when_every_criterion_passes() -> None:
    result = evaluate(NJ01_007)

    assert result.eligible is True
    assert failures(result) == set()
    assert result.sledai_2k == 10
    assert result.eular_acr_score == 22
    assert result.creatinine_clearance == pytest.approx(92.97, abs=0.005)
    assert result.rules_version == "2026.1"
    assert result.data_queries == ()


def test_criteria_follow_the_rulebook_order_when_evaluated() -> None:
    result = evaluate(NJ01_007)

    assert list(CRITERION_CODES) == RULEBOOK_CODES
    assert [c.code for c in result.criteria] == RULEBOOK_CODES


SINGLE_FAILURES = [
    ("INC1_EULAR_ACR", screening(eular_acr_criteria=frozenset({C.ANA_POSITIVE, C.PROTEINURIA}))),
    ("INC2_SLEDAI", screening(sledai=frozenset({D.ARTHRITIS, D.RASH}))),
    ("INC3_BILAG", screening(bilag=bilag(MUCOCUTANEOUS=BilagGrade.B))),
    ("INC4_REFRACTORY", screening(refractory=False)),
    ("INC5_AGE", screening(date_of_birth=date(1960, 3, 10))),
    ("INC6_WBC", with_labs(wbc=2.99)),
    ("INC6_ANC", with_labs(anc=0.99)),
    ("INC6_HEMOGLOBIN", with_labs(hemoglobin=59.9)),
    ("INC6_ALT", with_labs(alt=120.1)),
    ("INC6_AST", with_labs(ast=120.1)),
    ("INC6_BILIRUBIN", with_labs(bilirubin=1.81)),
    ("INC6_CRCL", with_labs(creatinine_mg_dl=1.4)),  # 105 × 60 / (72 × 1.4) × 0.85 = 53.1
    ("INC6_INR", with_labs(inr=1.81)),
    ("INC6_PT", with_labs(pt=20.3)),  # 1.5 × 13.5 = 20.25
    ("INC6_LVEF", with_labs(lvef=54.9)),
    ("INC7_CONTRACEPTION", screening(contraception_agreed=False)),
    ("INC7_HCG", with_labs(hcg_negative_on=SCREENED_ON - 8 * DAY)),
    ("INC7_NOT_LACTATING", screening(lactating=True)),
    ("INC8_CONSENT", screening(consented=False)),
    *((f"EXC{n}", screening(exclusions=frozenset({n}))) for n in range(1, 15)),
]


@pytest.mark.parametrize(
    ("code", "data"), SINGLE_FAILURES, ids=[code for code, _ in SINGLE_FAILURES]
)
def test_evaluate_eligibility_not_eligible_when_one_criterion_fails(
    code: str, data: Candidate
) -> None:
    result = evaluate(data)

    assert result.eligible is False
    assert failures(result) == {code}
    assert criterion(result, code).met is (code.startswith("EXC"))


MISSING = [
    ("INC6_WBC", "wbc", "WBC"),
    ("INC6_ANC", "anc", "ANC"),
    ("INC6_ANC", "csf_within_2_weeks", "CSF"),
    ("INC6_HEMOGLOBIN", "hemoglobin", "Hb"),
    ("INC6_ALT", "alt", "ALT"),
    ("INC6_ALT", "alt_uln", "ALT ULN"),
    ("INC6_AST", "ast", "AST"),
    ("INC6_AST", "ast_uln", "AST ULN"),
    ("INC6_BILIRUBIN", "bilirubin", "bilirubin"),
    ("INC6_BILIRUBIN", "bilirubin_uln", "bilirubin ULN"),
    ("INC6_CRCL", "creatinine_mg_dl", "creatinine"),
    ("INC6_CRCL", "weight_kg", "weight"),
    ("INC6_INR", "inr", "INR"),
    ("INC6_INR", "inr_uln", "INR ULN"),
    ("INC6_PT", "pt", "PT"),
    ("INC6_PT", "pt_uln", "PT ULN"),
    ("INC6_LVEF", "lvef", "LVEF"),
    ("INC7_HCG", "hcg_negative_on", "hCG"),
]


@pytest.mark.parametrize(("code", "field", "named"), MISSING, ids=[f for _, f, _ in MISSING])
def test_evaluate_eligibility_not_eligible_with_met_none_when_a_needed_value_is_missing(
    code: str, field: str, named: str
) -> None:
    result = evaluate(with_labs(**{field: None}))

    assert result.eligible is False
    assert failures(result) == {code}
    assert criterion(result, code).met is None
    assert named in criterion(result, code).detail
    assert "missing" in criterion(result, code).detail


def test_creatinine_clearance_is_none_when_creatinine_missing() -> None:
    assert evaluate(with_labs(creatinine_mg_dl=None)).creatinine_clearance is None


def test_gilbert_and_platelets_not_needed_when_bilirubin_normal_and_platelets_missing() -> None:
    result = evaluate(with_labs(gilbert_syndrome=None, platelets=None))

    assert result.eligible is True


# ---------- age ----------


@pytest.mark.parametrize(
    ("date_of_birth", "age", "met"),
    [
        (date(2008, 3, 10), 18, True),  # 18th birthday on the screening date
        (date(2008, 3, 11), 17, False),  # 18th birthday the day after screening
        (date(1961, 3, 10), 65, True),
        (date(1960, 3, 11), 65, True),  # 66th birthday the day after screening
        (date(1960, 3, 10), 66, False),  # 66th birthday on the screening date
        (date(1990, 5, 15), 35, True),
    ],
    ids=["18", "17-birthday-tomorrow", "65", "65-birthday-tomorrow", "66", "35"],
)
def test_age_criterion_met_only_when_age_18_to_65_at_screening(
    date_of_birth: date, age: int, met: bool
) -> None:
    result = evaluate(screening(date_of_birth=date_of_birth))

    assert criterion(result, "INC5_AGE").met is met
    assert f"age {age}" in criterion(result, "INC5_AGE").detail
    assert result.eligible is met


@pytest.mark.parametrize(
    ("date_of_birth", "on", "expected"),
    [
        (date(1990, 5, 15), date(1990, 5, 15), 0),
        (date(1990, 5, 15), date(2026, 5, 14), 35),
        (date(1990, 5, 15), date(2026, 5, 15), 36),
        (date(1990, 12, 31), date(2026, 1, 1), 35),
        (date(2008, 2, 29), date(2026, 2, 28), 17),  # decision: a 29 February birthday
        (date(2008, 2, 29), date(2026, 3, 1), 18),  # falls on 1 March in common years
        (date(2008, 2, 29), date(2028, 2, 29), 20),
        (date(2008, 2, 29), date(2028, 2, 28), 19),
    ],
)
def test_age_on_counts_completed_years_when_given_dates(
    date_of_birth: date, on: date, expected: int
) -> None:
    assert age_on(date_of_birth, on) == expected


def test_age_on_rejected_when_date_before_birth() -> None:
    with pytest.raises(BadInput) as error:
        age_on(date(1990, 5, 15), date(1990, 5, 14))

    assert error.value.rule == "DATE_OF_BIRTH"


@given(st.dates(max_value=date(2100, 1, 1)), st.integers(min_value=0, max_value=40_000))
def test_age_on_rises_by_at_most_one_when_a_day_passes(born: date, days: int) -> None:
    on = born + timedelta(days=days)

    assert age_on(born, born) == 0
    assert age_on(born, on) <= age_on(born, on + DAY) <= age_on(born, on) + 1


# ---------- disease activity and classification ----------


@pytest.mark.parametrize(
    ("descriptors", "score", "met"),
    [
        ({D.ARTHRITIS, D.RASH}, 6, False),
        ({D.ARTHRITIS, D.RASH, D.FEVER}, 7, True),
        ({D.SEIZURE}, 8, True),
        (set(), 0, False),
    ],
    ids=["6", "7", "8", "0"],
)
def test_sledai_criterion_met_only_when_sledai_2k_above_6(
    descriptors: set[D], score: int, met: bool
) -> None:
    result = evaluate(screening(sledai=frozenset(descriptors)))

    assert result.sledai_2k == score
    assert criterion(result, "INC2_SLEDAI").met is met


@pytest.mark.parametrize(
    ("grades", "met"),
    [
        ({"RENAL": BilagGrade.A}, True),
        ({"RENAL": BilagGrade.B, "HAEMATOLOGICAL": BilagGrade.B}, True),
        ({"RENAL": BilagGrade.A, "HAEMATOLOGICAL": BilagGrade.B}, True),
        ({"RENAL": BilagGrade.B}, False),
        (
            {"RENAL": BilagGrade.B, "HAEMATOLOGICAL": BilagGrade.C, "OPHTHALMIC": BilagGrade.C},
            False,
        ),
        ({}, False),
    ],
    ids=["one-A", "two-B", "A-and-B", "one-B", "one-B-two-C", "all-D"],
)
def test_bilag_criterion_met_only_when_one_a_or_two_b(
    grades: dict[str, BilagGrade], met: bool
) -> None:
    result = evaluate(screening(bilag=bilag(**grades)))

    assert criterion(result, "INC3_BILAG").met is met


@pytest.mark.parametrize(
    ("criteria", "score", "met"),
    [
        ({C.ANA_POSITIVE, C.JOINT_INVOLVEMENT, C.PROTEINURIA}, 10, True),
        ({C.ANA_POSITIVE, C.JOINT_INVOLVEMENT, C.LEUKOPENIA}, 9, False),
        ({C.JOINT_INVOLVEMENT, C.PROTEINURIA, C.SEIZURE}, 15, False),
        ({C.ANA_POSITIVE, C.ANTI_DSDNA_OR_ANTI_SM, C.LOW_C3_AND_LOW_C4}, 10, False),
    ],
    ids=["10", "9", "no-entry", "immunological-only"],
)
def test_eular_acr_criterion_met_only_when_classified(
    criteria: set[C], score: int, met: bool
) -> None:
    result = evaluate(screening(eular_acr_criteria=frozenset(criteria)))

    assert result.eular_acr_score == score
    assert criterion(result, "INC1_EULAR_ACR").met is met
    assert f"score {score}" in criterion(result, "INC1_EULAR_ACR").detail


# ---------- organ function ----------

LAB_CASES: list[tuple[str, dict[str, Any], bool | None]] = [
    ("INC6_WBC", {"wbc": 3.0}, True),
    ("INC6_WBC", {"wbc": 2.99}, False),
    ("INC6_ANC", {"anc": 1.0}, True),
    ("INC6_ANC", {"anc": 0.99}, False),
    ("INC6_ANC", {"anc": 1.0, "csf_within_2_weeks": True}, False),
    ("INC6_ANC", {"anc": None, "csf_within_2_weeks": True}, False),
    ("INC6_ANC", {"anc": 0.5, "csf_within_2_weeks": None}, False),
    ("INC6_ANC", {"anc": 1.0, "csf_within_2_weeks": None}, None),
    ("INC6_HEMOGLOBIN", {"hemoglobin": 60}, True),
    ("INC6_HEMOGLOBIN", {"hemoglobin": 59.9}, False),
    ("INC6_ALT", {"alt": 120, "alt_uln": 40}, True),
    ("INC6_ALT", {"alt": 120.1, "alt_uln": 40}, False),
    ("INC6_ALT", {"alt": 3.6, "alt_uln": 1.2}, True),  # 3 × 1.2 is 3.5999… in binary floats
    ("INC6_AST", {"ast": 120, "ast_uln": 40}, True),
    ("INC6_AST", {"ast": 120.1, "ast_uln": 40}, False),
    ("INC6_BILIRUBIN", {"bilirubin": 1.8}, True),  # 1.5 × ULN 1.2, without Gilbert's
    ("INC6_BILIRUBIN", {"bilirubin": 1.81}, False),
    ("INC6_BILIRUBIN", {"bilirubin": 2.4}, False),  # 2 × ULN, without Gilbert's
    ("INC6_BILIRUBIN", {"bilirubin": 2.4, "gilbert_syndrome": True}, True),
    ("INC6_BILIRUBIN", {"bilirubin": 2.4, "gilbert_syndrome": None}, None),
    ("INC6_BILIRUBIN", {"bilirubin": 3.6, "gilbert_syndrome": True}, True),  # 3 × ULN
    ("INC6_BILIRUBIN", {"bilirubin": 3.61, "gilbert_syndrome": True}, False),
    ("INC6_BILIRUBIN", {"bilirubin": 3.61, "gilbert_syndrome": None}, False),
    ("INC6_BILIRUBIN", {"bilirubin": 1.8, "gilbert_syndrome": None}, True),
    ("INC6_INR", {"inr": 1.8}, True),  # 1.5 × ULN 1.2
    ("INC6_INR", {"inr": 1.81}, False),
    ("INC6_PT", {"pt": 20.25}, True),  # 1.5 × ULN 13.5
    ("INC6_PT", {"pt": 20.26}, False),
    ("INC6_LVEF", {"lvef": 55}, True),
    ("INC6_LVEF", {"lvef": 54.9}, False),
]


@pytest.mark.parametrize(
    ("code", "labs", "met"),
    LAB_CASES,
    ids=[f"{code}-{'-'.join(f'{k}={v}' for k, v in labs.items())}" for code, labs, _ in LAB_CASES],
)
def test_organ_function_criterion_met_when_at_threshold_and_not_beyond(
    code: str, labs: dict[str, Any], met: bool | None
) -> None:
    result = evaluate(with_labs(**labs))

    assert criterion(result, code).met is met
    assert result.eligible is (met is True)


def test_detail_names_the_values_when_a_lab_criterion_is_evaluated() -> None:
    result = evaluate(with_labs(wbc=3.2, alt=130, anc=0.5))

    assert criterion(result, "INC6_WBC").detail == "WBC 3.2 x10^9/L >= 3"
    assert criterion(result, "INC6_ALT").detail == "ALT 130 > 3 x ULN 40"
    assert criterion(result, "INC6_ANC").detail == "ANC 0.5 x10^9/L < 1"


# Cockcroft-Gault at the age on the screening date (2026-03-10), by hand:
CRCL_CASES = [
    # male, 60: 80 × 54 / 72 = 60 exactly
    ("male-exactly-60", Sex.MALE, date(1966, 3, 10), (54, 1.0), 60, True),
    # male, 60: 80 × 53.9 / 72 = 59.8889
    ("male-weight-below", Sex.MALE, date(1966, 3, 10), (53.9, 1.0), 59.8889, False),
    # male, 60: 80 × 54 / 72.72 = 59.4059
    ("male-creatinine-above", Sex.MALE, date(1966, 3, 10), (54, 1.01), 59.4059, False),
    # male, 59 (60th birthday the day after screening): 81 × 54 / 72 = 60.75
    ("male-59-birthday-tomorrow", Sex.MALE, date(1966, 3, 11), (54, 1.0), 60.75, True),
    # female, 60: 80 × 54 / (72 × 0.85) × 0.85 = 60 exactly
    ("female-exactly-60", Sex.FEMALE, date(1966, 3, 10), (54, 0.85), 60, True),
    # female, 40: 100 × 95.04 / (72 × 1.87) × 0.85 = 60 exactly (59.99999999999999 in floats)
    ("female-exactly-60-float-noise", Sex.FEMALE, date(1986, 3, 10), (95.04, 1.87), 60, True),
]


@pytest.mark.parametrize(
    ("sex", "born", "weight_and_creatinine", "clearance", "met"),
    [case[1:] for case in CRCL_CASES],
    ids=[case[0] for case in CRCL_CASES],
)
def test_crcl_criterion_met_when_cockcroft_gault_at_least_60(
    sex: Sex, born: date, weight_and_creatinine: tuple[float, float], clearance: float, met: bool
) -> None:
    weight, creatinine = weight_and_creatinine
    labs = replace(NJ01_007.labs, weight_kg=weight, creatinine_mg_dl=creatinine)
    data = screening(sex=sex, date_of_birth=born, labs=labs)

    result = evaluate(data)

    assert result.creatinine_clearance == pytest.approx(clearance, abs=0.0001)
    assert criterion(result, "INC6_CRCL").met is met
    assert result.eligible is met


# ---------- contraception, hCG and lactation ----------


@pytest.mark.parametrize(
    ("tested_on", "met"),
    [
        (SCREENED_ON - 7 * DAY, True),
        (SCREENED_ON - 8 * DAY, False),
        (SCREENED_ON - DAY, True),
        (SCREENED_ON, True),
        (SCREENED_ON + DAY, False),
        (None, None),
    ],
    ids=["minus-7", "minus-8", "minus-1", "screening-day", "after-screening", "missing"],
)
def test_hcg_criterion_met_when_negative_within_7_days_before_screening(
    tested_on: date | None, met: bool | None
) -> None:
    result = evaluate(with_labs(hcg_negative_on=tested_on))

    assert criterion(result, "INC7_HCG").met is met
    assert result.eligible is (met is True)


@pytest.mark.parametrize(
    ("sex", "childbearing_potential"),
    [(Sex.MALE, True), (Sex.MALE, False), (Sex.FEMALE, False)],
    ids=["male-flagged-childbearing", "male", "female-without-potential"],
)
def test_hcg_criterion_met_as_not_applicable_when_no_childbearing_potential_or_male(
    sex: Sex, childbearing_potential: bool
) -> None:
    labs = replace(NJ01_007.labs, hcg_negative_on=None)
    data = screening(sex=sex, childbearing_potential=childbearing_potential, labs=labs)

    result = evaluate(data)

    assert criterion(result, "INC7_HCG").met is True
    assert "not applicable" in criterion(result, "INC7_HCG").detail
    assert result.eligible is True


@pytest.mark.parametrize(
    ("sex", "childbearing_potential", "lactating", "met"),
    [
        (Sex.FEMALE, True, False, True),
        (Sex.FEMALE, True, True, False),
        (Sex.FEMALE, False, True, False),
        (Sex.FEMALE, False, False, True),
        (Sex.MALE, False, True, True),
        (Sex.MALE, False, False, True),
    ],
    ids=[
        "female-not-lactating",
        "female-lactating",
        "female-without-potential-lactating",
        "female-without-potential",
        "male-flagged-lactating",
        "male",
    ],
)
def test_not_lactating_criterion_applies_to_every_female_when_evaluated(
    sex: Sex, childbearing_potential: bool, lactating: bool, met: bool
) -> None:
    data = screening(sex=sex, childbearing_potential=childbearing_potential, lactating=lactating)

    result = evaluate(data)

    assert criterion(result, "INC7_NOT_LACTATING").met is met


def test_contraception_criterion_not_met_when_a_man_does_not_agree() -> None:
    result = evaluate(screening(sex=Sex.MALE, contraception_agreed=False))

    assert criterion(result, "INC7_CONTRACEPTION").met is False
    assert result.eligible is False


# ---------- exclusions ----------


def test_exclusions_met_only_for_the_recorded_numbers_when_several_apply() -> None:
    result = evaluate(screening(exclusions=frozenset({1, 14})))

    assert result.eligible is False
    assert {c.code for c in result.criteria if c.code.startswith("EXC") and c.met} == {
        "EXC1",
        "EXC14",
    }
    assert criterion(result, "EXC2").met is False


@pytest.mark.parametrize("number", [0, 15, -1, 100])
def test_screening_data_rejected_when_exclusion_number_outside_1_to_14(number: int) -> None:
    with pytest.raises(BadInput) as error:
        screening(exclusions=frozenset({3, number}))

    assert error.value.rule == "EXCLUSION_NUMBER"
    assert str(number) in error.value.message


# ---------- data queries ----------


@pytest.mark.parametrize(
    ("descriptors", "labs", "codes"),
    [
        ({D.LEUKOPENIA}, {"wbc": 4.5}, ["LEUKOPENIA_LAB_MISMATCH"]),
        (set(), {"wbc": 2.5}, ["LEUKOPENIA_LAB_MISMATCH"]),
        (set(), {"wbc": 3.0}, []),
        ({D.LEUKOPENIA}, {"wbc": 2.99}, []),
        ({D.THROMBOCYTOPENIA}, {"platelets": 180}, ["THROMBOCYTOPENIA_LAB_MISMATCH"]),
        (set(), {"platelets": 99}, ["THROMBOCYTOPENIA_LAB_MISMATCH"]),
        (set(), {"platelets": 100}, []),
        ({D.THROMBOCYTOPENIA}, {"platelets": None}, []),
        (
            {D.LEUKOPENIA},
            {"wbc": 4.5, "platelets": 50},
            ["LEUKOPENIA_LAB_MISMATCH", "THROMBOCYTOPENIA_LAB_MISMATCH"],
        ),
    ],
    ids=[
        "leukopenia-ticked-wbc-normal",
        "leukopenia-absent-wbc-low",
        "wbc-exactly-3",
        "leukopenia-ticked-wbc-low",
        "thrombocytopenia-ticked-platelets-normal",
        "thrombocytopenia-absent-platelets-99",
        "platelets-exactly-100",
        "platelets-missing",
        "both",
    ],
)
def test_data_queries_raised_when_screening_descriptor_contradicts_its_lab(
    descriptors: set[D], labs: dict[str, Any], codes: list[str]
) -> None:
    data = screening(labs=replace(NJ01_007.labs, **labs), sledai=NJ01_007.sledai | descriptors)

    result = evaluate(data)

    assert [q.code for q in result.data_queries] == codes


def test_data_query_leaves_score_and_decision_unchanged_when_raised() -> None:
    data = screening(sledai=NJ01_007.sledai | {D.LEUKOPENIA})

    result = evaluate(data)

    assert [q.code for q in result.data_queries] == ["LEUKOPENIA_LAB_MISMATCH"]
    assert result.sledai_2k == 11
    assert result.eligible is True


# ---------- input validation ----------


@pytest.mark.parametrize(
    ("labs", "rule"),
    [
        ({"wbc": -0.1}, "LAB_VALUE"),
        ({"hemoglobin": math.nan}, "LAB_VALUE"),
        ({"platelets": math.inf}, "LAB_VALUE"),
        ({"alt": -1}, "LAB_VALUE"),
        ({"creatinine_mg_dl": 0.0}, "LAB_VALUE"),
        ({"weight_kg": 0.0}, "LAB_VALUE"),
        ({"bilirubin_uln": 0.0}, "LAB_VALUE"),
        ({"pt_uln": -13.5}, "LAB_VALUE"),
        ({"lvef": 100.1}, "LVEF_RANGE"),
        ({"lvef": -1}, "LAB_VALUE"),
    ],
    ids=str,
)
def test_labs_rejected_when_a_value_is_out_of_range(labs: dict[str, Any], rule: str) -> None:
    with pytest.raises(BadInput) as error:
        Labs(**labs)

    assert error.value.rule == rule


@pytest.mark.parametrize(
    "labs",
    [{"wbc": 0.0}, {"anc": 0}, {"lvef": 0}, {"lvef": 100}, {}],
    ids=["wbc-0", "anc-0", "lvef-0", "lvef-100", "nothing-recorded"],
)
def test_labs_accepted_when_values_within_range(labs: dict[str, Any]) -> None:
    accepted = Labs(**labs)

    assert all(getattr(accepted, name) == value for name, value in labs.items())


def test_screening_data_rejected_when_a_bilag_domain_is_missing() -> None:
    grades = bilag()
    del grades[BilagDomain.RENAL]

    with pytest.raises(BadInput) as error:
        screening(bilag=grades)

    assert error.value.rule == "BILAG_DOMAINS"


def test_screening_data_rejected_when_screened_before_birth() -> None:
    with pytest.raises(BadInput) as error:
        evaluate(screening(date_of_birth=SCREENED_ON + DAY))

    assert error.value.rule == "DATE_OF_BIRTH"
