"""GraphQL output types of the contract, and the views that serve as they are.

A view whose fields are the contract's type is registered with strawberry here, as
``api.enums`` registers the enums: CommandResult, DataQuery, SafetyTotals, StudySummary with its
CriterionCount and EndpointRate (``api.scalars`` serves their instants in UTC and UUIDs as IDs).
The types below are those the contract shapes otherwise than the view: a participant hides its
PII from some roles, a visit names each endpoint's outcome, an adverse event's report is overdue
as of when it is read, a criterion's detail is nullable.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import date, datetime
from typing import Any

import strawberry

from domain.commands import CommandResult
from domain.rules.assessment import DataQuery
from domain.rules.eligibility import EligibilityResult
from domain.views import AdverseEventView, ParticipantView, VisitView
from domain.vocabulary import (
    AeCategory,
    ChronicGvhdSeverity,
    Outcome,
    ParticipantStatus,
    Relatedness,
    SeriousCriterion,
    Sex,
    Visit,
)
from projections.safety_ledger import SafetyTotals
from projections.study_summary import CriterionCount, EndpointRate, StudySummaryView

__all__ = [
    "AdverseEvent",
    "CommandResult",
    "CriterionCount",
    "DataQuery",
    "Eligibility",
    "EndpointRate",
    "ParticipantType",
    "SafetyTotals",
    "StudySummaryView",
    "VisitAssessment",
]

for _view, _name in (
    (CommandResult, "CommandResult"),
    (DataQuery, "DataQuery"),
    (SafetyTotals, "SafetyTotals"),
    (CriterionCount, "CriterionCount"),
    (EndpointRate, "EndpointRate"),
    (StudySummaryView, "StudySummary"),
):
    strawberry.type(_view, name=_name)


def view_fields(view: Any, *, without: tuple[str, ...] = (), **changed: Any) -> dict[str, Any]:
    """A view's fields by name, ``changed`` ones replaced: the view as a type's arguments."""
    kept = {field.name: getattr(view, field.name) for field in fields(view)}
    return {name: value for name, value in kept.items() if name not in without} | changed


# Deliberate twins of rules.eligibility's CriterionResult and EligibilityResult: the contract's
# detail is nullable, where every criterion gives one.
@strawberry.type(name="CriterionResult")
class CriterionAnswer:
    code: str
    met: bool | None
    detail: str | None


@strawberry.type
class Eligibility:
    eligible: bool
    criteria: list[CriterionAnswer]
    sledai_2k: int
    eular_acr_score: int
    creatinine_clearance: float | None
    rules_version: str
    data_queries: list[DataQuery]

    @classmethod
    def of(cls, view: EligibilityResult) -> Eligibility:
        criteria = [CriterionAnswer(**view_fields(criterion)) for criterion in view.criteria]
        return cls(**view_fields(view, criteria=criteria))


# A deliberate twin of domain.views.VisitView: the contract gives each endpoint's outcome a
# field of its own where the view keeps them by endpoint name.
@strawberry.type
class VisitAssessment:
    """A visit's view, with each endpoint's outcome as a field of its own."""

    visit: Visit
    visit_date: date
    in_window: bool
    sledai_2k: int
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
        outcomes = {name.lower(): verdict.outcome for name, verdict in view.outcomes.items()}
        return cls(**view_fields(view, without=("outcomes",), **outcomes))


# A deliberate twin of domain.views.AdverseEventView: the contract's AdverseEvent is the stored
# view plus reportingOverdue, which depends on when it is read (asOf, else now) and so is never
# stored (clinical-rules.md §8; the SAE clock).
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
        return cls(**view_fields(view, reporting_overdue=overdue))


@strawberry.type(name="Participant")
class ParticipantType:
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
    def of(cls, view: ParticipantView, *, pii: bool, read_at: datetime) -> ParticipantType:
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
            infused_at=view.infused_at,
            visits=[VisitAssessment.of(visit) for visit in view.visits],
            adverse_events=[
                AdverseEvent.of(ae, overdue=ae.overdue_at(read_at)) for ae in view.adverse_events
            ],
            as_of=view.as_of,
        )
