"""The Participant aggregate: every fact about one trial participant as an immutable event.

Command methods (``screen``, ``score_visit`` …) check the workflow rules and then trigger one
past-tense event; the event's body only applies what it carries, so replaying the stream
rebuilds exactly the recorded state. Payloads are plain JSON values (see ``domain.inputs``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import BadInput, DomainRuleViolation, NotFound
from domain.inputs import (
    AdverseEventReport,
    AdverseEventUpdate,
    ConsentDetails,
    InfusionDetails,
    ScreeningDetails,
    VisitScore,
    Withdrawal,
    crs_signs,
    gvhd_stages,
    icans_signs,
    storable,
)
from domain.rules import RULES_VERSION
from domain.rules.assessment import Assessment
from domain.rules.damage import check_sdi_never_decreases, sdi_total
from domain.rules.eligibility import evaluate_eligibility
from domain.rules.schedule import check_visit_date, infusion_date
from domain.rules.toxicity import CrsSigns, GvhdStages, IcansSigns
from domain.vocabulary import ParticipantStatus, Role, Visit

TRIAL = "CHT101"
_PARTICIPANT_NAMESPACE = UUID("6f1f2b8e-8c59-4c41-9a57-3c1d0a6c7e10")
VISIT_ORDER: tuple[Visit, ...] = tuple(Visit)


def participant_id(subject_id: str, trial: str = TRIAL) -> UUID:
    """The participant's stream id, derived from (trial, subject id) so a subject consents once."""
    return uuid5(_PARTICIPANT_NAMESPACE, f"{trial}/{subject_id}")


@dataclass(frozen=True)
class Signature:
    """Who submitted a command, when (server clock, UTC) and under which idempotency key."""

    actor: str
    actor_role: Role
    actor_site: str | None
    submitted_at: datetime
    idempotency_key: str | None = None

    def fields(self) -> dict[str, Any]:
        return {
            "actor": self.actor,
            "actor_role": self.actor_role.value,
            "actor_site": self.actor_site,
            "submitted_at": self.submitted_at,
            "idempotency_key": self.idempotency_key,
        }


@dataclass
class RecordedVisit:
    """A scored visit as it stands: the latest values and whether a correction changed them."""

    visit: Visit
    visit_date: date
    score: dict[str, Any]
    corrected: bool = False
    _assessment: Assessment | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def of(cls, score: dict[str, Any], *, corrected: bool) -> RecordedVisit:
        return cls(Visit(score["visit"]), date.fromisoformat(score["visit_date"]), score, corrected)

    @cached_property
    def parsed(self) -> VisitScore:
        """The recorded values as a ``VisitScore``, parsed once: every later derivation of the
        participant (each event's view, each read model) reuses it."""
        return VisitScore.from_payload(self.score)

    def assessment(self, consent: ConsentDetails) -> Assessment:
        """The values as the rules read them (eGFR computed from creatinine when not recorded,
        with the age on the visit date), assessed once. ``consent`` is the participant's own,
        which never changes: the first call's is the one the result keeps."""
        if self._assessment is None:
            egfr = self.parsed.effective_egfr(consent.date_of_birth, consent.sex)
            self._assessment = self.parsed.to_assessment(egfr)
        return self._assessment


