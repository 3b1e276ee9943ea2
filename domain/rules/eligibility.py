"""Screening eligibility: each registry inclusion and exclusion criterion, one by one (rules §9)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from domain.codec import build
from domain.errors import require, within_calendar
from domain.rules import RULES_VERSION
from domain.rules.assessment import DataQuery, VisitScore, bilag_grades, non_negative
from domain.rules.classification import CLASSIFIED_AT, eular_acr_2019
from domain.rules.kidney import cockcroft_gault
from domain.rules.sledai import screening_lab_queries, sledai_2k
from domain.vocabulary import (
    BilagDomain,
    BilagGrade,
    EularAcrCriterion,
    Sex,
    SledaiDescriptor,
    Visit,
)

EXCLUSION_NUMBERS = range(1, 15)
CRITERION_CODES: tuple[str, ...] = (
    *("INC1_EULAR_ACR", "INC2_SLEDAI", "INC3_BILAG", "INC4_REFRACTORY", "INC5_AGE"),
    *("INC6_WBC", "INC6_ANC", "INC6_HEMOGLOBIN", "INC6_ALT", "INC6_AST", "INC6_BILIRUBIN"),
    *("INC6_CRCL", "INC6_INR", "INC6_PT", "INC6_LVEF"),
    *("INC7_CONTRACEPTION", "INC7_HCG", "INC7_NOT_LACTATING", "INC8_CONSENT"),
    *(f"EXC{number}" for number in EXCLUSION_NUMBERS),
)

# Thresholds of §9; inclusive ("≥", "≤", "18–65") except SLEDAI-2K > 6.
AGE_MIN, AGE_MAX = 18, 65
SLEDAI_ABOVE = 6
BILAG_A_MIN, BILAG_B_MIN = 1, 2
WBC_MIN, ANC_MIN, HEMOGLOBIN_MIN, CRCL_MIN, LVEF_MIN = 3.0, 1.0, 60.0, 60.0, 55.0
LVEF_MAX = 100.0
LIVER_ULN_MULTIPLE = Decimal("3")  # ALT and AST
BILIRUBIN_ULN_MULTIPLE, GILBERT_BILIRUBIN_ULN_MULTIPLE = Decimal("1.5"), Decimal("3")
COAGULATION_ULN_MULTIPLE = Decimal("1.5")  # INR and PT
HCG_WINDOW_DAYS = 7
# CrCl is compared after rounding away float noise only, so that inputs giving exactly 60 in
# exact arithmetic (e.g. a female factor of 0.85 cancelling out) are not read as 59.999…
CRCL_COMPARE_DIGITS = 9

POSITIVE_LABS = ("creatinine_mg_dl", "weight_kg")  # and every ULN


def age_on(date_of_birth: date, on: date) -> int:
    """Completed years of age on a date; a 29 February birthday falls on 1 March (rules §9)."""
    require(
        on >= date_of_birth,
        "DATE_OF_BIRTH",
        f"date {on.isoformat()} is before the date of birth {date_of_birth.isoformat()}",
    )
    before_birthday = (on.month, on.day) < (date_of_birth.month, date_of_birth.day)
    return on.year - date_of_birth.year - int(before_birthday)


@dataclass(frozen=True)
class Labs:
    """Screening labs in the contract's units; None = not recorded (a missing value)."""

    wbc: float | None = None
    anc: float | None = None
    hemoglobin: float | None = None
    platelets: float | None = None
    alt: float | None = None
    alt_uln: float | None = None
    ast: float | None = None
    ast_uln: float | None = None
    bilirubin: float | None = None
    bilirubin_uln: float | None = None
    creatinine_mg_dl: float | None = None
    weight_kg: float | None = None
    inr: float | None = None
    inr_uln: float | None = None
    pt: float | None = None
    pt_uln: float | None = None
    lvef: float | None = None
    hcg_negative_on: date | None = None
    csf_within_2_weeks: bool | None = None
    gilbert_syndrome: bool | None = None

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            non_negative(value, "LAB_VALUE", name)
            # Decision: creatinine and weight divide in Cockcroft-Gault, and a ULN of 0 makes
            # every multiple of it meaningless, so these must be positive, not just non-negative.
            positive = name in POSITIVE_LABS or name.endswith("_uln")
            require(not positive or value > 0, "LAB_VALUE", f"{name} {value} must be positive")
        lvef_ok = self.lvef is None or self.lvef <= LVEF_MAX
        require(lvef_ok, "LVEF_RANGE", f"LVEF {self.lvef} % is outside 0–100")


