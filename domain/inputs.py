"""Command inputs: each checks its own values once, raising ``BadInput`` that names the rule and
the value. Events carry them as JSON payloads (``domain.codec``), exactly as they were accepted.

The screening and a visit's values are defined with the rules that read them
(``domain.rules.eligibility``, ``domain.rules.assessment``) and are inputs like the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from domain.errors import BadInput, require, storable, within_calendar
from domain.rules.assessment import VisitScore, non_negative
from domain.rules.eligibility import Labs, ScreeningDetails, age_on
from domain.rules.safety import ctcae_grade
from domain.rules.toxicity import CrsSigns, GvhdStages, IcansSigns
from domain.vocabulary import (
    AeCategory,
    ChronicGvhdSeverity,
    Relatedness,
    SeriousCriterion,
    Sex,
    WithdrawalReason,
)

__all__ = [
    "AdverseEventReport",
    "AdverseEventUpdate",
    "ConsentDetails",
    "InfusionDetails",
    "Labs",
    "RecordedInfusion",
    "ScreeningDetails",
    "VisitScore",
    "Withdrawal",
]


def _aware(value: datetime, rule: str, name: str) -> None:
    require(value.tzinfo is not None, rule, f"{name} {value.isoformat()} has no UTC offset")


def _text(value: str, rule: str, name: str) -> str:
    storable(value, rule, name)
    stripped = value.strip()
    require(bool(stripped), rule, f"{name} is empty")
    return stripped


@dataclass(frozen=True)
class ConsentDetails:
    subject_id: str
    site: str
    consent_version: str
    signed_on: date
    date_of_birth: date
    sex: Sex
    initials: str | None = None

    def __post_init__(self) -> None:
        within_calendar(self)
        object.__setattr__(self, "subject_id", _text(self.subject_id, "SUBJECT_ID", "subject id"))
        object.__setattr__(self, "site", _text(self.site, "SITE", "site"))
        _text(self.consent_version, "CONSENT_VERSION", "consent version")
        storable(self.initials, "INITIALS", "initials")
        require(
            self.date_of_birth < self.signed_on,
            "DATE_OF_BIRTH",
            f"date of birth {self.date_of_birth} is not before the consent date {self.signed_on}",
        )

    @property
    def age_at_consent(self) -> int:
        return age_on(self.date_of_birth, self.signed_on)


@dataclass(frozen=True)
class InfusionDetails:
    infused_at: datetime
    dose_cells_per_kg: float
    lot: str

    def __post_init__(self) -> None:
        within_calendar(self)
        _aware(self.infused_at, "INFUSION_TIME", "infusion time")
        non_negative(self.dose_cells_per_kg, "INFUSION_DOSE", "dose cells/kg")
        require(self.dose_cells_per_kg > 0, "INFUSION_DOSE", "dose cells/kg must be positive")
        _text(self.lot, "INFUSION_LOT", "lot")


@dataclass(frozen=True)
class RecordedInfusion(InfusionDetails):
    """The infusion as recorded: with its date in the trial's time zone, the day every study day
    and visit window counts from."""

    infusion_date: date
    time_zone: str


@dataclass(frozen=True)
class AdverseEventReport:
    ae_id: str
    term: str
    category: AeCategory
    onset_on: date
    aware_at: datetime
    ctcae_grade: int
    serious: frozenset[SeriousCriterion]
    relatedness: Relatedness
    crs: CrsSigns | None = None
    icans: IcansSigns | None = None
    acute_gvhd: GvhdStages | None = None
    chronic_gvhd: ChronicGvhdSeverity | None = None

    def __post_init__(self) -> None:
        within_calendar(self)
        object.__setattr__(self, "ae_id", _text(self.ae_id, "AE_ID", "AE id"))
        _text(self.term, "AE_TERM", "AE term")
        _aware(self.aware_at, "AE_AWARE_AT", "awareness time")
        ctcae_grade(self.ctcae_grade)


@dataclass(frozen=True)
class AdverseEventUpdate:
    ae_id: str
    reason: str
    ctcae_grade: int | None = None
    resolved_on: date | None = None
    serious: frozenset[SeriousCriterion] | None = None
    reported_to_sponsor_at: datetime | None = None

    def __post_init__(self) -> None:
        within_calendar(self)
        storable(self.ae_id, "AE_ID", "AE id")
        storable(self.reason, "REASON", "reason")
        if self.ctcae_grade is not None:
            ctcae_grade(self.ctcae_grade)
        if self.reported_to_sponsor_at is not None:
            _aware(self.reported_to_sponsor_at, "AE_REPORTED_AT", "sponsor report time")
        changes = (self.ctcae_grade, self.resolved_on, self.serious, self.reported_to_sponsor_at)
        if all(value is None for value in changes):
            raise BadInput("AE_UPDATE_EMPTY", f"the update of {self.ae_id} changes nothing")


@dataclass(frozen=True)
class Withdrawal:
    withdrawn_on: date
    reason: WithdrawalReason
    note: str | None = None

    def __post_init__(self) -> None:
        within_calendar(self)
        storable(self.note, "WITHDRAWAL_NOTE", "note")
