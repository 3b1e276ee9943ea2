"""Read model: the study's flow diagram and endpoint rates (contract ``StudySummary``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.application import TrialApplication
from domain.participant import Participant
from domain.rules.eligibility import CRITERION_CODES
from domain.rules.endpoints import ENDPOINTS
from domain.views import eligibility_view, visit_outcomes
from domain.vocabulary import FOLLOW_UP_VISITS, Outcome, Visit
from projections.base import ParticipantProjection
from projections.replay import events_until, fold, versions_until
from projections.store import Docs, ReadModelStore

KEY = "summary"
EVALUABLE = (Outcome.RESPONDER.value, Outcome.NON_RESPONDER.value)


@dataclass(frozen=True)
class CriterionCount:
    code: str
    count: int


@dataclass(frozen=True)
class EndpointRate:
    """An endpoint's responders at a visit; ``rate`` unrounded, None when none is evaluable."""

    endpoint: str
    visit: Visit
    responders: int
    evaluable: int
    rate: float | None


@dataclass(frozen=True)
class StudySummaryView:
    as_of: datetime | None
    consented: int
    screen_failed: int
    eligible: int
    infused: int
    withdrawn: int
    screen_failures_by_criterion: tuple[CriterionCount, ...]
    endpoints: tuple[EndpointRate, ...]


class StudySummaryProjection(ParticipantProjection):
    name = "study_summary"

    @staticmethod
    def rows(participant: Participant) -> Docs:
        return {KEY: summary_row(participant)}


def _failed(code: str, met: bool | None) -> bool:
    """Whether a criterion kept the participant out: an inclusion not met or missing, an
    exclusion met (clinical-rules.md §13)."""
    return met is not True if code.startswith("INC") else met is True


def summary_row(participant: Participant) -> dict[str, Any]:
    """One participant's contribution to the study summary."""
    eligibility = eligibility_view(participant)
    infused = participant.infusion is not None
    outcomes = {
        visit.value: {name: verdict.outcome.value for name, verdict in
                      visit_outcomes(participant, visit).items()}
        for visit in FOLLOW_UP_VISITS
    } if infused else {}  # fmt: skip
    failed = eligibility is not None and not eligibility.eligible
    return {
        "version": participant.version,  # asOf reuses the row while the version is unchanged
        "screen_failed": failed,
        "eligible": eligibility is not None and eligibility.eligible,
        "infused": infused,
        "withdrawn": participant.withdrawal is not None,
        "failed_criteria": (
            [c.code for c in eligibility.criteria if _failed(c.code, c.met)]
            if failed and eligibility
            else []
        ),
        "outcomes": outcomes,
    }


def study_summary(rows: Iterable[dict[str, Any]], as_of: datetime | None) -> StudySummaryView:
    """Count the participants' rows into the contract's StudySummary."""
    rows = list(rows)
    failures = Counter(code for row in rows for code in row["failed_criteria"])
    return StudySummaryView(
        as_of=as_of,
        consented=len(rows),
        screen_failed=sum(row["screen_failed"] for row in rows),
        eligible=sum(row["eligible"] for row in rows),
        infused=sum(row["infused"] for row in rows),
        withdrawn=sum(row["withdrawn"] for row in rows),
        screen_failures_by_criterion=tuple(
            CriterionCount(code, failures[code]) for code in CRITERION_CODES if failures[code]
        ),
        endpoints=tuple(
            _rate(rows, endpoint, visit) for endpoint in ENDPOINTS for visit in FOLLOW_UP_VISITS
        ),
    )


def _rate(rows: list[dict[str, Any]], endpoint: str, visit: Visit) -> EndpointRate:
    outcomes = [row["outcomes"][visit.value][endpoint] for row in rows if row["infused"]]
    responders = outcomes.count(Outcome.RESPONDER.value)
    evaluable = sum(outcome in EVALUABLE for outcome in outcomes)
    return EndpointRate(
        endpoint=endpoint,
        visit=visit,
        responders=responders,
        evaluable=evaluable,
        rate=None if evaluable == 0 else responders / evaluable,
    )


def rows_until(
    app: TrialApplication, store: ReadModelStore, stop: int, visible: Callable[[str], bool]
) -> list[dict[str, Any]]:
    """Each participant's row as it stood after position ``stop``, of the sites ``visible``.

    A participant whose current row was derived from the very version it had at ``stop`` (no
    event of it since, and the read model has caught up with it) contributes that row; every
    other participant is replayed from its events up to ``stop``, so the answer is the same as
    a replay of the whole study, at the cost of only the participants that changed since.
    """
    current = store.by_participant(KEY)
    rows: list[dict[str, Any]] = []
    stale = []
    for pid, version in versions_until(app, stop).items():
        site, row = current.get(pid, ("", None))
        if row is not None and row.get("version") == version:
            if visible(site):
                rows.append(row)
        else:
            stale.append(pid)
    if stale:
        states, _ = fold(events_until(app, stop, participants=stale))
        rows += [summary_row(p) for p in states.values() if visible(p.site)]
    return rows