@dataclass(frozen=True)
class ScreeningDetails:
    """A screening as recorded: everything eligibility needs but the participant's own date of
    birth, sex and consent."""

    screened_on: date
    labs: Labs
    sledai: frozenset[SledaiDescriptor]
    bilag: Mapping[BilagDomain, BilagGrade]
    eular_acr_criteria: frozenset[EularAcrCriterion]
    refractory: bool
    childbearing_potential: bool
    lactating: bool
    contraception_agreed: bool
    exclusions: frozenset[int]

    def __post_init__(self) -> None:
        within_calendar(self)
        bilag_grades(self.bilag.items())
        for number in sorted(self.exclusions):
            require(
                number in EXCLUSION_NUMBERS,
                "EXCLUSION_NUMBER",
                f"exclusion {number} is not one of the registry's 1–14",
            )

    def sri_baseline(self) -> VisitScore:
        """The screening as a time point of the rules, the SRI-4 baseline when no BASELINE visit
        is scored (clinical-rules.md §4): its SLEDAI descriptors and BILAG grades only."""
        return build(
            VisitScore,
            visit=Visit.SCREENING,
            visit_date=self.screened_on,
            sledai=self.sledai,
            bilag=self.bilag,
            pga_tenths=None,
            prednisone_mg_per_day=None,
        )


@dataclass(frozen=True)
class CriterionResult:
    """One criterion's answer: met True/False, or None when a value it needs is missing."""

    code: str
    met: bool | None
    detail: str


@dataclass(frozen=True)
class EligibilityResult:
    """Every criterion in CRITERION_CODES order, the decision, and the values derived for it."""

    eligible: bool
    criteria: tuple[CriterionResult, ...]
    sledai_2k: int
    eular_acr_score: int
    creatinine_clearance: float | None
    rules_version: str
    data_queries: tuple[DataQuery, ...]


def _exact(value: float) -> Decimal:
    # The value as entered (shortest repr), so that 1.8 <= 1.5 × 1.2 holds as it does on paper.
    return Decimal(str(value))


def _absent(*labelled: tuple[str, object]) -> str:
    return " and ".join(label for label, value in labelled if value is None) + " missing"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _recorded(code: str, label: str, flag: bool) -> CriterionResult:
    return CriterionResult(code, flag, f"{label} {_yes(flag)}")


def _exclusion(number: int, exclusions: frozenset[int]) -> CriterionResult:
    applies = number in exclusions
    return CriterionResult(
        f"EXC{number}", applies, f"exclusion {number} {'applies' if applies else 'does not apply'}"
    )


def _at_least(
    code: str, name: str, unit: str, value: float | None, least: float
) -> CriterionResult:
    if value is None:
        return CriterionResult(code, None, f"{name} missing")
    met = value >= least
    return CriterionResult(code, met, f"{name} {value} {unit} {'>=' if met else '<'} {least:g}")


def _within_uln(
    code: str, name: str, value: float | None, uln: float | None, multiple: Decimal
) -> CriterionResult:
    if value is None or uln is None:
        return CriterionResult(code, None, _absent((name, value), (f"{name} ULN", uln)))
    met = _exact(value) <= multiple * _exact(uln)
    relation = "<=" if met else ">"
    return CriterionResult(code, met, f"{name} {value} {relation} {multiple} x ULN {uln}")


