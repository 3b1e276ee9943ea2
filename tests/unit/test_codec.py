"""The read models store views as JSON documents: a stored view must read back as the same view."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest

from domain.participant import Participant
from domain.views import ParticipantView, ScoredVisits, participant_view, visit_outcomes
from domain.vocabulary import FOLLOW_UP_VISITS, SeriousCriterion, Visit
from domain.vocabulary import SledaiDescriptor as D
from projections.codec import from_document, to_document
from tests.unit.builders import (
    NOW,
    TODAY,
    ae_report,
    baseline,
    consented,
    saved,
    scored,
    screen_failed,
    signature,
    visit,
    with_adverse_event,
    withdrawal,
)

READ_AT = datetime(2025, 7, 1, 12, tzinfo=UTC)


def _rich() -> Participant:
    """Scores that move between visits, rescue therapy, a correction, an AE and a withdrawal."""
    participant = scored(
        baseline(),
        visit(Visit.M1, sledai=frozenset({D.RASH}), pga_tenths=9),
        visit(Visit.M2, rescue_therapy=True),
        visit(Visit.M3, egfr=None, creatinine_mg_dl=0.9),
    )
    participant.report_adverse_event(ae_report(), NOW, TODAY, signature())
    participant.withdraw(withdrawal(date(2025, 11, 1)), TODAY, signature())
    return saved(participant)


PARTICIPANTS = {
    "consented": consented,
    "screen failed": screen_failed,
    "adverse event": with_adverse_event,
    "rich": _rich,
}


@pytest.mark.parametrize("build", PARTICIPANTS.values(), ids=PARTICIPANTS.keys())
def test_a_stored_view_reads_back_as_the_view(build: Callable[[], Participant]) -> None:
    view = participant_view(build())
    document = json.loads(json.dumps(to_document(view)))  # as PostgreSQL's jsonb returns it
    assert from_document(ParticipantView, document) == view


def test_documents_hold_only_json_values() -> None:
    document = to_document(participant_view(_rich()))
    assert json.loads(json.dumps(document)) == document
    assert document["visits"][1]["visit"] == "M1"
    assert document["adverse_events"][0]["aware_at"].endswith("+00:00")


def test_outcomes_from_one_shared_parse_equal_those_of_fresh_parses() -> None:
    participant = _rich()
    shared = ScoredVisits(participant)
    for name in (Visit.BASELINE, *FOLLOW_UP_VISITS):
        assert visit_outcomes(participant, name, shared) == visit_outcomes(participant, name)


def test_a_document_stored_with_the_overdue_flag_of_earlier_versions_reads_back() -> None:
    # Read models written before the SAE clock moved to read time hold "reporting_overdue".
    participant = with_adverse_event(ae_report(serious=frozenset({SeriousCriterion.DEATH})))
    view = participant_view(participant)
    document = json.loads(json.dumps(to_document(view)))
    document["adverse_events"][0]["reporting_overdue"] = True

    assert from_document(ParticipantView, document) == view


def test_a_stored_view_holds_no_reading_clock() -> None:
    # An unreported SAE: whether it is overdue depends on when it is read, not on the events.
    participant = with_adverse_event(ae_report(serious=frozenset({SeriousCriterion.DEATH})))
    document = to_document(participant_view(participant))

    assert "reporting_overdue" not in document["adverse_events"][0]
