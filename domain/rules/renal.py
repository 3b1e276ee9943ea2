"""Renal response at a visit: CRR, PRR, ORR and PERR (clinical-rules.md §7).

Only for participants whose SRI baseline records lupus nephritis; baseline status, eGFR and UPCR
are those of the SRI baseline. "No rescue" is §4 step 3, applied by ``decide`` before the
criteria, so the criteria below never see a rescued participant.
"""

from __future__ import annotations

from decimal import Decimal

from domain.rules.outcome import (
    Criterion,
    Endpoint,
    Need,
    Verdict,
    VisitContext,
    all_met,
    decide,
    known,
)
from domain.vocabulary import Outcome

# Decision: the registry writes "≤10–15 %"; 15 % is used, as a parameter (rules §7).
EGFR_STABLE_MAX_DECLINE_PCT = Decimal(15)
PERR_MAX_EGFR_DECLINE_PCT = Decimal(20)
EGFR_STABLE_AT_LEAST = Decimal(60)
CRR_UPCR_BELOW = Decimal("0.5")
PRR_LOW_BASELINE_UPCR_AT_MOST = Decimal("3.0")
PRR_LOW_UPCR_BELOW = Decimal("1.0")
PRR_HIGH_REDUCTION_ABOVE_PCT = Decimal(50)
PRR_HIGH_UPCR_BELOW = Decimal("3.0")
PERR_UPCR_AT_MOST = Decimal("0.7")

LUPUS_NEPHRITIS = Need("lupus nephritis status", lambda a: a.lupus_nephritis)
UPCR = Need("UPCR", lambda a: a.upcr_g_per_g)
EGFR = Need("eGFR", lambda a: a.egfr)


def _exact(value: float) -> Decimal:
    """The decimal as entered (shortest repr), so that 15 % of 70 is exactly 10.5."""
    return Decimal(str(value))


def egfr_decline_pct(baseline: float, now: float) -> Decimal:
    """eGFR decline from baseline, (baseline − now)/baseline × 100; a rise is 0 (rules §7)."""
    before, after = _exact(baseline), _exact(now)
    if before <= 0 or after >= before:
        return Decimal(0)
    return (before - after) * 100 / before


def egfr_stable(baseline: float, now: float, max_decline_pct: Decimal) -> bool:
    """eGFR decline from baseline ≤ max_decline_pct % OR eGFR ≥ 60 (clinical-rules.md §7)."""
    before, after = _exact(baseline), _exact(now)
    # Multiplied out rather than divided, so the boundary (exactly 15 %) is exact.
    return after >= EGFR_STABLE_AT_LEAST or (before - after) * 100 <= max_decline_pct * before


def upcr_reduction_above(baseline: float, now: float, pct: Decimal) -> bool:
    """UPCR fell from baseline by more than pct % (clinical-rules.md §7, PRR)."""
    before, after = _exact(baseline), _exact(now)
    return (before - after) * 100 > pct * before


def _egfr_criterion(ctx: VisitContext, max_decline_pct: Decimal) -> Criterion:
    before, after = known(known(ctx.baseline).egfr), known(known(ctx.current).egfr)
    decline = egfr_decline_pct(before, after)
    return Criterion(
        egfr_stable(before, after, max_decline_pct),
        f"eGFR decline ≤ {max_decline_pct} % or eGFR ≥ 60 "
        f"(from {before} to {after}, decline {decline:.1f} %)",
    )


def _crr_criteria(ctx: VisitContext) -> list[Criterion]:
    """CRR's criteria, derived once at a visit: CRR, PRR ("not CRR") and ORR use them."""
    criteria: list[Criterion] | None = ctx.derived.get("CRR")
    if criteria is None:
        criteria = ctx.derived["CRR"] = _complete_criteria(ctx)
    return criteria


def _complete_criteria(ctx: VisitContext) -> list[Criterion]:
    upcr = known(known(ctx.current).upcr_g_per_g)
    return [
        Criterion(_exact(upcr) < CRR_UPCR_BELOW, f"UPCR < 0.5 g/g (is {upcr})"),
        _egfr_criterion(ctx, EGFR_STABLE_MAX_DECLINE_PCT),
    ]


