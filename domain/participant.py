"""The Participant aggregate: every fact about one trial participant as an immutable event.

Command methods (``screen``, ``score_visit`` …) check the workflow rules and then trigger one
past-tense event carrying its inputs as JSON payloads (``domain.codec``); the event's ``apply``
reads them into the typed state of ``domain.recorded`` once, so replaying the stream rebuilds
exactly the recorded state.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.codec import decode, encode
from domain.errors import (
    BadInput,
    DomainRuleViolation,
    NotFound,
    check_not_before,
    check_not_future,
    check_reason,
    require,
)
from domain.inputs import (
    AdverseEventReport,
    AdverseEventUpdate,
    ConsentDetails,
    InfusionDetails,
    RecordedInfusion,
    ScreeningDetails,
    VisitScore,
    Withdrawal,
)
from domain.recorded import RecordedAdverseEvent, RecordedScreening, RecordedVisit, Signature
from domain.rules import RULES_VERSION
from domain.rules.assessment import check_damage
from domain.rules.eligibility import EligibilityResult, evaluate_eligibility
from domain.rules.schedule import check_visit_date, infusion_date
from domain.vocabulary import ParticipantStatus, Visit

TRIAL = "CHT101"
_PARTICIPANT_NAMESPACE = UUID("6f1f2b8e-8c59-4c41-9a57-3c1d0a6c7e10")


def participant_id(subject_id: str, trial: str = TRIAL) -> UUID:
    """The participant's stream id, derived from (trial, subject id) so a subject consents once."""
    return uuid5(_PARTICIPANT_NAMESPACE, f"{trial}/{subject_id}")


