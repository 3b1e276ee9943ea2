"""Kidney function: Cockcroft-Gault creatinine clearance and CKD-EPI 2021 eGFR (rules §10)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from domain.errors import require
from domain.rules.assessment import non_negative
from domain.vocabulary import Sex

COCKCROFT_GAULT_AGE_LIMIT = 140  # the formula's (140 − age) must stay positive
COCKCROFT_GAULT_FEMALE_FACTOR = 0.85


@dataclass(frozen=True)
class CkdEpiConstants:
    """The sex-specific constants of the race-free CKD-EPI 2021 creatinine equation."""

    kappa: float
    alpha: float
    factor: float


CKD_EPI_2021: dict[Sex, CkdEpiConstants] = {
    Sex.FEMALE: CkdEpiConstants(kappa=0.7, alpha=-0.241, factor=1.012),
    Sex.MALE: CkdEpiConstants(kappa=0.9, alpha=-0.302, factor=1.0),
}
CKD_EPI_2021_ABOVE_KAPPA_EXPONENT = -1.200
CKD_EPI_2021_AGE_BASE = 0.9938


def _positive(value: float, rule: str, name: str) -> None:
    non_negative(value, rule, name)
    require(value > 0, rule, f"{name} {value} must be positive")


def _age(age_years: int) -> None:
    require(age_years >= 0, "AGE_VALUE", f"age {age_years} years is negative")


def cockcroft_gault(age_years: int, weight_kg: float, creatinine_mg_dl: float, sex: Sex) -> float:
    """CrCl mL/min = (140 − age) × kg / (72 × SCr), × 0.85 if female (Cockcroft 1976; §10)."""
    _age(age_years)
    # Decision: an age of 140 or more would give a zero or negative clearance; refuse it.
    require(
        age_years < COCKCROFT_GAULT_AGE_LIMIT,
        "AGE_VALUE",
        f"age {age_years} years is outside the Cockcroft-Gault range 0–139",
    )
    _positive(weight_kg, "WEIGHT_VALUE", "weight kg")
    _positive(creatinine_mg_dl, "CREATININE_VALUE", "creatinine mg/dL")
    clearance = (COCKCROFT_GAULT_AGE_LIMIT - age_years) * weight_kg / (72 * creatinine_mg_dl)
    return clearance * COCKCROFT_GAULT_FEMALE_FACTOR if sex is Sex.FEMALE else clearance


def ckd_epi_2021(creatinine_mg_dl: float, age_years: int, sex: Sex) -> float:
    """eGFR mL/min/1.73 m² by the race-free CKD-EPI 2021 creatinine equation (Inker 2021; §10)."""
    _positive(creatinine_mg_dl, "CREATININE_VALUE", "creatinine mg/dL")
    _age(age_years)
    constants = CKD_EPI_2021[sex]
    ratio = creatinine_mg_dl / constants.kappa
    return (
        142
        * math.pow(min(ratio, 1.0), constants.alpha)
        * math.pow(max(ratio, 1.0), CKD_EPI_2021_ABOVE_KAPPA_EXPONENT)
        * math.pow(CKD_EPI_2021_AGE_BASE, age_years)
        * constants.factor
    )
