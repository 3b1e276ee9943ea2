"""GraphQL input types of the contract and their mapping to the domain's command inputs.

The input types are deliberate twins of the domain's inputs (LabsInput of Labs, VisitScoreInput
of VisitScore, AdverseEventInput of AdverseEventReport …): they are the contract's shapes (a PGA
as a score, BILAG grades as a list, ids as strings), and strawberry builds them from a request's
variables before a resolver runs, so a domain check raised while building one would answer
BAD_INPUT before the caller is authenticated. ``to_domain`` converts in the resolver, after it.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import date, datetime
from typing import Any, TypeVar, cast
from uuid import UUID

import strawberry

from domain import inputs as domain
from domain.errors import BadInput
from domain.rules.assessment import bilag_grades, pga_tenths
from domain.rules.eligibility import Labs
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

T = TypeVar("T")


def _into(kind: type[T], source: object, **changed: Any) -> T:
    """``kind`` from the input's fields of the same names, ``changed`` ones converted."""
    names = (field.name for field in fields(cast(Any, kind)))
    return kind(**{name: changed[name] if name in changed else getattr(source, name)
                   for name in names})  # fmt: skip


def parse_participant_id(value: str) -> UUID:
    try:
        return UUID(str(value))
    except ValueError as error:
        raise BadInput("PARTICIPANT_ID", f"{value!r} is not a participant id (a UUID)") from error


@strawberry.input
class ConsentInput:
    subject_id: str
    site: str
    consent_version: str
    signed_on: date
    date_of_birth: date
    sex: Sex
    initials: str | None = None
    idempotency_key: str | None = strawberry.field(
        default=None, description="Added to the contract: makes a consent retry-safe too."
    )

    def to_domain(self) -> domain.ConsentDetails:
        return _into(domain.ConsentDetails, self)


@strawberry.input
class LabsInput:
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

    def to_domain(self) -> Labs:
        return _into(Labs, self)


@strawberry.input
class BilagGradeInput:
    domain: BilagDomain
    grade: BilagGrade


@strawberry.input
class ScreeningInput:
    participant_id: strawberry.ID
    screened_on: date
    labs: LabsInput
    sledai: list[SledaiDescriptor]
    bilag: list[BilagGradeInput]
    eular_acr_criteria: list[EularAcrCriterion]
    refractory: bool
    childbearing_potential: bool
    lactating: bool
    contraception_agreed: bool
    exclusions: list[int]
    expected_version: int | None = None
    idempotency_key: str | None = None

    def to_domain(self) -> domain.ScreeningDetails:
        return _into(
            domain.ScreeningDetails, self,
            labs=self.labs.to_domain(),
            sledai=frozenset(self.sledai),
            bilag=bilag_grades((g.domain, g.grade) for g in self.bilag),
            eular_acr_criteria=frozenset(self.eular_acr_criteria),
            exclusions=frozenset(self.exclusions),
        )  # fmt: skip


@strawberry.input
class InfusionInput:
    participant_id: strawberry.ID
    infused_at: datetime
    dose_cells_per_kg: float
    lot: str
    expected_version: int | None = None
    idempotency_key: str | None = None

    def to_domain(self) -> domain.InfusionDetails:
        return _into(domain.InfusionDetails, self)


@strawberry.input
class VisitScoreInput:
    participant_id: strawberry.ID
    visit: Visit
    visit_date: date
    sledai: list[SledaiDescriptor]
    bilag: list[BilagGradeInput]
    pga_score: float
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
    sdi_items: list[SdiItem] | None = None
    expected_version: int | None = None
    idempotency_key: str | None = None

    def to_domain(self) -> domain.VisitScore:
        return _into(
            domain.VisitScore, self,
            sledai=frozenset(self.sledai),
            bilag=bilag_grades((g.domain, g.grade) for g in self.bilag),
            pga_tenths=pga_tenths(self.pga_score),
            sdi_items=None if self.sdi_items is None else frozenset(self.sdi_items),
        )  # fmt: skip


@strawberry.input
class CorrectionInput:
    participant_id: strawberry.ID
    visit: Visit
    reason: str
    score: VisitScoreInput
    idempotency_key: str | None = None

    @property
    def expected_version(self) -> int | None:
        """The contract carries a correction's expected version in its score."""
        return self.score.expected_version

    def to_domain(self) -> domain.VisitScore:
        if self.score.visit != self.visit:
            raise BadInput(
                "CORRECTION_VISIT",
                f"the correction names {self.visit.value} but its score is for "
                f"{self.score.visit.value}",
            )
        if str(self.score.participant_id) != str(self.participant_id):
            raise BadInput("CORRECTION_PARTICIPANT", "the score names another participant")
        return self.score.to_domain()


@strawberry.input
class CrsInput:
    temperature_c: float
    fever_modified_by_treatment: bool
    hypotension: bool
    vasopressors: int
    vasopressin: bool
    oxygen: Oxygen

    def to_domain(self) -> CrsSigns:
        return _into(CrsSigns, self)


@strawberry.input
class IcansInput:
    ice_score: int
    consciousness: Consciousness
    seizure: SeizureStatus
    motor_weakness: bool
    edema: Edema

    def to_domain(self) -> IcansSigns:
        return _into(IcansSigns, self)


@strawberry.input
class GvhdInput:
    skin_stage: int
    liver_stage: int
    upper_gi_stage: int
    lower_gi_stage: int

    def to_domain(self) -> GvhdStages:
        return GvhdStages(
            skin=self.skin_stage,
            liver=self.liver_stage,
            upper_gi=self.upper_gi_stage,
            lower_gi=self.lower_gi_stage,
        )


@strawberry.input
class AdverseEventInput:
    participant_id: strawberry.ID
    ae_id: str
    term: str
    category: AeCategory
    onset_on: date
    aware_at: datetime
    ctcae_grade: int
    serious: list[SeriousCriterion]
    relatedness: Relatedness
    crs: CrsInput | None = None
    icans: IcansInput | None = None
    acute_gvhd: GvhdInput | None = None
    chronic_gvhd: ChronicGvhdSeverity | None = None
    expected_version: int | None = None
    idempotency_key: str | None = None

    def to_domain(self) -> domain.AdverseEventReport:
        return _into(
            domain.AdverseEventReport, self,
            serious=frozenset(self.serious),
            crs=None if self.crs is None else self.crs.to_domain(),
            icans=None if self.icans is None else self.icans.to_domain(),
            acute_gvhd=None if self.acute_gvhd is None else self.acute_gvhd.to_domain(),
        )  # fmt: skip


@strawberry.input
class AeUpdateInput:
    participant_id: strawberry.ID
    ae_id: str
    reason: str
    ctcae_grade: int | None = None
    resolved_on: date | None = None
    serious: list[SeriousCriterion] | None = None
    reported_to_sponsor_at: datetime | None = None
    expected_version: int | None = None
    idempotency_key: str | None = None

    def to_domain(self) -> domain.AdverseEventUpdate:
        serious = None if self.serious is None else frozenset(self.serious)
        return _into(domain.AdverseEventUpdate, self, serious=serious)


@strawberry.input
class WithdrawInput:
    participant_id: strawberry.ID
    withdrawn_on: date
    reason: WithdrawalReason
    note: str | None = None
    expected_version: int | None = None
    idempotency_key: str | None = None

    def to_domain(self) -> domain.Withdrawal:
        return _into(domain.Withdrawal, self)
