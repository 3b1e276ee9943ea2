"""What the record says about a participant: every score and outcome derived from its events.

Pure functions of a ``Participant`` (rebuilt from its stream): the same code serves the current
view, the ``atVersion`` / ``asOf`` views and the read models. Nothing here reads a clock: what
depends on when a view is read (an SAE report being overdue) is asked of the view by its reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from domain.participant import Participant
from domain.rules import RULES_VERSION
from domain.rules.assessment import DataQuery, VisitScore
from domain.rules.bilag import bilag_score
from domain.rules.damage import sdi_total
from domain.rules.eligibility import EligibilityResult
from domain.rules.endpoints import Verdict, VisitContext, evaluate_all
from domain.rules.safety import (
    ae_data_queries,
    is_serious,
    reporting_overdue,
    sae_reporting_due,
)
from domain.rules.schedule import in_window, study_day, target_date
from domain.rules.sledai import clinical_sledai, selena_sledai, sledai_2k, visit_lab_queries
from domain.rules.toxicity import (
    crs_data_queries,
    crs_grade,
    icans_data_queries,
    icans_grade,
    magic_grade,
)
from domain.vocabulary import (
    FOLLOW_UP_VISITS,
    AeCategory,
    ChronicGvhdSeverity,
    ParticipantStatus,
    Relatedness,
    SeriousCriterion,
    Sex,
    Visit,
    WithdrawalReason,
)


@dataclass(frozen=True)
class VisitView:
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
    outcomes: dict[str, Verdict]
    corrected: bool
    rules_version: str
    data_queries: tuple[DataQuery, ...]


@dataclass(frozen=True)
class AdverseEventView:
    ae_id: str
    term: str
    category: AeCategory
    onset_on: date
    ctcae_grade: int
    serious: bool
    serious_criteria: tuple[SeriousCriterion, ...]
    relatedness: Relatedness
    crs_grade: int | None
    icans_grade: int | None
    acute_gvhd_grade: int | None
    chronic_gvhd_severity: ChronicGvhdSeverity | None
    resolved_on: date | None
    aware_at: datetime
    reported_to_sponsor_at: datetime | None
    reporting_due_at: datetime | None
    days_from_infusion: int | None
    data_queries: tuple[DataQuery, ...]

    def overdue_at(self, reference: datetime) -> bool:
        """Whether the SAE's report to the sponsor is overdue when read at ``reference``."""
        return reporting_overdue(self.reporting_due_at, self.reported_to_sponsor_at, reference)


@dataclass(frozen=True)
class ParticipantView:
    id: UUID
    subject_id: str
    site: str
    status: ParticipantStatus
    version: int
    sex: Sex
    age_at_consent: int
    date_of_birth: date
    initials: str | None
    eligibility: EligibilityResult | None
    infused_at: datetime | None
    visits: tuple[VisitView, ...]
    adverse_events: tuple[AdverseEventView, ...]
    withdrawn_on: date | None
    withdrawal_reason: WithdrawalReason | None
    as_of: datetime | None = None


def participant_view(participant: Participant, as_of: datetime | None = None) -> ParticipantView:
    """The participant as the record stands, with derived values; ``as_of`` names the instant
    its events were read up to, for a point-in-time view."""
    return assembled_view(
        participant,
        visits=tuple(
            visit_view(participant, visit)
            for visit in (Visit.BASELINE, *FOLLOW_UP_VISITS)
            if visit in participant.visits
        ),
        adverse_events=tuple(
            adverse_event_view(participant, ae_id) for ae_id in participant.adverse_events
        ),
        as_of=as_of,
    )


def assembled_view(
    participant: Participant,
    visits: tuple[VisitView, ...],
    adverse_events: tuple[AdverseEventView, ...],
    as_of: datetime | None = None,
) -> ParticipantView:
    """The participant's view around visit and AE views derived already (``participant_view``
    derives them; the projector reuses those an event did not change)."""
    consent = participant.consent
    withdrawal = participant.withdrawal
    return ParticipantView(
        id=participant.id,
        subject_id=participant.subject_id,
        site=participant.site,
        status=participant.status,
        version=participant.version,
        sex=consent.sex,
        age_at_consent=consent.age_at_consent,
        date_of_birth=consent.date_of_birth,
        initials=consent.initials,
        eligibility=eligibility_view(participant),
        infused_at=None if participant.infusion is None else participant.infusion.infused_at,
        visits=visits,
        adverse_events=adverse_events,
        withdrawn_on=None if withdrawal is None else withdrawal.withdrawn_on,
        withdrawal_reason=None if withdrawal is None else withdrawal.reason,
        as_of=as_of,
    )


