"""Command inputs, validated once and turned into the plain JSON payloads events carry.

Each class checks its own values (raising ``BadInput`` naming the rule and the value) and maps
to and from a payload of JSON-native values: enums as names, dates as ISO strings, sets as
sorted lists. Events therefore store the inputs exactly as they were accepted.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from domain.errors import BadInput, require
from domain.rules.assessment import Assessment, bilag_grades, non_negative
from domain.rules.damage import sdi_items
from domain.rules.eligibility import Labs, ScreeningData, age_on
from domain.rules.kidney import ckd_epi_2021
from domain.rules.safety import ctcae_grade
from domain.rules.toxicity import CrsSigns, GvhdStages, IcansSigns
from domain.vocabulary import (
    AeCategory,
    BilagDomain,
    BilagGrade,
    ChronicGvhdSeverity,
    Consciousness,
    Edema,
    EularAcrCriterion,
    Oxygen,
    Relatedness,
    SdiItem,
    SeizureStatus,
    SeriousCriterion,
    Sex,
    SledaiDescriptor,
    Visit,
    WithdrawalReason,
)

EXCLUSION_NUMBERS = range(1, 15)


def _iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def parse_date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def parse_instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _aware(value: datetime, rule: str, name: str) -> None:
    require(value.tzinfo is not None, rule, f"{name} {value.isoformat()} has no UTC offset")


def storable(value: str | None, rule: str, name: str) -> None:
    """Refuse text PostgreSQL cannot store (NUL, lone surrogates) before anything is recorded."""
    if value is None:
        return
    require("\x00" not in value, rule, f"{name} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise BadInput(rule, f"{name} is not valid Unicode text") from error


EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)


def within_calendar(value: object) -> None:
    """Refuse dates and instants outside 1900–2199 in any field: no trial record lies there,
    and date arithmetic (study days, the SAE clock) must never overflow."""
    kind: Any = type(value)
    for name in _field_names(kind):
        item = getattr(value, name)
        if isinstance(item, date):
            day = item.date() if isinstance(item, datetime) else item
            require(
                EARLIEST <= day <= LATEST,
                "DATE_RANGE",
                f"{name} {item.isoformat()} is outside {EARLIEST.year}–{LATEST.year}",
            )
        elif hasattr(type(item), "__dataclass_fields__"):
            within_calendar(item)


@functools.cache
def _field_names(kind: type) -> tuple[str, ...]:
    return tuple(field.name for field in dataclasses.fields(kind))


def _text(value: str, rule: str, name: str) -> str:
    storable(value, rule, name)
    stripped = value.strip()
    require(bool(stripped), rule, f"{name} is empty")
    return stripped


def _names(values: Any) -> list[str]:
    return sorted(str(value) for value in values)


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

    def to_payload(self) -> dict[str, Any]:
        return {
            "subject_id": self.subject_id,
            "site": self.site,
            "consent_version": self.consent_version,
            "signed_on": _iso(self.signed_on),
            "date_of_birth": _iso(self.date_of_birth),
            "sex": self.sex.value,
            "initials": self.initials,
        }

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> ConsentDetails:
        return cls(
            subject_id=p["subject_id"],
            site=p["site"],
            consent_version=p["consent_version"],
            signed_on=date.fromisoformat(p["signed_on"]),
            date_of_birth=date.fromisoformat(p["date_of_birth"]),
            sex=Sex(p["sex"]),
            initials=p["initials"],
        )


@dataclass(frozen=True)
class ScreeningDetails:
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
        for number in self.exclusions:
            require(
                number in EXCLUSION_NUMBERS,
                "EXCLUSION_NUMBER",
                f"exclusion {number} is not one of the registry's 1–14",
            )

    def to_rules_input(self, consent: ConsentDetails) -> ScreeningData:
        return ScreeningData(
            screened_on=self.screened_on,
            date_of_birth=consent.date_of_birth,
            sex=consent.sex,
            consented=True,
            labs=self.labs,
            sledai=self.sledai,
            bilag=self.bilag,
            eular_acr_criteria=self.eular_acr_criteria,
            refractory=self.refractory,
            childbearing_potential=self.childbearing_potential,
            lactating=self.lactating,
            contraception_agreed=self.contraception_agreed,
            exclusions=self.exclusions,
        )

    def to_assessment(self) -> Assessment:
        """The screening as an SRI baseline: SLEDAI descriptors and BILAG grades only."""
        return Assessment(sledai=self.sledai, bilag=self.bilag)

    def to_payload(self) -> dict[str, Any]:
        labs = {
            name: _iso(value) if isinstance(value, date) else value
            for name, value in dataclasses.asdict(self.labs).items()
        }
        return {
            "screened_on": _iso(self.screened_on),
            "labs": labs,
            "sledai": _names(self.sledai),
            "bilag": {domain.value: grade.value for domain, grade in self.bilag.items()},
            "eular_acr_criteria": _names(self.eular_acr_criteria),
            "refractory": self.refractory,
            "childbearing_potential": self.childbearing_potential,
            "lactating": self.lactating,
            "contraception_agreed": self.contraception_agreed,
            "exclusions": sorted(self.exclusions),
        }

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> ScreeningDetails:
        labs = dict(p["labs"])
        labs["hcg_negative_on"] = parse_date(labs.get("hcg_negative_on"))
        return cls(
            screened_on=date.fromisoformat(p["screened_on"]),
            labs=Labs(**labs),
            sledai=frozenset(SledaiDescriptor(d) for d in p["sledai"]),
            bilag={BilagDomain(d): BilagGrade(g) for d, g in p["bilag"].items()},
            eular_acr_criteria=frozenset(EularAcrCriterion(c) for c in p["eular_acr_criteria"]),
            refractory=p["refractory"],
            childbearing_potential=p["childbearing_potential"],
            lactating=p["lactating"],
            contraception_agreed=p["contraception_agreed"],
            exclusions=frozenset(p["exclusions"]),
        )


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

    def to_payload(self) -> dict[str, Any]:
        return {
            "infused_at": _iso(self.infused_at),
            "dose_cells_per_kg": self.dose_cells_per_kg,
            "lot": self.lot,
        }


@dataclass(frozen=True)
class VisitScore:
    """The values recorded at a scored visit (BASELINE or M1–M12); PGA in integer tenths."""

    visit: Visit
    visit_date: date
    sledai: frozenset[SledaiDescriptor]
    bilag: Mapping[BilagDomain, BilagGrade]
    pga_tenths: int
    prednisone_mg_per_day: float
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
        self.to_assessment(egfr=self.egfr)  # validates PGA, BILAG, doses and lab values

    def to_assessment(self, egfr: float | None) -> Assessment:
        return Assessment(
            sledai=self.sledai,
            bilag=self.bilag,
            arthritis_joint_count=self.arthritis_joint_count,
            proteinuria_new_or_increased=self.proteinuria_new_or_increased,
            pga_tenths=self.pga_tenths,
            prednisone_mg_per_day=self.prednisone_mg_per_day,
            antimalarial_only=self.antimalarial_only,
            haemolytic_anaemia=self.haemolytic_anaemia,
            gi_activity=self.gi_activity,
            investigational_drug=self.investigational_drug,
            rescue_therapy=self.rescue_therapy,
            lupus_nephritis=self.lupus_nephritis,
            upcr_g_per_g=self.upcr_g_per_g,
            egfr=egfr,
        )

    def effective_egfr(self, date_of_birth: date, sex: Sex) -> float | None:
        """eGFR as recorded, or CKD-EPI 2021 from creatinine with the age on the visit date."""
        if self.egfr is not None or self.creatinine_mg_dl is None:
            return self.egfr
        return ckd_epi_2021(self.creatinine_mg_dl, age_on(date_of_birth, self.visit_date), sex)

    def to_payload(self) -> dict[str, Any]:
        payload = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        payload.update(
            visit=self.visit.value,
            visit_date=_iso(self.visit_date),
            sledai=_names(self.sledai),
            bilag={domain.value: grade.value for domain, grade in self.bilag.items()},
            sdi_items=None if self.sdi_items is None else _names(self.sdi_items),
        )
        return payload

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> VisitScore:
        values = dict(p)
        values.update(
            visit=Visit(p["visit"]),
            visit_date=date.fromisoformat(p["visit_date"]),
            sledai=frozenset(SledaiDescriptor(d) for d in p["sledai"]),
            bilag={BilagDomain(d): BilagGrade(g) for d, g in p["bilag"].items()},
            sdi_items=None
            if p["sdi_items"] is None
            else frozenset(SdiItem(i) for i in p["sdi_items"]),
        )
        return cls(**values)


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

    def to_payload(self) -> dict[str, Any]:
        return {
            "ae_id": self.ae_id,
            "term": self.term,
            "category": self.category.value,
            "onset_on": _iso(self.onset_on),
            "aware_at": _iso(self.aware_at),
            "ctcae_grade": self.ctcae_grade,
            "serious": _names(self.serious),
            "relatedness": self.relatedness.value,
            "crs": _signs(self.crs),
            "icans": _signs(self.icans),
            "acute_gvhd": _signs(self.acute_gvhd),
            "chronic_gvhd": None if self.chronic_gvhd is None else self.chronic_gvhd.value,
        }


def _signs(signs: CrsSigns | IcansSigns | GvhdStages | None) -> dict[str, Any] | None:
    if signs is None:
        return None
    return {name: str(value) if isinstance(value, Oxygen | Consciousness | SeizureStatus | Edema)
            else value for name, value in dataclasses.asdict(signs).items()}  # fmt: skip


def crs_signs(p: Mapping[str, Any] | None) -> CrsSigns | None:
    return None if p is None else CrsSigns(**{**p, "oxygen": Oxygen(p["oxygen"])})


def icans_signs(p: Mapping[str, Any] | None) -> IcansSigns | None:
    if p is None:
        return None
    return IcansSigns(
        ice_score=p["ice_score"],
        consciousness=Consciousness(p["consciousness"]),
        seizure=SeizureStatus(p["seizure"]),
        motor_weakness=p["motor_weakness"],
        edema=Edema(p["edema"]),
    )


def gvhd_stages(p: Mapping[str, Any] | None) -> GvhdStages | None:
    return None if p is None else GvhdStages(**p)


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

    def to_payload(self) -> dict[str, Any]:
        return {
            "ctcae_grade": self.ctcae_grade,
            "resolved_on": _iso(self.resolved_on),
            "serious": None if self.serious is None else _names(self.serious),
            "reported_to_sponsor_at": _iso(self.reported_to_sponsor_at),
        }


@dataclass(frozen=True)
class Withdrawal:
    withdrawn_on: date
    reason: WithdrawalReason
    note: str | None = None

    def __post_init__(self) -> None:
        within_calendar(self)
        storable(self.note, "WITHDRAWAL_NOTE", "note")

    def to_payload(self) -> dict[str, Any]:
        return {
            "withdrawn_on": _iso(self.withdrawn_on),
            "reason": self.reason.value,
            "note": self.note,
        }
