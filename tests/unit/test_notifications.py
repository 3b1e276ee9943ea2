"""What the hub reads from a notification: one change per read model it names."""

from __future__ import annotations

import json
from uuid import UUID

from api.notifications import Change, parse_changes

PID = "00000000-0000-0000-0000-000000000007"


def payload(**fields: object) -> str:
    return json.dumps(
        {"schema": "s", "participant_id": PID, "site": "NJ01", "position": 9} | fields
    )


def test_a_notification_naming_read_models_gives_a_change_for_each() -> None:
    changes = parse_changes(payload(projections=["participant_status", "study_summary"]), "s")

    assert changes == [
        Change("participant_status", UUID(PID), "NJ01", 9),
        Change("study_summary", UUID(PID), "NJ01", 9),
    ]


def test_a_notification_naming_one_read_model_the_earlier_way_is_read_too() -> None:
    assert parse_changes(payload(projection="safety_ledger"), "s") == [
        Change("safety_ledger", UUID(PID), "NJ01", 9)
    ]


def test_another_schemas_or_a_malformed_notification_gives_no_change() -> None:
    assert parse_changes(payload(projections=["study_summary"]), "other") == []
    assert parse_changes(payload(projections=[]), "s") == []
    assert parse_changes(payload(projections="study_summary"), "s") == []
    assert parse_changes(payload(), "s") == []
    assert parse_changes("not json", "s") == []