def _anc(labs: Labs) -> CriterionResult:
    code, csf = "INC6_ANC", labs.csf_within_2_weeks
    # CSF given within 2 weeks fails the criterion whatever the count; a count below 1 fails it
    # whatever the CSF answer. Decision: with the count >= 1 and the CSF answer not recorded
    # (None), the criterion is missing.
    count = _at_least(code, "ANC", "x10^9/L", labs.anc, ANC_MIN)
    if csf is True:
        return CriterionResult(code, False, f"{count.detail}; CSF given within 2 weeks")
    if count.met is not True:
        return count
    if csf is None:
        return CriterionResult(code, None, f"{count.detail}; CSF within 2 weeks missing")
    return CriterionResult(code, True, f"{count.detail}; no CSF within 2 weeks")


def _bilirubin(labs: Labs) -> CriterionResult:
    code = "INC6_BILIRUBIN"
    if labs.bilirubin is None or labs.bilirubin_uln is None:
        absent = _absent(("bilirubin", labs.bilirubin), ("bilirubin ULN", labs.bilirubin_uln))
        return CriterionResult(code, None, absent)
    value, uln = _exact(labs.bilirubin), _exact(labs.bilirubin_uln)
    base = f"bilirubin {labs.bilirubin} mg/dL, ULN {labs.bilirubin_uln}"
    gilbert = labs.gilbert_syndrome
    if value <= BILIRUBIN_ULN_MULTIPLE * uln:
        return CriterionResult(code, True, f"{base}: <= {BILIRUBIN_ULN_MULTIPLE} x ULN")
    if value > GILBERT_BILIRUBIN_ULN_MULTIPLE * uln:
        return CriterionResult(code, False, f"{base}: > {GILBERT_BILIRUBIN_ULN_MULTIPLE} x ULN")
    between = f"{base}: > {BILIRUBIN_ULN_MULTIPLE} x ULN, <= {GILBERT_BILIRUBIN_ULN_MULTIPLE} x ULN"
    # Decision: between 1.5 and 3 × ULN the answer hangs on Gilbert's syndrome; None = missing.
    if gilbert is None:
        return CriterionResult(code, None, f"{between}; Gilbert's syndrome missing")
    return CriterionResult(code, gilbert, f"{between}; Gilbert's syndrome {_yes(gilbert)}")


def _crcl(data: ScreeningDetails, age: int, sex: Sex) -> tuple[CriterionResult, float | None]:
    code, labs = "INC6_CRCL", data.labs
    if labs.creatinine_mg_dl is None or labs.weight_kg is None:
        absent = _absent(("creatinine", labs.creatinine_mg_dl), ("weight", labs.weight_kg))
        return CriterionResult(code, None, absent), None
    clearance = cockcroft_gault(age, labs.weight_kg, labs.creatinine_mg_dl, sex)
    met = round(clearance, CRCL_COMPARE_DIGITS) >= CRCL_MIN
    detail = (
        f"CrCl {clearance:.2f} mL/min {'>=' if met else '<'} {CRCL_MIN:g} (Cockcroft-Gault: "
        f"age {age}, {labs.weight_kg} kg, creatinine {labs.creatinine_mg_dl} mg/dL, "
        f"{sex.value})"
    )
    return CriterionResult(code, met, detail), clearance


def _hcg(data: ScreeningDetails, sex: Sex) -> CriterionResult:
    code = "INC7_HCG"
    if sex is Sex.MALE:
        return CriterionResult(code, True, "not applicable: male")
    if not data.childbearing_potential:
        return CriterionResult(code, True, "not applicable: female without childbearing potential")
    tested_on = data.labs.hcg_negative_on
    if tested_on is None:
        return CriterionResult(code, None, "negative serum hCG date missing")
    earliest = data.screened_on - timedelta(days=HCG_WINDOW_DAYS)
    met = earliest <= tested_on <= data.screened_on
    window = f"{earliest.isoformat()} to {data.screened_on.isoformat()}"
    where = "within" if met else "outside"
    return CriterionResult(
        code, met, f"negative serum hCG on {tested_on.isoformat()} {where} {window}"
    )


