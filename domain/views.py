"""What the record says about a participant: every score and outcome derived from its events.

Pure functions of a ``Participant`` (rebuilt from its stream): the same code serves the current
view, the ``atVersion`` / ``asOf`` views and the read models. Nothing here reads a clock: what
depends on when a view is read (an SAE report being overdue) is asked of the view by its reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from typing import Any
from uuid import UUID

from domain.inputs import (
    ScreeningDetails,
    VisitScore,
    parse_date,
    parse_instant,
)
from domain.participant import Participant
from domain.rules import RULES_VERSION
from domain.rules.assessment import Assessment, DataQuery
from domain.rules.bilag import bilag_score
from domain.rules.damage import sdi_total
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
)


@dataclass(frozen=True)
class CriterionView:
    code: str
    met: bool | None
    detail: str


@dataclass(frozen=True)
class EligibilityView:
    eligible: bool
    criteria: tuple[CriterionView, ...]
    sledai_2k: int
    eular_acr_score: int
    creatinine_clearance: float | None
    rules_version: str
    data_queries: tuple[DataQuery, ...]


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
    eligibility: EligibilityView | None
    infused_at: datetime | None
    visits: tuple[VisitView, ...]
    adverse_events: tuple[AdverseEventView, ...]
    withdrawn_on: date | None
    withdrawal_reason: str | None
    as_of: datetime | None = None


def participant_view(participant: Participant, as_of: datetime | None = None) -> ParticipantView:
    """The participant as the record stands, with derived values; ``as_of`` names the instant
    its events were read up to, for a point-in-time view."""
    consent = participant.consent
    withdrawal = participant.withdrawal
    infused_at = None if participant.infusion is None else participant.infusion["infused_at"]
    scored = ScoredVisits(participant)
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
        infused_at=parse_instant(infused_at),
        visits=tuple(
            visit_view(participant, visit, scored)
            for visit in (Visit.BASELINE, *FOLLOW_UP_VISITS)
            if visit in participant.visits
        ),
        adverse_events=tuple(
            adverse_event_view(participant, ae_id) for ae_id in participant.adverse_events
        ),
        withdrawn_on=None if withdrawal is None else parse_date(withdrawal["withdrawn_on"]),
        withdrawal_reason=None if withdrawal is None else withdrawal["reason"],
        as_of=as_of,
    )


def eligibility_view(participant: Participant) -> EligibilityView | None:
    """The latest screening's decision, as recorded with the rules version that made it."""
    if not participant.screenings:
        return None
    latest = participant.screenings[-1]
    result = latest["result"]
    return EligibilityView(
        eligible=result["eligible"],
        criteria=tuple(CriterionView(**criterion) for criterion in result["criteria"]),
        sledai_2k=result["sledai_2k"],
        eular_acr_score=result["eular_acr_score"],
        creatinine_clearance=result["creatinine_clearance"],
        rules_version=latest.get("rules_version", RULES_VERSION),
        data_queries=tuple(DataQuery(**query) for query in result["data_queries"]),
    )


class ScoredVisits:
    """A participant's recorded visit scores, each parsed and assessed once per derivation.

    Every visit's outcomes look back at the baseline and the earlier visits; parsing the
    stored payloads once instead of once per look keeps a whole view linear in its visits.
    """

    def __init__(self, participant: Participant) -> None:
        self.participant = participant
        self._scores: dict[Visit, VisitScore] = {}
        self._assessments: dict[Visit, Assessment] = {}

    def score(self, visit: Visit) -> VisitScore | None:
        if visit not in self._scores:
            recorded = self.participant.visits.get(visit)
            if recorded is None:
                return None
            self._scores[visit] = recorded.parsed
        return self._scores[visit]

    def assessment(self, visit: Visit) -> Assessment | None:
        if visit not in self._assessments:
            recorded = self.participant.visits.get(visit)
            if recorded is None:
                return None
            self._assessments[visit] = recorded.assessment(self.participant.consent)
        return self._assessments[visit]

    @cached_property
    def sri_baseline(self) -> Assessment | None:
        """The BASELINE visit when scored, else the latest screening (clinical-rules.md §4)."""
        baseline = self.assessment(Visit.BASELINE)
        if baseline is None and self.participant.screenings:
            screening = self.participant.screenings[-1]["screening"]
            baseline = ScreeningDetails.from_payload(screening).to_assessment()
        return baseline


