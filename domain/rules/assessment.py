"""The values of one time point, validated once and shared by every rule (clinical-rules.md)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from domain.errors import BadInput, require, within_calendar
from domain.rules.damage import check_sdi_never_decreases, sdi_items, sdi_total
from domain.vocabulary import BilagDomain, BilagGrade, SdiItem, SledaiDescriptor, Visit

PGA_MAX_TENTHS = 30
PGA_STEP = Decimal("0.1")


@dataclass(frozen=True)
class DataQuery:
    """Recorded data that contradicts itself; it never changes the record (clinical-rules.md)."""

    code: str
    message: str


def pga_tenths(value: float | int | str | Decimal) -> int:
    """PGA 0–3 as integer tenths, rejecting values that are not multiples of 0.1 (conventions)."""
    try:
        exact = Decimal(str(value))
    except InvalidOperation as error:
        raise BadInput("PGA_RANGE", f"PGA {value!r} is not a number") from error
    # Range before step, and quantize rather than multiply: arithmetic on a huge, signalling-NaN
    # or over-precise Decimal would raise or round (0.1000…0001 × 10 rounds to 1 at 28 digits).
    require(exact.is_finite(), "PGA_RANGE", f"PGA {value} is not a finite number")
    require(0 <= exact <= PGA_MAX_TENTHS * PGA_STEP, "PGA_RANGE", f"PGA {value} is outside 0–3")
    step = exact.quantize(PGA_STEP)
    require(step == exact, "PGA_STEP", f"PGA {value} is not a multiple of 0.1")
    return int(step * 10)


def non_negative(value: float | None, rule: str, name: str) -> None:
    """Reject a negative or non-finite measurement; None (not recorded) passes."""
    if value is None:
        return
    require(math.isfinite(value), rule, f"{name} {value} is not a finite number")
    require(value >= 0, rule, f"{name} {value} is negative")


def bilag_grades(pairs: Iterable[tuple[BilagDomain, BilagGrade]]) -> dict[BilagDomain, BilagGrade]:
    """All nine BILAG-2004 domain grades, each once (clinical-rules.md §3)."""
    grades: dict[BilagDomain, BilagGrade] = {}
    for domain, grade in pairs:
        require(domain not in grades, "BILAG_DOMAINS", f"BILAG domain {domain} graded twice")
        grades[domain] = grade
    missing = [domain.value for domain in BilagDomain if domain not in grades]
    require(not missing, "BILAG_DOMAINS", f"BILAG grade missing for {', '.join(missing)}")
    return grades


@dataclass(frozen=True, kw_only=True)
class VisitScore:
    """What was recorded at one time point, as the command records it and every rule reads it.

    A scored visit (BASELINE or M1–M12), or the screening as the SRI-4 baseline when no BASELINE
    visit is scored (``ScreeningDetails.sri_baseline``: its SLEDAI descriptors and BILAG grades
    only). PGA in integer tenths. A value not recorded is None; an endpoint needing it is then
    not evaluable. The rules read ``egfr`` as recorded, or as computed from creatinine
    (CKD-EPI 2021, ``RecordedVisit.assessment``).
    """

    visit: Visit
    visit_date: date
    sledai: frozenset[SledaiDescriptor]
    bilag: Mapping[BilagDomain, BilagGrade]
    pga_tenths: int | None
    prednisone_mg_per_day: float | None
    arthritis_joint_count: int | None = None
    proteinuria_new_or_increased: bool | None = None
    antimalarial_only: bool | None = None
    haemolytic_anaemia: bool | None = None
    gi_activity: bool | None = None
    investigational_drug: bool | None = None
    rescue_therapy: bool | None = None
    lupus_nephritis: bool | None = None
    upcr_g_per_g: float | None = None
    egfr: float | None = None
    creatinine_mg_dl: float | None = None
    sdi_items: frozenset[SdiItem] | None = None

    def __post_init__(self) -> None:
        within_calendar(self)
        require(
            self.visit is not Visit.SCREENING,
            "VISIT_KIND",
            "SCREENING is recorded with screen, not scored as a visit",
        )
        non_negative(self.creatinine_mg_dl, "CREATININE_VALUE", "creatinine mg/dL")
        if self.creatinine_mg_dl is not None:
            require(self.creatinine_mg_dl > 0, "CREATININE_VALUE", "creatinine must be positive")
        if self.sdi_items is not None:
            sdi_items(self.sdi_items)
        bilag_grades(self.bilag.items())
        if self.pga_tenths is not None and not 0 <= self.pga_tenths <= PGA_MAX_TENTHS:
            raise BadInput("PGA_RANGE", f"PGA {self.pga_tenths / 10} is outside 0–3")
        if self.arthritis_joint_count is not None:
            require(
                self.arthritis_joint_count >= 0,
                "ARTHRITIS_JOINT_COUNT",
                f"joint count {self.arthritis_joint_count} is negative",
            )
        non_negative(self.prednisone_mg_per_day, "PREDNISONE_DOSE", "prednisone mg/day")
        non_negative(self.upcr_g_per_g, "UPCR_VALUE", "UPCR g/g")
        non_negative(self.egfr, "EGFR_VALUE", "eGFR")


def check_damage(scores: Mapping[Visit, VisitScore]) -> None:
    """The SDI of the visits ``scores`` records never decreases in visit order (rules §8)."""
    check_sdi_never_decreases(
        [
            (visit.value, None if score.sdi_items is None else sdi_total(score.sdi_items))
            for visit in Visit
            if (score := scores.get(visit)) is not None
        ]
    )
