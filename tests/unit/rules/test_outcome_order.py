"""The outcome order shared by all eight endpoints: each step beats the later ones (rules §4)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from domain.errors import BadInput
from domain.rules.assessment import VisitScore
from domain.rules.endpoints import ENDPOINTS, VisitContext, evaluate_all
from domain.vocabulary import Outcome, Visit
from tests.unit.rules.visit_records import (
    BASELINE_RECORD,
    M1_RECORD,
    SCREENING_RECORD,
    at_visit,
)

ALL = list(ENDPOINTS)
RENAL = ["CRR", "PRR", "ORR", "PERR"]
NON_RENAL = ["SRI4", "DORIS", "REMISSION_OFF_THERAPY", "LLDAS"]
RESCUED = replace(M1_RECORD, rescue_therapy=True)
NO_NEPHRITIS = replace(BASELINE_RECORD, lupus_nephritis=False)
NEPHRITIS_UNKNOWN = replace(BASELINE_RECORD, lupus_nephritis=None)
GAPPY = replace(M1_RECORD, pga_tenths=None, prednisone_mg_per_day=None, upcr_g_per_g=None)


def verdicts(ctx: VisitContext) -> dict[str, Outcome]:
    return {name: verdict.outcome for name, verdict in evaluate_all(ctx).items()}


def test_evaluate_all_names_the_contract_endpoints_in_order() -> None:
    assert list(evaluate_all(at_visit())) == [
        "SRI4",
        "DORIS",
        "REMISSION_OFF_THERAPY",
        "LLDAS",
        "CRR",
        "PRR",
        "ORR",
        "PERR",
    ]


def test_evaluate_all_responder_except_prr_when_nj01_007_is_in_complete_response() -> None:
    ctx = at_visit()

    outcomes = verdicts(ctx)

    assert outcomes == {name: Outcome.RESPONDER for name in ALL} | {"PRR": Outcome.NON_RESPONDER}


def test_visit_context_rejected_when_visit_is_screening() -> None:
    with pytest.raises(BadInput) as error:
        at_visit(visit=Visit.SCREENING)

    assert error.value.rule == "ENDPOINT_VISIT"
    assert "SCREENING" in error.value.message


@pytest.mark.parametrize(
    "ctx",
    [
        at_visit(BASELINE_RECORD, visit=Visit.BASELINE),
        at_visit(replace(BASELINE_RECORD, rescue_therapy=True), visit=Visit.BASELINE),
        at_visit(BASELINE_RECORD, visit=Visit.BASELINE, rescue_earlier=True),
        at_visit(None, visit=Visit.BASELINE, withdrawn_by_target_day=True, rescue_earlier=True),
        at_visit(None, visit=Visit.BASELINE),
        at_visit(GAPPY, visit=Visit.BASELINE, baseline=NO_NEPHRITIS),
    ],
    ids=["scored", "rescue-now", "rescue-earlier", "withdrawn-unscored", "unscored", "gappy"],
)
def test_every_endpoint_not_applicable_when_visit_is_baseline(ctx: VisitContext) -> None:
    outcomes = verdicts(ctx)

    assert outcomes == {name: Outcome.NOT_APPLICABLE for name in ALL}


@pytest.mark.parametrize(
    "ctx",
    [
        at_visit(baseline=NO_NEPHRITIS),
        at_visit(RESCUED, baseline=NO_NEPHRITIS),
        at_visit(baseline=NO_NEPHRITIS, rescue_earlier=True),
        at_visit(None, baseline=NO_NEPHRITIS, withdrawn_by_target_day=True, rescue_earlier=True),
        at_visit(None, baseline=NO_NEPHRITIS),
        at_visit(GAPPY, baseline=NO_NEPHRITIS),
    ],
    ids=["scored", "rescue-now", "rescue-earlier", "withdrawn-unscored", "unscored", "gappy"],
)
@pytest.mark.parametrize("name", RENAL)
def test_renal_endpoint_not_applicable_when_baseline_records_no_lupus_nephritis(
    name: str, ctx: VisitContext
) -> None:
    verdict = ENDPOINTS[name](ctx)

    assert verdict.outcome is Outcome.NOT_APPLICABLE
    assert "lupus nephritis" in verdict.reason


def test_renal_status_read_from_baseline_not_the_visit_when_visit_records_none() -> None:
    ctx = at_visit(replace(M1_RECORD, lupus_nephritis=False))

    outcomes = verdicts(ctx)

    assert outcomes["CRR"] is Outcome.RESPONDER


@pytest.mark.parametrize("name", NON_RENAL)
def test_non_renal_endpoint_non_responder_when_rescued_without_lupus_nephritis(name: str) -> None:
    verdict = ENDPOINTS[name](at_visit(RESCUED, baseline=NO_NEPHRITIS))

    assert verdict.outcome is Outcome.NON_RESPONDER
    assert "rescue" in verdict.reason


@pytest.mark.parametrize(
    "ctx",
    [
        at_visit(None, withdrawn_by_target_day=True),
        at_visit(None, withdrawn_by_target_day=True, rescue_earlier=True),
        at_visit(None, withdrawn_by_target_day=True, baseline=NEPHRITIS_UNKNOWN),
        at_visit(None, withdrawn_by_target_day=True, baseline=SCREENING_RECORD),
        at_visit(None, withdrawn_by_target_day=True, baseline=None, previous=None),
    ],
    ids=["plain", "rescue-earlier", "nephritis-unknown", "screening-baseline", "no-baseline"],
)
@pytest.mark.parametrize("name", ALL)
def test_endpoint_non_responder_by_imputation_when_withdrawn_and_visit_not_scored(
    name: str, ctx: VisitContext
) -> None:
    verdict = ENDPOINTS[name](ctx)

    assert verdict.outcome is Outcome.NON_RESPONDER
    assert "withdrew" in verdict.reason


@pytest.mark.parametrize(
    "current", [M1_RECORD, RESCUED, GAPPY], ids=["responding", "rescued", "gappy"]
)
def test_every_endpoint_judged_on_its_data_when_withdrawn_after_a_scored_visit(
    current: VisitScore,
) -> None:
    scored = at_visit(current)

    withdrawn = replace(scored, withdrawn_by_target_day=True)

    assert evaluate_all(withdrawn) == evaluate_all(scored)


@pytest.mark.parametrize(
    ("ctx", "where"),
    [
        (at_visit(RESCUED), "this visit"),
        (at_visit(rescue_earlier=True), "earlier"),
        (at_visit(None, rescue_earlier=True), "earlier"),
        (at_visit(replace(GAPPY, rescue_therapy=True)), "this visit"),
        (at_visit(RESCUED, baseline=NEPHRITIS_UNKNOWN), "this visit"),
        (at_visit(RESCUED, baseline=SCREENING_RECORD), "this visit"),
        (at_visit(RESCUED, previous=None), "this visit"),
    ],
    ids=[
        "rescue-now",
        "rescue-earlier",
        "rescue-earlier-unscored",
        "rescue-with-gaps",
        "rescue-nephritis-unknown",
        "rescue-screening-baseline",
        "rescue-no-previous",
    ],
)
@pytest.mark.parametrize("name", ALL)
def test_endpoint_non_responder_when_rescue_recorded_now_or_earlier(
    name: str, ctx: VisitContext, where: str
) -> None:
    verdict = ENDPOINTS[name](ctx)

    assert verdict.outcome is Outcome.NON_RESPONDER
    assert "rescue" in verdict.reason
    assert where in verdict.reason


def test_every_endpoint_unchanged_when_rescue_therapy_not_recorded() -> None:
    ctx = at_visit(replace(M1_RECORD, rescue_therapy=None))

    assert evaluate_all(ctx) == evaluate_all(at_visit())


@pytest.mark.parametrize("name", ALL)
def test_endpoint_not_evaluable_when_visit_not_scored_and_participant_still_in(name: str) -> None:
    verdict = ENDPOINTS[name](at_visit(None))

    assert verdict.outcome is Outcome.NOT_EVALUABLE
    assert "not scored" in verdict.reason


@pytest.mark.parametrize("name", RENAL)
def test_renal_endpoint_not_evaluable_when_baseline_nephritis_status_unknown(name: str) -> None:
    verdict = ENDPOINTS[name](at_visit(baseline=NEPHRITIS_UNKNOWN))

    assert verdict.outcome is Outcome.NOT_EVALUABLE
    assert "lupus nephritis status at baseline" in verdict.reason


@pytest.mark.parametrize("name", ALL)
def test_endpoint_reason_names_the_endpoint(name: str) -> None:
    verdicts_by_name = evaluate_all(at_visit())

    reason = verdicts_by_name[name].reason

    assert reason.split(":")[0].replace("-", "").replace(" ", "_").upper() == name