def visit_context(
    participant: Participant, visit: Visit, scored: ScoredVisits | None = None
) -> VisitContext:
    """Everything the endpoint rules need about ``visit``, scored or not."""
    scored = scored or ScoredVisits(participant)
    baseline = scored.sri_baseline
    current = scored.assessment(visit)
    if visit is Visit.BASELINE:
        return VisitContext(visit, current, baseline, baseline, False, False)
    earlier = [
        v for v in FOLLOW_UP_VISITS[: FOLLOW_UP_VISITS.index(visit)] if v in participant.visits
    ]
    previous = scored.assessment(earlier[-1]) if earlier else baseline
    withdrawn = False
    if participant.withdrawal is not None and participant.infusion_date is not None:
        withdrawn_on = date.fromisoformat(participant.withdrawal["withdrawn_on"])
        withdrawn = withdrawn_on <= target_date(visit, participant.infusion_date)
    rescue_earlier = any(s.rescue_therapy for v in earlier if (s := scored.score(v)) is not None)
    return VisitContext(visit, current, baseline, previous, withdrawn, rescue_earlier)


def visit_outcomes(
    participant: Participant, visit: Visit, scored: ScoredVisits | None = None
) -> dict[str, Verdict]:
    """Every endpoint's outcome at ``visit`` (also for a visit not scored)."""
    return evaluate_all(visit_context(participant, visit, scored))


def visit_view(
    participant: Participant, visit: Visit, scored: ScoredVisits | None = None
) -> VisitView:
    scored = scored or ScoredVisits(participant)
    recorded = participant.visits[visit]
    score = scored.score(visit)
    assessment = scored.assessment(visit)
    assert score is not None and assessment is not None
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
        pga=score.pga_tenths / 10,
        sdi=None if score.sdi_items is None else sdi_total(score.sdi_items),
        egfr=assessment.egfr,
        outcomes=visit_outcomes(participant, visit, scored),
        corrected=recorded.corrected,
        rules_version=RULES_VERSION,
        data_queries=tuple(visit_lab_queries(score.sledai, score.upcr_g_per_g)),
    )


def adverse_event_view(participant: Participant, ae_id: str) -> AdverseEventView:
    """An AE's latest state with its derived grades and its SAE reporting clock."""
    recorded = participant.adverse_events[ae_id]
    state: dict[str, Any] = recorded.current
    grade = int(state["ctcae_grade"])
    criteria = tuple(SeriousCriterion(c) for c in state["serious"])
    serious = is_serious(criteria)
    aware_at = datetime.fromisoformat(state["aware_at"])
    reported = parse_instant(state.get("reported_to_sponsor_at"))
    due = sae_reporting_due(aware_at, serious)
    onset = date.fromisoformat(state["onset_on"])
    crs, icans, gvhd = recorded.signs
    queries = ae_data_queries(grade, serious)
    queries += crs_data_queries(crs) if crs else []
    queries += icans_data_queries(icans) if icans else []
    chronic = state["chronic_gvhd"]
    category = AeCategory(state["category"])
    return AdverseEventView(
        ae_id=ae_id,
        term=state["term"],
        category=category,
        onset_on=onset,
        ctcae_grade=grade,
        serious=serious,
        serious_criteria=criteria,
        relatedness=Relatedness(state["relatedness"]),
        # Each toxicity is graded on the AEs of its own category only (clinical-rules.md §13).
        crs_grade=crs_grade(crs, grade) if category is AeCategory.CRS else None,
        icans_grade=icans_grade(icans, grade) if category is AeCategory.ICANS else None,
        acute_gvhd_grade=magic_grade(gvhd) if category is AeCategory.ACUTE_GVHD else None,
        chronic_gvhd_severity=None if chronic is None else ChronicGvhdSeverity(chronic),
        resolved_on=parse_date(state.get("resolved_on")),
        aware_at=aware_at,
        reported_to_sponsor_at=reported,
        reporting_due_at=due,
        days_from_infusion=(
            None
            if participant.infusion_date is None
            else study_day(participant.infusion_date, onset)
        ),
        data_queries=tuple(queries),
    )