class Participant(Aggregate):
    """One participant's event stream, from consent to the last follow-up visit."""

    class Event(Aggregate.Event):
        actor: str
        actor_role: str
        actor_site: str | None
        submitted_at: datetime
        idempotency_key: str | None

    class Consented(Event, Aggregate.Created):
        trial: str
        subject_id: str
        consent: dict[str, Any]

    class Screened(Event):
        screening: dict[str, Any]
        result: dict[str, Any]
        rules_version: str

        def apply(self, aggregate: Participant) -> None:
            result = decode(EligibilityResult, {**self.result, "rules_version": self.rules_version})
            details = decode(ScreeningDetails, self.screening)
            aggregate.screenings.append(RecordedScreening(details, result))

    class Infused(Event):
        infusion: dict[str, Any]

        def apply(self, aggregate: Participant) -> None:
            aggregate.infusion = decode(RecordedInfusion, self.infusion)

    class VisitScored(Event):
        visit: str
        score: dict[str, Any]

        def apply(self, aggregate: Participant) -> None:
            aggregate.visits[Visit(self.visit)] = RecordedVisit(decode(VisitScore, self.score))

    class VisitCorrected(Event):
        visit: str
        score: dict[str, Any]
        reason: str

        def apply(self, aggregate: Participant) -> None:
            score = decode(VisitScore, self.score)
            aggregate.visits[Visit(self.visit)] = RecordedVisit(score, corrected=True)

    class AdverseEventReported(Event):
        ae_id: str
        report: dict[str, Any]

        def apply(self, aggregate: Participant) -> None:
            report = decode(AdverseEventReport, self.report)
            aggregate.adverse_events[self.ae_id] = RecordedAdverseEvent(report)

    class AdverseEventUpdated(Event):
        ae_id: str
        update: dict[str, Any]
        reason: str

        def apply(self, aggregate: Participant) -> None:
            update = {**self.update, "ae_id": self.ae_id, "reason": self.reason}
            aggregate.adverse_events[self.ae_id].add(decode(AdverseEventUpdate, update))

    class Withdrawn(Event):
        withdrawal: dict[str, Any]

        def apply(self, aggregate: Participant) -> None:
            aggregate.withdrawal = decode(Withdrawal, self.withdrawal)

    @staticmethod
    def create_id(trial: str, subject_id: str, **_: Any) -> UUID:
        return participant_id(subject_id, trial)

    @event(Consented)
    def __init__(
        self,
        trial: str,
        subject_id: str,
        consent: dict[str, Any],
        actor: str,
        actor_role: str,
        actor_site: str | None,
        submitted_at: datetime,
        idempotency_key: str | None,
    ) -> None:
        self.trial = trial
        self.subject_id = subject_id
        self.consent = decode(ConsentDetails, consent)
        self.screenings: list[RecordedScreening] = []
        self.infusion: RecordedInfusion | None = None
        self.visits: dict[Visit, RecordedVisit] = {}
        self.adverse_events: dict[str, RecordedAdverseEvent] = {}
        self.withdrawal: Withdrawal | None = None

    @classmethod
    def enrol(cls, consent: ConsentDetails, today: date, signature: Signature) -> Participant:
        """Record a signed consent: the participant's stream starts here."""
        check_not_future(consent.signed_on, today, "consent signature date")
        check_not_future(consent.date_of_birth, today, "date of birth")
        return cls(
            trial=TRIAL,
            subject_id=consent.subject_id,
            consent=encode(consent),
            **signature.fields(),
        )

    @property
    def status(self) -> ParticipantStatus:
        if self.withdrawal is not None:
            return ParticipantStatus.WITHDRAWN
        if Visit.M12 in self.visits:
            return ParticipantStatus.COMPLETED
        if self.infusion is not None:
            return ParticipantStatus.INFUSED
        if self.screenings:
            eligible = self.screenings[-1].result.eligible
            return ParticipantStatus.ELIGIBLE if eligible else ParticipantStatus.SCREEN_FAILED
        return ParticipantStatus.CONSENTED

    @property
    def site(self) -> str:
        return self.consent.site

    @property
    def infusion_date(self) -> date | None:
        """The infusion's date in the trial's time zone: day 0 of every study day."""
        return None if self.infusion is None else self.infusion.infusion_date

    # ----- commands -----

    def screen(self, screening: ScreeningDetails, today: date, signature: Signature) -> None:
        """Evaluate every eligibility criterion and record the inputs, results and decision."""
        if self.status not in (ParticipantStatus.CONSENTED, ParticipantStatus.SCREEN_FAILED):
            raise DomainRuleViolation(
                "SCREENING_NEEDS_CONSENT",
                f"screening needs a consented participant or a screen failure; "
                f"participant is {self.status.value}",
            )
        check_not_future(screening.screened_on, today, "screening date")
        if screening.labs.hcg_negative_on is not None:
            check_not_future(screening.labs.hcg_negative_on, today, "negative serum hCG date")
        self._check_not_before_consent(screening.screened_on, "screening date")
        result = evaluate_eligibility(
            screening, date_of_birth=self.consent.date_of_birth, sex=self.consent.sex
        )
        self.trigger_event(
            self.Screened,
            screening=encode(screening),
            result=encode(result, omit=("rules_version",)),
            rules_version=RULES_VERSION,
            **signature.fields(),
        )

    def record_infusion(
        self, infusion: InfusionDetails, now: datetime, time_zone: str, signature: Signature
    ) -> None:
        """Record the CHT101 infusion: once, and only after an eligible screening."""
        if self.infusion is not None:
            raise DomainRuleViolation("INFUSION_ONCE", "the participant was already infused")
        if self.status is not ParticipantStatus.ELIGIBLE:
            raise DomainRuleViolation(
                "INFUSION_NEEDS_ELIGIBILITY",
                f"infusion needs an eligible latest screening; participant is {self.status.value}",
            )
        check_not_future(infusion.infused_at, now, "infusion time")
        day = infusion_date(infusion.infused_at, time_zone)
        screened_on = self.screenings[-1].details.screened_on
        check_not_before(day, screened_on, "INFUSION_AFTER_SCREENING", "infusion date",
                         "screening date")  # fmt: skip
        baseline = self.visits.get(Visit.BASELINE)
        if baseline is not None and baseline.visit_date > day:
            raise DomainRuleViolation(
                "BASELINE_BEFORE_INFUSION",
                f"the BASELINE visit of {baseline.visit_date} is after the infusion date {day}",
            )
        recorded = RecordedInfusion(
            infusion.infused_at, infusion.dose_cells_per_kg, infusion.lot, day, time_zone
        )
        self.trigger_event(self.Infused, infusion=encode(recorded), **signature.fields())

    def score_visit(self, score: VisitScore, today: date, signature: Signature) -> None:
        """Score a BASELINE or M1–M12 visit, once; later changes go through a correction."""
        if self.withdrawal is not None:
            raise DomainRuleViolation(
                "NO_VISIT_AFTER_WITHDRAWAL", "the participant withdrew; no new visit is recorded"
            )
        if score.visit in self.visits:
            raise DomainRuleViolation(
                "VISIT_SCORED_ONCE",
                f"{score.visit.value} is already scored; change it with a correction and a reason",
            )
        self._check_visit(score, today)
        self.trigger_event(
            self.VisitScored,
            visit=score.visit.value,
            score=encode(score),
            **signature.fields(),
        )

    def correct_visit(
        self, score: VisitScore, reason: str, today: date, signature: Signature
    ) -> None:
        """Replace a scored visit's values with a reason; the earlier ones stay in the stream."""
        if score.visit not in self.visits:
            raise DomainRuleViolation(
                "CORRECTION_NEEDS_SCORED_VISIT", f"{score.visit.value} has not been scored"
            )
        check_reason(reason)
        self._check_visit(score, today)
        self.trigger_event(
            self.VisitCorrected,
            visit=score.visit.value,
            score=encode(score),
            reason=reason,
            **signature.fields(),
        )

    def report_adverse_event(
        self, report: AdverseEventReport, now: datetime, today: date, signature: Signature
    ) -> None:
        """Report a new adverse event under a participant-unique AE id."""
        if report.ae_id in self.adverse_events:
            raise DomainRuleViolation(
                "AE_ID_UNIQUE", f"adverse event {report.ae_id} is already reported"
            )
        check_not_future(report.onset_on, today, "AE onset date")
        self._check_not_before_consent(report.onset_on, "AE onset date")
        check_not_future(report.aware_at, now, "awareness time")
        self.trigger_event(
            self.AdverseEventReported,
            ae_id=report.ae_id,
            report=encode(report),
            **signature.fields(),
        )

    def update_adverse_event(
        self, update: AdverseEventUpdate, now: datetime, today: date, signature: Signature
    ) -> None:
        """Update a reported AE (allowed after withdrawal too), with a reason."""
        recorded = self.adverse_events.get(update.ae_id)
        if recorded is None:
            raise NotFound("AE_EXISTS", f"adverse event {update.ae_id} was never reported")
        check_reason(update.reason)
        if update.resolved_on is not None:
            check_not_future(update.resolved_on, today, "AE resolution date")
            onset = recorded.report.onset_on
            check_not_before(update.resolved_on, onset, "AE_RESOLVED_AFTER_ONSET",
                             "resolution date", "onset date")  # fmt: skip
        if update.reported_to_sponsor_at is not None:
            check_not_future(update.reported_to_sponsor_at, now, "sponsor report time")
        self.trigger_event(
            self.AdverseEventUpdated,
            ae_id=update.ae_id, update=encode(update, omit=("ae_id", "reason")),
            reason=update.reason,
            **signature.fields(),
        )  # fmt: skip

    def withdraw(self, withdrawal: Withdrawal, today: date, signature: Signature) -> None:
        """Record the participant's withdrawal from the study, once."""
        if self.withdrawal is not None:
            raise DomainRuleViolation("WITHDRAWAL_ONCE", "the participant already withdrew")
        check_not_future(withdrawal.withdrawn_on, today, "withdrawal date")
        self._check_not_before_consent(withdrawal.withdrawn_on, "withdrawal date")
        self.trigger_event(self.Withdrawn, withdrawal=encode(withdrawal), **signature.fields())

    def _check_visit(self, score: VisitScore, today: date) -> None:
        # A time point of the rules may lack them (the screening); a scored visit records both.
        require(
            score.pga_tenths is not None and score.prednisone_mg_per_day is not None,
            "VISIT_VALUES",
            f"{score.visit.value} records its PGA and its prednisone-equivalent dose",
        )
        check_not_future(score.visit_date, today, "visit date")
        self._check_not_before_consent(score.visit_date, "visit date")
        if score.visit is Visit.BASELINE:
            if not (self.screenings and self.screenings[-1].result.eligible):
                raise DomainRuleViolation(
                    "BASELINE_NEEDS_ELIGIBILITY", "BASELINE needs an eligible latest screening"
                )
        elif self.infusion_date is None:
            raise DomainRuleViolation(
                "VISIT_NEEDS_INFUSION", f"{score.visit.value} needs the infusion to be recorded"
            )
        if self.infusion_date is not None:
            try:
                check_visit_date(score.visit, score.visit_date, self.infusion_date)
            except BadInput as error:
                # The date itself is well formed; it breaks a rule of the recorded infusion date.
                raise DomainRuleViolation(error.rule, error.message) from error
        recorded = {visit: v.score for visit, v in self.visits.items()}
        check_damage(recorded | {score.visit: score})

    def _check_not_before_consent(self, day: date, what: str) -> None:
        signed_on = self.consent.signed_on
        check_not_before(day, signed_on, "NOT_BEFORE_CONSENT", what, "consent signature date")