def _partial_criteria(ctx: VisitContext) -> list[Criterion]:
    """PRR's own criteria, before "and not CRR"."""
    before = known(known(ctx.baseline).upcr_g_per_g)
    after = known(known(ctx.current).upcr_g_per_g)
    stable = _egfr_criterion(ctx, EGFR_STABLE_MAX_DECLINE_PCT)
    if _exact(before) <= PRR_LOW_BASELINE_UPCR_AT_MOST:
        return [
            stable,
            Criterion(
                _exact(after) < PRR_LOW_UPCR_BELOW,
                f"baseline UPCR {before} ≤ 3.0: UPCR < 1.0 g/g (is {after})",
            ),
        ]
    return [
        stable,
        Criterion(
            upcr_reduction_above(before, after, PRR_HIGH_REDUCTION_ABOVE_PCT),
            f"baseline UPCR {before} > 3.0: reduction > 50 % (to {after})",
        ),
        Criterion(
            _exact(after) < PRR_HIGH_UPCR_BELOW,
            f"baseline UPCR {before} > 3.0: UPCR < 3.0 g/g (is {after})",
        ),
    ]


def _prr_criteria(ctx: VisitContext) -> list[Criterion]:
    return [
        *_partial_criteria(ctx),
        Criterion(not all_met(_crr_criteria(ctx)), "not a complete renal response"),
    ]


def _orr_criteria(ctx: VisitContext) -> list[Criterion]:
    complete, partial = all_met(_crr_criteria(ctx)), all_met(_prr_criteria(ctx))
    reached = "CRR" if complete else "PRR" if partial else "neither"
    return [Criterion(complete or partial, f"CRR or PRR (reached: {reached})")]


def _perr_criteria(ctx: VisitContext) -> list[Criterion]:
    upcr = known(known(ctx.current).upcr_g_per_g)
    return [
        Criterion(_exact(upcr) <= PERR_UPCR_AT_MOST, f"UPCR ≤ 0.7 g/g (is {upcr})"),
        _egfr_criterion(ctx, PERR_MAX_EGFR_DECLINE_PCT),
    ]


# Decision: every value an endpoint's definition uses is "needed" (§4 step 4), whatever the
# other values are: baseline eGFR even when eGFR is ≥ 60 now. ORR needs what PRR needs, except
# that a met CRR is enough on its own (ORR = CRR or PRR), so ORR never contradicts CRR.
_NOW = (UPCR, EGFR)
CRR = Endpoint("CRR", _crr_criteria, now=_NOW, at_baseline=(LUPUS_NEPHRITIS, EGFR), renal=True)
PRR = Endpoint(
    "PRR", _prr_criteria, now=_NOW, at_baseline=(LUPUS_NEPHRITIS, UPCR, EGFR), renal=True
)
ORR = Endpoint("ORR", _orr_criteria, now=_NOW, at_baseline=PRR.at_baseline, renal=True)
PERR = Endpoint("PERR", _perr_criteria, now=_NOW, at_baseline=CRR.at_baseline, renal=True)


def crr(ctx: VisitContext) -> Verdict:
    """Complete renal response: UPCR < 0.5, eGFR stable, no rescue (clinical-rules.md §7)."""
    return decide(CRR, ctx)


def prr(ctx: VisitContext) -> Verdict:
    """Partial renal response: eGFR stable, UPCR improved, not CRR (clinical-rules.md §7)."""
    return decide(PRR, ctx)


def orr(ctx: VisitContext) -> Verdict:
    """Overall renal response: CRR or PRR (clinical-rules.md §7)."""
    complete = crr(ctx)
    if complete.outcome is Outcome.RESPONDER:
        return Verdict(Outcome.RESPONDER, f"ORR: met by {complete.reason}")
    return decide(ORR, ctx)


def perr(ctx: VisitContext) -> Verdict:
    """Primary efficacy renal response: UPCR ≤ 0.7, eGFR decline ≤ 20 % or ≥ 60 (rules §7)."""
    return decide(PERR, ctx)
