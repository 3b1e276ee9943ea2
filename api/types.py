"""GraphQL output types of the contract, built from the domain's views."""

from __future__ import annotations

from datetime import UTC, date, datetime

import strawberry
from strawberry.scalars import JSON

from api.enums import (
    AeCategory,
    ChronicGvhdSeverity,
    Outcome,
    ParticipantStatus,
    Relatedness,
    Role,
    SeriousCriterion,
    Sex,
    Visit,
)
from domain.application import CommandResult as DomainCommandResult
from domain.rules.assessment import DataQuery as DomainDataQuery
from domain.rules.eligibility import EligibilityResult
from domain.views import AdverseEventView, ParticipantView, VisitView


def utc(moment: datetime | None) -> datetime | None:
    """Every DateTime leaves the API in UTC (contract: scalar DateTime)."""
    return None if moment is None else moment.astimezone(UTC)


@strawberry.type
class DataQuery:
    code: str
    message: str

    @classmethod
    def of(cls, query: DomainDataQuery) -> DataQuery:
        return cls(code=query.code, message=query.message)


@strawberry.type
class CommandResult:
    participant_id: strawberry.ID
    version: int
    position: int
    recorded_at: datetime

    @classmethod
    def of(cls, result: DomainCommandResult) -> CommandResult:
        return cls(
            participant_id=strawberry.ID(str(result.participant_id)),
            version=result.version,
            position=result.position,
            recorded_at=result.recorded_at.astimezone(UTC),
        )


@strawberry.type
class CriterionResult:
    code: str
    met: bool | None
    detail: str | None


@strawberry.type
class Eligibility:
    eligible: bool
    criteria: list[CriterionResult]
    sledai2k: int
    eular_acr_score: int
    creatinine_clearance: float | None
    rules_version: str
    data_queries: list[DataQuery]

    @classmethod
    def of(cls, view: EligibilityResult) -> Eligibility:
        return cls(
            eligible=view.eligible,
            criteria=[
                CriterionResult(code=c.code, met=c.met, detail=c.detail) for c in view.criteria
            ],
            sledai2k=view.sledai_2k,
            eular_acr_score=view.eular_acr_score,
            creatinine_clearance=view.creatinine_clearance,
            rules_version=view.rules_version,
            data_queries=[DataQuery.of(q) for q in view.data_queries],
        )


@strawberry.type
class VisitAssessment:
    visit: Visit
    visit_date: date
    in_window: bool
    sledai2k: int
    selena_sledai: int
    clinical_sledai: int
    bilag_score: int
    pga: float
    sdi: int | None
    egfr: float | None
    sri4: Outcome
    doris: Outcome
    remission_off_therapy: Outcome
    lldas: Outcome
    crr: Outcome
    prr: Outcome
    orr: Outcome
    perr: Outcome
    corrected: bool
    rules_version: str
    data_queries: list[DataQuery]

    @classmethod
    def of(cls, view: VisitView) -> VisitAssessment:
        outcome = {name: verdict.outcome for name, verdict in view.outcomes.items()}
        return cls(
            visit=view.visit,
            visit_date=view.visit_date,
            in_window=view.in_window,
            sledai2k=view.sledai_2k,
            selena_sledai=view.selena_sledai,
            clinical_sledai=view.clinical_sledai,
            bilag_score=view.bilag_score,
            pga=view.pga,
            sdi=view.sdi,
            egfr=view.egfr,
            sri4=outcome["SRI4"],
            doris=outcome["DORIS"],
            remission_off_therapy=outcome["REMISSION_OFF_THERAPY"],
            lldas=outcome["LLDAS"],
            crr=outcome["CRR"],
            prr=outcome["PRR"],
            orr=outcome["ORR"],
            perr=outcome["PERR"],
            corrected=view.corrected,
            rules_version=view.rules_version,
            data_queries=[DataQuery.of(q) for q in view.data_queries],
        )


@strawberry.type
class AdverseEvent:
    ae_id: str
    term: str
    category: AeCategory
    onset_on: date
    ctcae_grade: int
    serious: bool
    serious_criteria: list[SeriousCriterion]
    relatedness: Relatedness
    crs_grade: int | None
    icans_grade: int | None
    acute_gvhd_grade: int | None
    chronic_gvhd_severity: ChronicGvhdSeverity | None
    resolved_on: date | None
    aware_at: datetime
    reported_to_sponsor_at: datetime | None
    reporting_due_at: datetime | None
    reporting_overdue: bool
    days_from_infusion: int | None
    data_queries: list[DataQuery]

    @classmethod
    def of(cls, view: AdverseEventView, *, overdue: bool) -> AdverseEvent:
        """The AE's stored view, with its report's clock as read (``overdue``)."""
        return cls(
            ae_id=view.ae_id,
            term=view.term,
            category=view.category,
            onset_on=view.onset_on,
            ctcae_grade=view.ctcae_grade,
            serious=view.serious,
            serious_criteria=list(view.serious_criteria),
            relatedness=view.relatedness,
            crs_grade=view.crs_grade,
            icans_grade=view.icans_grade,
            acute_gvhd_grade=view.acute_gvhd_grade,
            chronic_gvhd_severity=view.chronic_gvhd_severity,
            resolved_on=view.resolved_on,
            aware_at=view.aware_at.astimezone(UTC),
            reported_to_sponsor_at=utc(view.reported_to_sponsor_at),
            reporting_due_at=utc(view.reporting_due_at),
            reporting_overdue=overdue,
            days_from_infusion=view.days_from_infusion,
            data_queries=[DataQuery.of(q) for q in view.data_queries],
        )


@strawberry.type
class Participant:
    id: strawberry.ID
    subject_id: str
    site: str
    status: ParticipantStatus
    version: int
    sex: Sex
    age_at_consent: int
    date_of_birth: date | None
    initials: str | None
    eligibility: Eligibility | None
    infused_at: datetime | None
    visits: list[VisitAssessment]
    adverse_events: list[AdverseEvent]
    as_of: datetime | None

    @classmethod
    def of(cls, view: ParticipantView, *, pii: bool, read_at: datetime) -> Participant:
        """The participant as the caller may see it, read at ``read_at`` (now, or the asOf
        instant): PII is null without PII access."""
        return cls(
            id=strawberry.ID(str(view.id)),
            subject_id=view.subject_id,
            site=view.site,
            status=view.status,
            version=view.version,
            sex=view.sex,
            age_at_consent=view.age_at_consent,
            date_of_birth=view.date_of_birth if pii else None,
            initials=view.initials if pii else None,
            eligibility=None if view.eligibility is None else Eligibility.of(view.eligibility),
            infused_at=utc(view.infused_at),
            visits=[VisitAssessment.of(visit) for visit in view.visits],
            adverse_events=[
                AdverseEvent.of(ae, overdue=ae.overdue_at(read_at)) for ae in view.adverse_events
            ],
            as_of=utc(view.as_of),
        )


@strawberry.type
class AuditEntry:
    position: int
    participant_id: strawberry.ID
    version: int
    event_type: str
    recorded_at: datetime
    actor: str
    actor_role: Role
    actor_site: str | None
    reason: str | None
    data: JSON
    hash: str
    previous_hash: str | None


@strawberry.type
class AuditPage:
    entries: list[AuditEntry]
    next_after: int | None


@strawberry.type
class ChainVerification:
    ok: bool
    streams_checked: int
    events_checked: int
    first_broken_participant_id: strawberry.ID | None
    first_broken_version: int | None