@dataclass
class RecordedAdverseEvent:
    """An adverse event as reported, with every later update folded in."""

    report: dict[str, Any]
    updates: list[dict[str, Any]] = field(default_factory=list)
    current: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.current = dict(self.report)
        for update in self.updates:
            self._fold(update)

    def add(self, update: dict[str, Any]) -> None:
        """Fold in one more update: a value it leaves None stays as it was."""
        self.updates.append(update)
        self._fold(update)

    def _fold(self, update: dict[str, Any]) -> None:
        self.current.update({key: value for key, value in update.items() if value is not None})

    @cached_property
    def signs(self) -> tuple[CrsSigns | None, IcansSigns | None, GvhdStages | None]:
        """The report's CRS, ICANS and acute GVHD signs, parsed once: no update changes them."""
        return (
            crs_signs(self.report["crs"]),
            icans_signs(self.report["icans"]),
            gvhd_stages(self.report["acute_gvhd"]),
        )


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
            aggregate.screenings.append(
                {"screening": self.screening, "result": self.result,
                 "rules_version": self.rules_version}
            )  # fmt: skip

    class Infused(Event):
        infusion: dict[str, Any]

        def apply(self, aggregate: Participant) -> None:
            aggregate.infusion = self.infusion
            aggregate.infusion_date = date.fromisoformat(self.infusion["infusion_date"])

    class VisitScored(Event):
        visit: str
        score: dict[str, Any]

        def apply(self, aggregate: Participant) -> None:
            aggregate.visits[Visit(self.visit)] = RecordedVisit.of(self.score, corrected=False)

    class VisitCorrected(Event):
        visit: str
        score: dict[str, Any]
        reason: str

        def apply(self, aggregate: Participant) -> None:
            aggregate.visits[Visit(self.visit)] = RecordedVisit.of(self.score, corrected=True)

    class AdverseEventReported(Event):
        ae_id: str
        report: dict[str, Any]

        def apply(self, aggregate: Participant) -> None:
            aggregate.adverse_events[self.ae_id] = RecordedAdverseEvent(self.report)

    class AdverseEventUpdated(Event):
        ae_id: str
        update: dict[str, Any]
        reason: str

        def apply(self, aggregate: Participant) -> None:
            aggregate.adverse_events[self.ae_id].add(self.update)

    class Withdrawn(Event):
        withdrawal: dict[str, Any]

        def apply(self, aggregate: Participant) -> None:
            aggregate.withdrawal = self.withdrawal

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
        self.consent = ConsentDetails.from_payload(consent)
        self.screenings: list[dict[str, Any]] = []
        self.infusion: dict[str, Any] | None = None
        self.infusion_date: date | None = None
        self.visits: dict[Visit, RecordedVisit] = {}
        self.adverse_events: dict[str, RecordedAdverseEvent] = {}
        self.withdrawal: dict[str, Any] | None = None

    @classmethod
    def enrol(cls, consent: ConsentDetails, today: date, signature: Signature) -> Participant:
        """Record a signed consent: the participant's stream starts here."""
        _check_not_future(consent.signed_on, today, "consent signature date")
        _check_not_future(consent.date_of_birth, today, "date of birth")
        return cls(
            trial=TRIAL,
            subject_id=consent.subject_id,
            consent=consent.to_payload(),
            **signature.fields(),
        )

    # ----- derived state -----

    @property
    def status(self) -> ParticipantStatus:
        if self.withdrawal is not None:
            return ParticipantStatus.WITHDRAWN
        if Visit.M12 in self.visits:
            return ParticipantStatus.COMPLETED
        if self.infusion is not None:
            return ParticipantStatus.INFUSED
        if self.screenings:
            eligible = self.screenings[-1]["result"]["eligible"]
            return ParticipantStatus.ELIGIBLE if eligible else ParticipantStatus.SCREEN_FAILED
        return ParticipantStatus.CONSENTED

    @property
    def site(self) -> str:
        return self.consent.site

    # ----- commands -----

    def screen(self, screening: ScreeningDetails, today: date, signature: Signature) -> None:
        """Evaluate every eligibility criterion and record the inputs, results and decision."""
        if self.status not in (ParticipantStatus.CONSENTED, ParticipantStatus.SCREEN_FAILED):
            raise DomainRuleViolation(
                "SCREENING_NEEDS_CONSENT",
                f"screening needs a consented participant or a screen failure; "
                f"participant is {self.status.value}",
            )
        _check_not_future(screening.screened_on, today, "screening date")
        if screening.labs.hcg_negative_on is not None:
            _check_not_future(screening.labs.hcg_negative_on, today, "negative serum hCG date")
        self._check_not_before_consent(screening.screened_on, "screening date")
        result = evaluate_eligibility(screening.to_rules_input(self.consent))
        self.trigger_event(
            self.Screened,
            screening=screening.to_payload(),
            result=_eligibility_payload(result),
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
        if infusion.infused_at > now:
            raise DomainRuleViolation(
                "NO_FUTURE_DATE",
                f"infusion time {infusion.infused_at.isoformat()} is in the future",
            )
        day = infusion_date(infusion.infused_at, time_zone)
        screened_on = date.fromisoformat(self.screenings[-1]["screening"]["screened_on"])
        if day < screened_on:
            raise DomainRuleViolation(
                "INFUSION_AFTER_SCREENING",
                f"infusion date {day} is before the screening date {screened_on}",
            )
        baseline = self.visits.get(Visit.BASELINE)
        if baseline is not None and baseline.visit_date > day:
            raise DomainRuleViolation(
                "BASELINE_BEFORE_INFUSION",
                f"the BASELINE visit of {baseline.visit_date} is after the infusion date {day}",
            )
        payload = {
            **infusion.to_payload(),
            "infusion_date": day.isoformat(),
            "time_zone": time_zone,
        }
        self.trigger_event(self.Infused, infusion=payload, **signature.fields())

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
            score=score.to_payload(),
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
        _check_reason(reason)
        self._check_visit(score, today)
        self.trigger_event(
            self.VisitCorrected,
            visit=score.visit.value,
            score=score.to_payload(),
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
        _check_not_future(report.onset_on, today, "AE onset date")
        self._check_not_before_consent(report.onset_on, "AE onset date")
        if report.aware_at > now:
            raise DomainRuleViolation(
                "NO_FUTURE_DATE", f"awareness time {report.aware_at.isoformat()} is in the future"
            )
        self.trigger_event(
            self.AdverseEventReported,
            ae_id=report.ae_id,
            report=report.to_payload(),
            **signature.fields(),
        )

    def update_adverse_event(
        self, update: AdverseEventUpdate, now: datetime, today: date, signature: Signature
    ) -> None:
        """Update a reported AE (allowed after withdrawal too), with a reason."""
        recorded = self.adverse_events.get(update.ae_id)
        if recorded is None:
            raise NotFound("AE_EXISTS", f"adverse event {update.ae_id} was never reported")
        _check_reason(update.reason)
        if update.resolved_on is not None:
            _check_not_future(update.resolved_on, today, "AE resolution date")
            onset = date.fromisoformat(recorded.report["onset_on"])
            if update.resolved_on < onset:
                raise DomainRuleViolation(
                    "AE_RESOLVED_AFTER_ONSET",
                    f"resolution date {update.resolved_on} is before the onset date {onset}",
                )
        if update.reported_to_sponsor_at is not None and update.reported_to_sponsor_at > now:
            raise DomainRuleViolation(
                "NO_FUTURE_DATE",
                f"sponsor report time {update.reported_to_sponsor_at.isoformat()} is in the future",
            )
        self.trigger_event(
            self.AdverseEventUpdated,
            ae_id=update.ae_id, update=update.to_payload(), reason=update.reason,
            **signature.fields(),
        )  # fmt: skip

    def withdraw(self, withdrawal: Withdrawal, today: date, signature: Signature) -> None:
        """Record the participant's withdrawal from the study, once."""
        if self.withdrawal is not None:
            raise DomainRuleViolation("WITHDRAWAL_ONCE", "the participant already withdrew")
        _check_not_future(withdrawal.withdrawn_on, today, "withdrawal date")
        self._check_not_before_consent(withdrawal.withdrawn_on, "withdrawal date")
        self.trigger_event(self.Withdrawn, withdrawal=withdrawal.to_payload(), **signature.fields())

    # ----- guards -----

    def _check_visit(self, score: VisitScore, today: date) -> None:
        _check_not_future(score.visit_date, today, "visit date")
        self._check_not_before_consent(score.visit_date, "visit date")
        if score.visit is Visit.BASELINE:
            if not (self.screenings and self.screenings[-1]["result"]["eligible"]):
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
        self._check_damage(score)

    def _check_damage(self, score: VisitScore) -> None:
        recorded = {visit: v.parsed for visit, v in self.visits.items()}
        recorded[score.visit] = score
        check_sdi_never_decreases(
            [
                (visit.value, None if s.sdi_items is None else sdi_total(s.sdi_items))
                for visit in VISIT_ORDER
                if (s := recorded.get(visit)) is not None
            ]
        )

    def _check_not_before_consent(self, day: date, what: str) -> None:
        if day < self.consent.signed_on:
            raise DomainRuleViolation(
                "NOT_BEFORE_CONSENT",
                f"{what} {day} is before the consent signature date {self.consent.signed_on}",
            )


def _check_not_future(day: date, today: date, what: str) -> None:
    if day > today:
        raise DomainRuleViolation("NO_FUTURE_DATE", f"{what} {day} is in the future")


def _check_reason(reason: str) -> None:
    storable(reason, "REASON", "reason")
    if not reason.strip():
        raise DomainRuleViolation("REASON_REQUIRED", "a correction or update needs a reason")


def _eligibility_payload(result: Any) -> dict[str, Any]:
    return {
        "eligible": result.eligible,
        "criteria": [{"code": c.code, "met": c.met, "detail": c.detail} for c in result.criteria],
        "sledai_2k": result.sledai_2k,
        "eular_acr_score": result.eular_acr_score,
        "creatinine_clearance": result.creatinine_clearance,
        "data_queries": [{"code": q.code, "message": q.message} for q in result.data_queries],
    }
