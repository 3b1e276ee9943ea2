"""What a participant's stream records, as typed values: each event's payload read once, and
the signature every event carries.

Each event's ``apply`` turns its JSON payload into these (``domain.codec``); the commands, the
views and the read models all read them, never the payloads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any

from domain.codec import build
from domain.inputs import AdverseEventReport, AdverseEventUpdate, ConsentDetails, VisitScore
from domain.rules.eligibility import EligibilityResult, ScreeningDetails, age_on
from domain.rules.kidney import ckd_epi_2021
from domain.vocabulary import Role, SeriousCriterion, Visit


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


@dataclass(frozen=True)
class RecordedScreening:
    """A screening and the decision recorded with it, under the rules version that made it."""

    details: ScreeningDetails
    result: EligibilityResult

    @cached_property
    def sri_baseline(self) -> VisitScore:
        return self.details.sri_baseline()


@dataclass
class RecordedVisit:
    """A scored visit as it stands: the latest values and whether a correction changed them."""

    score: VisitScore
    corrected: bool = False
    _assessment: VisitScore | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def visit(self) -> Visit:
        return self.score.visit

    @property
    def visit_date(self) -> date:
        return self.score.visit_date

    def assessment(self, consent: ConsentDetails) -> VisitScore:
        """The values as the rules read them: eGFR computed from creatinine (CKD-EPI 2021, with
        the age on the visit date) when not recorded. Derived once; ``consent`` is the
        participant's own, which never changes."""
        if self._assessment is None:
            score = self.score
            if score.egfr is None and score.creatinine_mg_dl is not None:
                age = age_on(consent.date_of_birth, score.visit_date)
                egfr = ckd_epi_2021(score.creatinine_mg_dl, age, consent.sex)
                score = build(VisitScore, **{**vars(score), "egfr": egfr})
            self._assessment = score
        return self._assessment


@dataclass
class RecordedAdverseEvent:
    """An adverse event as reported, with every later update folded in: a value an update
    leaves None stays as it was."""

    report: AdverseEventReport
    updates: list[AdverseEventUpdate] = field(default_factory=list)
    ctcae_grade: int = field(init=False)
    serious: frozenset[SeriousCriterion] = field(init=False)
    resolved_on: date | None = field(init=False, default=None)
    reported_to_sponsor_at: datetime | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.ctcae_grade = self.report.ctcae_grade
        self.serious = self.report.serious
        for update in self.updates:
            self._fold(update)

    def add(self, update: AdverseEventUpdate) -> None:
        self.updates.append(update)
        self._fold(update)

    def _fold(self, update: AdverseEventUpdate) -> None:
        if update.ctcae_grade is not None:
            self.ctcae_grade = update.ctcae_grade
        if update.serious is not None:
            self.serious = update.serious
        if update.resolved_on is not None:
            self.resolved_on = update.resolved_on
        if update.reported_to_sponsor_at is not None:
            self.reported_to_sponsor_at = update.reported_to_sponsor_at
