"""CRR, PRR, ORR and PERR for participants with lupus nephritis (clinical-rules.md §7)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.rules.endpoints import VisitContext
from domain.rules.renal import (
    EGFR_STABLE_MAX_DECLINE_PCT,
    PERR_MAX_EGFR_DECLINE_PCT,
    crr,
    egfr_decline_pct,
    egfr_stable,
    orr,
    perr,
    prr,
    upcr_reduction_above,
)
from domain.vocabulary import Outcome
from tests.unit.rules.visit_records import BASELINE_RECORD, M1_RECORD, SCREENING_RECORD, at_visit

R, NR, NE = Outcome.RESPONDER, Outcome.NON_RESPONDER, Outcome.NOT_EVALUABLE


def renal_visit(
    base_upcr: float | None, base_egfr: float | None, upcr: float | None, egfr: float | None
) -> VisitContext:
    """NJ01-007 with lupus nephritis at baseline, at M1."""
    return at_visit(
        replace(M1_RECORD, upcr_g_per_g=upcr, egfr=egfr),
        baseline=replace(BASELINE_RECORD, upcr_g_per_g=base_upcr, egfr=base_egfr),
    )


def outcomes(ctx: VisitContext) -> tuple[Outcome, Outcome, Outcome, Outcome]:
    return crr(ctx).outcome, prr(ctx).outcome, orr(ctx).outcome, perr(ctx).outcome


@pytest.mark.parametrize(
    ("base_upcr", "base_egfr", "upcr", "egfr", "expected"),
    [
        # UPCR thresholds, eGFR 85 → 90                      CRR PRR ORR PERR
        pytest.param(2.0, 85.0, 0.3, 90.0, (R, NR, R, R), id="complete"),
        pytest.param(2.0, 85.0, 0.49, 90.0, (R, NR, R, R), id="upcr-0.49"),
        pytest.param(2.0, 85.0, 0.5, 90.0, (NR, R, R, R), id="upcr-0.5"),
        pytest.param(2.0, 85.0, 0.7, 90.0, (NR, R, R, R), id="upcr-0.7"),
        pytest.param(2.0, 85.0, 0.71, 90.0, (NR, R, R, NR), id="upcr-0.71"),
        pytest.param(2.0, 85.0, 0.99, 90.0, (NR, R, R, NR), id="upcr-0.99"),
        pytest.param(2.0, 85.0, 1.0, 90.0, (NR, NR, NR, NR), id="upcr-1.0"),
        # eGFR stability, UPCR 2.0 → 0.3
        pytest.param(2.0, 70.0, 0.3, 59.5, (R, NR, R, R), id="egfr-decline-15"),
        pytest.param(2.0, 70.0, 0.3, 59.43, (NR, NR, NR, R), id="egfr-decline-15.1"),
        pytest.param(2.0, 70.0, 0.6, 59.43, (NR, NR, NR, R), id="egfr-decline-15.1-prr"),
        pytest.param(2.0, 70.0, 0.3, 56.0, (NR, NR, NR, R), id="egfr-decline-20"),
        pytest.param(2.0, 70.0, 0.3, 55.93, (NR, NR, NR, NR), id="egfr-decline-20.1"),
        pytest.param(2.0, 100.0, 0.3, 60.0, (R, NR, R, R), id="egfr-60-after-40pct-decline"),
        pytest.param(2.0, 100.0, 0.3, 59.99, (NR, NR, NR, NR), id="egfr-59.99-decline-40"),
        pytest.param(2.0, 50.0, 0.3, 55.0, (R, NR, R, R), id="egfr-rise-below-60"),
        pytest.param(2.0, 40.0, 0.3, 34.0, (R, NR, R, R), id="egfr-decline-15-at-40"),
        # PRR branches on baseline UPCR (≤ 3.0 vs > 3.0), eGFR 85 → 90
        pytest.param(3.0, 85.0, 0.9, 90.0, (NR, R, R, NR), id="base-3.0-upcr-0.9"),
        pytest.param(3.0, 85.0, 1.4, 90.0, (NR, NR, NR, NR), id="base-3.0-upcr-1.4"),
        pytest.param(3.01, 85.0, 1.4, 90.0, (NR, R, R, NR), id="base-3.01-upcr-1.4"),
        pytest.param(5.0, 85.0, 2.5, 90.0, (NR, NR, NR, NR), id="reduction-exactly-50"),
        pytest.param(5.0, 85.0, 2.49, 90.0, (NR, R, R, NR), id="reduction-50.2"),
        pytest.param(6.2, 85.0, 3.0, 90.0, (NR, NR, NR, NR), id="reduction-51.6-upcr-3.0"),
        pytest.param(6.2, 85.0, 2.99, 90.0, (NR, R, R, NR), id="reduction-51.8-upcr-2.99"),
        pytest.param(8.0, 85.0, 0.4, 90.0, (R, NR, R, R), id="high-base-complete"),
        pytest.param(4.0, 85.0, 0.6, 90.0, (NR, R, R, R), id="high-base-partial"),
        pytest.param(4.0, 85.0, 5.0, 90.0, (NR, NR, NR, NR), id="upcr-rose"),
    ],
)
def test_renal_response_by_upcr_and_egfr(
    base_upcr: float,
    base_egfr: float,
    upcr: float,
    egfr: float,
    expected: tuple[Outcome, Outcome, Outcome, Outcome],
) -> None:
    ctx = renal_visit(base_upcr, base_egfr, upcr, egfr)

    assert outcomes(ctx) == expected


@pytest.mark.parametrize(
    ("ctx", "expected"),
    [
        # ORR = CRR or PRR: a met CRR decides ORR even when PRR cannot be evaluated.
        pytest.param(renal_visit(None, 85.0, 0.3, 90.0), (R, NE, R, R), id="no-baseline-upcr"),
        pytest.param(renal_visit(None, 85.0, 0.6, 90.0), (NR, NE, NE, R), id="no-base-upcr-no-crr"),
        # Decision: baseline eGFR is needed even when eGFR now is ≥ 60.
        pytest.param(renal_visit(2.0, None, 0.3, 90.0), (NE, NE, NE, NE), id="no-baseline-egfr"),
        pytest.param(renal_visit(2.0, 85.0, None, 90.0), (NE, NE, NE, NE), id="no-upcr-now"),
        pytest.param(renal_visit(2.0, 85.0, 0.3, None), (NE, NE, NE, NE), id="no-egfr-now"),
        pytest.param(at_visit(baseline=SCREENING_RECORD), (NE, NE, NE, NE), id="screening"),
        pytest.param(at_visit(baseline=None), (NE, NE, NE, NE), id="no-baseline"),
    ],
)
def test_renal_response_not_evaluable_when_a_needed_value_is_missing(
    ctx: VisitContext, expected: tuple[Outcome, Outcome, Outcome, Outcome]
) -> None:
    assert outcomes(ctx) == expected


def test_renal_reason_names_the_upcr_that_failed_crr() -> None:
    verdict = crr(renal_visit(2.0, 85.0, 0.5, 90.0))

    assert verdict.reason == "CRR: not met: UPCR < 0.5 g/g (is 0.5)"


def test_prr_reason_names_the_high_baseline_branch_when_reduction_is_50() -> None:
    verdict = prr(renal_visit(5.0, 85.0, 2.5, 90.0))

    assert verdict.reason == "PRR: not met: baseline UPCR 5.0 > 3.0: reduction > 50 % (to 2.5)"


def test_prr_reason_says_complete_response_when_crr_is_met() -> None:
    verdict = prr(renal_visit(2.0, 85.0, 0.3, 90.0))

    assert verdict.reason == "PRR: not met: not a complete renal response"


def test_egfr_thresholds_are_15_and_20_percent() -> None:
    assert EGFR_STABLE_MAX_DECLINE_PCT == 15
    assert PERR_MAX_EGFR_DECLINE_PCT == 20


@pytest.mark.parametrize(
    ("baseline", "now", "max_pct", "expected"),
    [
        (70.0, 59.5, Decimal(15), True),  # exactly 15 %
        (70.0, 59.43, Decimal(15), False),  # 15.1 %
        (70.0, 63.0, Decimal(10), True),  # exactly 10 %, the parameter is honoured
        (70.0, 59.5, Decimal(10), False),
        (100.0, 60.0, Decimal(15), True),  # ≥ 60 whatever the decline
        (100.0, 59.99, Decimal(15), False),
        (45.0, 50.0, Decimal(15), True),  # a rise is no decline
        (0.0, 0.0, Decimal(15), True),
    ],
)
def test_egfr_stable_by_decline_or_60(
    baseline: float, now: float, max_pct: Decimal, expected: bool
) -> None:
    assert egfr_stable(baseline, now, max_pct) is expected


@pytest.mark.parametrize(
    ("baseline", "now", "expected"),
    [
        (70.0, 59.5, Decimal(15)),
        (70.0, 59.43, Decimal("15.1")),
        (100.0, 60.0, Decimal(40)),
        (50.0, 55.0, Decimal(0)),
        (0.0, 10.0, Decimal(0)),
    ],
)
def test_egfr_decline_pct_is_baseline_minus_now_over_baseline(
    baseline: float, now: float, expected: Decimal
) -> None:
    assert egfr_decline_pct(baseline, now) == expected


@pytest.mark.parametrize(
    ("baseline", "now", "expected"),
    [(5.0, 2.5, False), (5.0, 2.49, True), (3.01, 1.4, True), (4.0, 4.4, False)],
)
def test_upcr_reduction_above_50_is_strict(baseline: float, now: float, expected: bool) -> None:
    assert upcr_reduction_above(baseline, now, Decimal(50)) is expected


upcr_values = st.decimals(0, 10, places=2).map(float)
egfr_values = st.decimals(0, 150, places=1).map(float)


@given(base_upcr=upcr_values, base_egfr=egfr_values, upcr=upcr_values, egfr=egfr_values)
def test_orr_is_crr_or_prr_and_they_never_overlap(
    base_upcr: float, base_egfr: float, upcr: float, egfr: float
) -> None:
    complete, partial, overall, _ = outcomes(renal_visit(base_upcr, base_egfr, upcr, egfr))

    assert not (complete is R and partial is R)
    assert (overall is R) == (complete is R or partial is R)
    assert overall in (R, NR)
