"""One codec for events and read models: payloads and stored views read back as what they were,
and what earlier versions stored keeps reading back."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cached_property

import orjson
import pytest

from domain.codec import decode, dumps, encode
from domain.errors import BadInput
from domain.inputs import AdverseEventUpdate, VisitScore, Withdrawal
from domain.participant import Participant
from domain.views import ParticipantView, participant_view
from domain.vocabulary import SeriousCriterion, Visit, WithdrawalReason
from domain.vocabulary import SledaiDescriptor as D
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
    document = json.loads(json.dumps(encode(view)))  # as PostgreSQL's jsonb returns it
    assert decode(ParticipantView, document) == view


def test_documents_hold_only_json_values() -> None:
    document = encode(participant_view(_rich()))
    assert json.loads(json.dumps(document)) == document
    assert document["visits"][1]["visit"] == "M1"
    assert document["adverse_events"][0]["aware_at"].endswith("+00:00")


def test_a_document_stored_with_the_overdue_flag_of_earlier_versions_reads_back() -> None:
    # Read models written before the SAE clock moved to read time hold "reporting_overdue".
    participant = with_adverse_event(ae_report(serious=frozenset({SeriousCriterion.DEATH})))
    view = participant_view(participant)
    document = json.loads(json.dumps(encode(view)))
    document["adverse_events"][0]["reporting_overdue"] = True

    assert decode(ParticipantView, document) == view


def test_a_stored_view_holds_no_reading_clock() -> None:
    # An unreported SAE: whether it is overdue depends on when it is read, not on the events.
    participant = with_adverse_event(ae_report(serious=frozenset({SeriousCriterion.DEATH})))
    document = encode(participant_view(participant))

    assert "reporting_overdue" not in document["adverse_events"][0]


def test_a_payload_writes_sets_sorted_enums_and_dates_as_text_and_fields_in_order() -> None:
    score = visit(Visit.M1, sledai=frozenset({D.RASH, D.ALOPECIA, D.ARTHRITIS}))

    payload = encode(score)

    assert list(payload)[:4] == ["visit", "visit_date", "sledai", "bilag"]
    assert payload["sledai"] == ["ALOPECIA", "ARTHRITIS", "RASH"]
    assert (payload["visit"], payload["visit_date"]) == ("M1", "2025-07-20")
    assert decode(VisitScore, json.loads(json.dumps(payload))) == score


def test_omitted_fields_are_left_out_of_a_payload() -> None:
    update = AdverseEventUpdate("AE-001", "follow-up", ctcae_grade=2)

    assert encode(update, omit=("ae_id", "reason")) == {
        "ctcae_grade": 2, "resolved_on": None, "serious": None, "reported_to_sponsor_at": None,
    }  # fmt: skip


def test_a_recorded_payload_replays_even_when_a_rule_has_tightened_since() -> None:
    # A PGA of 3.5 is refused today; an event that recorded one must still replay.
    payload = {**encode(visit(Visit.M1)), "pga_tenths": 35}

    with pytest.raises(BadInput):
        decode(VisitScore, payload).__post_init__()
    assert decode(VisitScore, payload).pga_tenths == 35


def test_a_payload_without_a_field_of_a_later_version_reads_its_default() -> None:
    payload = {"withdrawn_on": "2025-09-01", "reason": "OTHER"}  # before the note existed

    assert decode(Withdrawal, payload) == Withdrawal(date(2025, 9, 1), WithdrawalReason.OTHER)


def test_a_key_no_field_has_any_more_is_passed_over() -> None:
    payload = {"withdrawn_on": "2025-09-01", "reason": "OTHER", "note": None, "retired": 1}

    assert decode(Withdrawal, payload) == Withdrawal(date(2025, 9, 1), WithdrawalReason.OTHER)


def test_a_field_with_no_json_value_is_refused_by_its_type_name() -> None:
    update = AdverseEventUpdate("AE-001", "follow-up", ctcae_grade=2)
    object.__setattr__(update, "ctcae_grade", complex(2))  # past the input's own checks

    with pytest.raises(TypeError, match="no JSON value for complex"):
        encode(update)


def test_a_field_of_a_text_enum_writes_the_enums_value_and_booleans_stay_booleans() -> None:
    withdrawal_ = Withdrawal(date(2025, 9, 1), WithdrawalReason.OTHER)
    score = visit(Visit.M2, rescue_therapy=True)

    assert encode(withdrawal_)["reason"] == "OTHER"
    assert type(encode(withdrawal_)["reason"]) is str
    assert encode(score)["rescue_therapy"] is True


@pytest.mark.parametrize("build", PARTICIPANTS.values(), ids=PARTICIPANTS.keys())
def test_a_views_json_text_is_that_of_its_json_value(build: Callable[[], Participant]) -> None:
    view = participant_view(build(), as_of=READ_AT)

    assert dumps(view) == orjson.dumps(encode(view), option=orjson.OPT_NON_STR_KEYS).decode()


AT = datetime(2026, 7, 1, 8, tzinfo=timezone(timedelta(hours=8, seconds=30)))


@dataclass(frozen=True)
class _Shouted:
    """A value whose instances cache a property beside their fields."""

    text: str
    at: datetime = AT
    tags: frozenset[Visit] = frozenset({Visit.M3, Visit.M1})

    @cached_property
    def shout(self) -> str:
        return self.text.upper()


@dataclass(frozen=True)
class _Hidden:
    """A value with a field whose name starts with an underscore."""

    text: str
    _hidden: int = 1


def test_the_json_text_of_a_value_with_a_cached_property_is_that_of_its_json_value() -> None:
    shouted = _Shouted("calm")
    assert shouted.shout == "CALM"  # cached in the instance now

    text = dumps(shouted)

    assert json.loads(text) == encode(shouted)
    assert json.loads(text) == {
        "text": "calm", "at": "2026-07-01T08:00:00+08:00:30", "tags": ["M1", "M3"],
    }  # fmt: skip


def test_the_json_text_of_a_value_with_a_field_named_with_an_underscore_holds_it() -> None:
    assert json.loads(dumps(_Hidden("calm"))) == {"text": "calm", "_hidden": 1}