def _not_lactating(data: ScreeningDetails, sex: Sex) -> CriterionResult:
    code = "INC7_NOT_LACTATING"
    if sex is Sex.MALE:
        return CriterionResult(code, True, "not applicable: male")
    return CriterionResult(code, not data.lactating, f"female, lactating {_yes(data.lactating)}")


def evaluate_eligibility(
    data: ScreeningDetails, *, date_of_birth: date, sex: Sex, consented: bool = True
) -> EligibilityResult:
    """Each registry criterion with its values, and eligible iff all pass (clinical-rules.md §9):
    the screening's, and the participant's date of birth, sex and consent."""
    labs = data.labs
    age = age_on(date_of_birth, data.screened_on)
    classification = eular_acr_2019(data.eular_acr_criteria)
    sledai = sledai_2k(data.sledai)
    grades = list(data.bilag.values())
    a_count, b_count = grades.count(BilagGrade.A), grades.count(BilagGrade.B)
    crcl, clearance = _crcl(data, age, sex)
    age_met = AGE_MIN <= age <= AGE_MAX
    inclusions = (
        CriterionResult(
            "INC1_EULAR_ACR",
            classification.classified,
            f"EULAR/ACR 2019 score {classification.score} (needs >= {CLASSIFIED_AT}), "
            f"ANA >= 1:80 {_yes(classification.entry_met)}, "
            f"clinical criterion {_yes(classification.has_clinical)}",
        ),
        CriterionResult(
            "INC2_SLEDAI", sledai > SLEDAI_ABOVE, f"SLEDAI-2K {sledai} (needs > {SLEDAI_ABOVE})"
        ),
        CriterionResult(
            "INC3_BILAG",
            a_count >= BILAG_A_MIN or b_count >= BILAG_B_MIN,
            f"BILAG-2004 {a_count} A, {b_count} B (needs >= {BILAG_A_MIN} A or >= {BILAG_B_MIN} B)",
        ),
        _recorded("INC4_REFRACTORY", "refractory", data.refractory),
        CriterionResult(
            "INC5_AGE",
            age_met,
            f"age {age} on {data.screened_on.isoformat()} "
            f"{'within' if age_met else 'outside'} {AGE_MIN}–{AGE_MAX}",
        ),
        _at_least("INC6_WBC", "WBC", "x10^9/L", labs.wbc, WBC_MIN),
        _anc(labs),
        _at_least("INC6_HEMOGLOBIN", "Hb", "g/L", labs.hemoglobin, HEMOGLOBIN_MIN),
        _within_uln("INC6_ALT", "ALT", labs.alt, labs.alt_uln, LIVER_ULN_MULTIPLE),
        _within_uln("INC6_AST", "AST", labs.ast, labs.ast_uln, LIVER_ULN_MULTIPLE),
        _bilirubin(labs),
        crcl,
        _within_uln("INC6_INR", "INR", labs.inr, labs.inr_uln, COAGULATION_ULN_MULTIPLE),
        _within_uln("INC6_PT", "PT", labs.pt, labs.pt_uln, COAGULATION_ULN_MULTIPLE),
        _at_least("INC6_LVEF", "LVEF", "%", labs.lvef, LVEF_MIN),
        _recorded("INC7_CONTRACEPTION", "contraception agreed", data.contraception_agreed),
        _hcg(data, sex),
        _not_lactating(data, sex),
        _recorded("INC8_CONSENT", "consented", consented),
    )
    exclusions = tuple(_exclusion(number, data.exclusions) for number in EXCLUSION_NUMBERS)
    return EligibilityResult(
        eligible=all(c.met is True for c in inclusions) and all(c.met is False for c in exclusions),
        criteria=inclusions + exclusions,
        sledai_2k=sledai,
        eular_acr_score=classification.score,
        creatinine_clearance=clearance,
        rules_version=RULES_VERSION,
        data_queries=tuple(screening_lab_queries(data.sledai, labs.wbc, labs.platelets)),
    )
