"""The outcome order every efficacy endpoint follows at a visit (clinical-rules.md §4).

One implementation, ``decide``, serves all eight endpoints: an endpoint only declares which
recorded values it needs (now, at the SRI baseline, at the previous scored visit) and its
criteria; the order NOT_APPLICABLE → withdrawal → rescue → NOT_EVALUABLE → criteria is here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from domain.errors import require
from domain.rules.assessment import VisitScore
from domain.vocabulary import Outcome, Visit

T = TypeVar("T")


@dataclass(frozen=True)
class Verdict:
    """An endpoint's outcome at a visit and, in words, the criterion that decided it."""

    outcome: Outcome
    reason: str


@dataclass(frozen=True)
class VisitContext:
    """What an endpoint sees at one visit (BASELINE or M1..M12) (clinical-rules.md §4).

    ``current`` is None when the visit was not scored (missing or not yet due). ``baseline`` is
    the SRI baseline: the BASELINE visit, else the screening assessment. ``previous`` is the
    previous scored visit (the baseline at the first post-baseline visit), used by LLDAS.
    """

    visit: Visit
    current: VisitScore | None
    baseline: VisitScore | None
    previous: VisitScore | None
    withdrawn_by_target_day: bool
    rescue_earlier: bool
    # What more than one endpoint derives alike, derived once at the visit (renal: CRR's
    # criteria, which PRR and ORR use too); not part of the context's value.
    derived: dict[str, Any] = field(default_factory=dict, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        require(
            self.visit is not Visit.SCREENING,
            "ENDPOINT_VISIT",
            "endpoints are evaluated at BASELINE and M1..M12, not at SCREENING",
        )


@dataclass(frozen=True)
class Need:
    """A recorded value an endpoint needs; ``read`` gives None when it was not recorded."""

    label: str
    read: Callable[[VisitScore], object]


@dataclass(frozen=True)
class Criterion:
    """One criterion of an endpoint: whether it is met, and the criterion with its values."""

    met: bool
    text: str


@dataclass(frozen=True)
class Endpoint:
    """An endpoint's definition: where it needs which values, and its criteria (rules §4)."""

    name: str
    criteria: Callable[[VisitContext], Sequence[Criterion]]
    now: tuple[Need, ...] = ()
    at_baseline: tuple[Need, ...] = ()
    at_previous: tuple[Need, ...] = ()
    renal: bool = False


def known(value: T | None) -> T:
    """A value ``decide`` has already checked is recorded (step 4 runs before the criteria)."""
    if value is None:
        raise TypeError("a value the endpoint needs reached its criteria unrecorded")
    return value


def all_met(criteria: Sequence[Criterion]) -> bool:
    """True when every criterion is met."""
    return all(criterion.met for criterion in criteria)


def missing_values(endpoint: Endpoint, ctx: VisitContext) -> list[str]:
    """The needed values not recorded; an absent assessment records none (rules §4 step 4)."""
    places = (
        (endpoint.now, ctx.current, "now"),
        (endpoint.at_baseline, ctx.baseline, "at baseline"),
        (endpoint.at_previous, ctx.previous, "at the previous scored visit"),
    )
    return [
        f"{need.label} {where}"
        for needs, assessment, where in places
        for need in needs
        if assessment is None or need.read(assessment) is None
    ]


def decide(endpoint: Endpoint, ctx: VisitContext) -> Verdict:
    """An endpoint's outcome at a visit, in the order of clinical-rules.md §4 (steps 1–5)."""

    def verdict(outcome: Outcome, reason: str) -> Verdict:
        return Verdict(outcome, f"{endpoint.name}: {reason}")

    # Step 1.
    if ctx.visit is Visit.BASELINE:
        return verdict(Outcome.NOT_APPLICABLE, "BASELINE is the reference visit, not an outcome")
    if endpoint.renal and ctx.baseline is not None and ctx.baseline.lupus_nephritis is False:
        return verdict(Outcome.NOT_APPLICABLE, "the baseline records no lupus nephritis")
    # Step 2: non-responder imputation.
    if ctx.withdrawn_by_target_day and ctx.current is None:
        return verdict(
            Outcome.NON_RESPONDER,
            "withdrew on or before the visit's target day and the visit was not scored",
        )
    # Step 3. Decision: rescue_therapy None is "not recorded", so no rescue recorded.
    if ctx.current is not None and ctx.current.rescue_therapy is True:
        return verdict(Outcome.NON_RESPONDER, "rescue therapy recorded at this visit")
    if ctx.rescue_earlier:
        return verdict(
            Outcome.NON_RESPONDER, "rescue therapy recorded at an earlier post-infusion visit"
        )
    # Step 4.
    if ctx.current is None:
        return verdict(Outcome.NOT_EVALUABLE, "the visit was not scored (missing or not yet due)")
    missing = missing_values(endpoint, ctx)
    if missing:
        return verdict(Outcome.NOT_EVALUABLE, f"not recorded: {', '.join(missing)}")
    # Step 5.
    criteria = endpoint.criteria(ctx)
    failed = [criterion.text for criterion in criteria if not criterion.met]
    if failed:
        return verdict(Outcome.NON_RESPONDER, f"not met: {'; '.join(failed)}")
    return verdict(Outcome.RESPONDER, f"met: {'; '.join(c.text for c in criteria)}")