def eligibility_view(participant: Participant) -> EligibilityResult | None:
    """The latest screening's decision, as recorded with the rules version that made it."""
    return participant.screenings[-1].result if participant.screenings else None


def sri_baseline(participant: Participant) -> VisitScore | None:
    """The BASELINE visit when scored, else the latest screening (clinical-rules.md §4)."""
    baseline = participant.visits.get(Visit.BASELINE)
    if baseline is not None:
        return baseline.assessment(participant.consent)
    return participant.screenings[-1].sri_baseline if participant.screenings else None


def _assessment(participant: Participant, visit: Visit) -> VisitScore | None:
    recorded = participant.visits.get(visit)
    return None if recorded is None else recorded.assessment(participant.consent)


def visit_context(participant: Participant, visit: Visit) -> VisitContext:
    """Everything the endpoint rules need about ``visit``, scored or not."""
    baseline = sri_baseline(participant)
    current = _assessment(participant, visit)
    if visit is Visit.BASELINE:
        return VisitContext(visit, current, baseline, baseline, False, False)
    earlier = [
        v for v in FOLLOW_UP_VISITS[: FOLLOW_UP_VISITS.index(visit)] if v in participant.visits
    ]
    previous = _assessment(participant, earlier[-1]) if earlier else baseline
    withdrawn = False
    if participant.withdrawal is not None and participant.infusion_date is not None:
        target = target_date(visit, participant.infusion_date)
        withdrawn = participant.withdrawal.withdrawn_on <= target
    rescue_earlier = any(participant.visits[v].score.rescue_therapy for v in earlier)
    return VisitContext(visit, current, baseline, previous, withdrawn, rescue_earlier)


def visit_outcomes(participant: Participant, visit: Visit) -> dict[str, Verdict]:
    """Every endpoint's outcome at ``visit`` (also for a visit not scored)."""
    return evaluate_all(visit_context(participant, visit))


def visit_view(participant: Participant, visit: Visit) -> VisitView:
    recorded = participant.visits[visit]
    score = recorded.score
    infusion_day = participant.infusion_date
    return VisitView(
        visit=visit,
        visit_date=score.visit_date,
        in_window=(
            visit is Visit.BASELINE
            or infusion_day is None
            or in_window(visit, score.visit_date, infusion_day)
        ),
        sledai_2k=sledai_2k(score.sledai),
        selena_sledai=selena_sledai(
            score.sledai, score.arthritis_joint_count, score.proteinuria_new_or_increased
        ),
        clinical_sledai=clinical_sledai(score.sledai),
        bilag_score=bilag_score(score.bilag),
        pga=(score.pga_tenths or 0) / 10,  # a scored visit records one (Participant)
        sdi=None if score.sdi_items is None else sdi_total(score.sdi_items),
        egfr=recorded.assessment(participant.consent).egfr,
        outcomes=visit_outcomes(participant, visit),
        corrected=recorded.corrected,
        rules_version=RULES_VERSION,
        data_queries=tuple(visit_lab_queries(score.sledai, score.upcr_g_per_g)),
    )


def adverse_event_view(participant: Participant, ae_id: str) -> AdverseEventView:
    """An AE's latest state with its derived grades and its SAE reporting clock."""
    recorded = participant.adverse_events[ae_id]
    report = recorded.report
    grade = recorded.ctcae_grade
    criteria = tuple(sorted(recorded.serious))
    serious = is_serious(criteria)
    due = sae_reporting_due(report.aware_at, serious)
    queries = ae_data_queries(grade, serious)
    queries += crs_data_queries(report.crs) if report.crs else []
    queries += icans_data_queries(report.icans) if report.icans else []
    category = report.category
    infusion_day = participant.infusion_date
    return AdverseEventView(
        ae_id=ae_id,
        term=report.term,
        category=category,
        onset_on=report.onset_on,
        ctcae_grade=grade,
        serious=serious,
        serious_criteria=criteria,
        relatedness=report.relatedness,
        # Each toxicity is graded on the AEs of its own category only (clinical-rules.md §13).
        crs_grade=crs_grade(report.crs, grade) if category is AeCategory.CRS else None,
        icans_grade=icans_grade(report.icans, grade) if category is AeCategory.ICANS else None,
        acute_gvhd_grade=(
            magic_grade(report.acute_gvhd) if category is AeCategory.ACUTE_GVHD else None
        ),
        chronic_gvhd_severity=report.chronic_gvhd,
        resolved_on=recorded.resolved_on,
        aware_at=report.aware_at,
        reported_to_sponsor_at=recorded.reported_to_sponsor_at,
        reporting_due_at=due,
        days_from_infusion=None
        if infusion_day is None
        else study_day(infusion_day, report.onset_on),
        data_queries=tuple(queries),
    )
