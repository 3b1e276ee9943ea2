"""Stored events stay as they are: what the aggregate records, byte for byte, and old streams.

``data/stored-events.jsonl`` is the JSON state (before compression and encryption) of every event
of one story, as the code of commit 0e44de9 recorded it: each event type, every kind of payload
(eligibility results, labs, signs of CRS, ICANS and acute GVHD, AE updates, corrections, a
withdrawal). The file is a record of what databases already hold, not an expected output of the
current code: a change of the payload codec that alters one byte fails here, and so does one that
can no longer replay a stream recorded before it.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from domain.application import TrialApplication
from domain.participant import Participant
from domain.views import participant_view
from infra.memory import MEMORY
from tests.unit.builders import NOW, TIME_ZONE
from tests.unit.story import on_aggregate, through

STORED = Path(__file__).parent / "data" / "stored-events.jsonl"
READ_AT = datetime(2026, 7, 1, 8, tzinfo=UTC)
# The event's creation time (the aggregate's clock, not an input): the one value that differs.
TIMESTAMP = re.compile(r'^\{"timestamp":\{"_type_":"datetime_iso","_data_":"[^"]+"\}')


def _without_timestamp(state: str) -> str:
    return TIMESTAMP.sub('{"timestamp":{}', state)


def _application() -> TrialApplication:
    return TrialApplication(env=MEMORY)


def _recorded() -> list[dict[str, Any]]:
    return [json.loads(line) for line in STORED.read_text().splitlines()]


def test_the_aggregate_records_the_same_bytes_as_before() -> None:
    mapper = _application().mapper
    events = on_aggregate().collect_events()
    stored = [mapper.to_stored_event(event) for event in events]
    recorded = _recorded()
    assert [s.topic for s in stored] == [r["topic"] for r in recorded]
    for event, before in zip(stored, recorded, strict=True):
        assert _without_timestamp(event.state.decode()) == _without_timestamp(before["state"])


def test_a_stream_recorded_before_replays_to_the_same_participant() -> None:
    mapper = _application().mapper
    pid = UUID(_recorded()[0]["originator_id"])
    replayed: Participant | None = None
    for version, row in enumerate(_recorded(), start=1):
        stored = StoredEvent(pid, version, row["topic"], row["state"].encode())
        replayed = mapper.to_domain_event(stored).mutate(replayed)  # type: ignore[attr-defined]
    assert replayed is not None
    participant = on_aggregate()
    assert participant_view(replayed) == participant_view(participant)


def test_the_use_cases_record_the_same_bytes_as_before() -> None:
    app = TrialApplication(env=MEMORY, clock=lambda: NOW, time_zone=TIME_ZONE)
    pid, _ = through(app)
    stored = app.recorder.select_events(pid)
    recorded = _recorded()
    assert [s.topic for s in stored] == [r["topic"] for r in recorded]
    for event, before in zip(stored, recorded, strict=True):
        assert _without_timestamp(event.state.decode()) == _without_timestamp(before["state"])


@pytest.mark.parametrize("topic_end", ["Consented", "Screened", "Infused", "VisitScored",
                                       "VisitCorrected", "AdverseEventReported",
                                       "AdverseEventUpdated", "Withdrawn"])  # fmt: skip
def test_the_record_covers_every_event_type(topic_end: str) -> None:
    assert any(row["topic"].endswith("." + topic_end) for row in _recorded())


def write_record() -> None:  # pragma: no cover - how the record was written
    """The record's writer, run once at commit 0e44de9 (whose story is tests/unit/story.py's)."""
    mapper = _application().mapper
    with STORED.open("w") as out:
        for event in on_aggregate().collect_events():
            stored = mapper.to_stored_event(event)
            row = {
                "originator_id": str(stored.originator_id),
                "topic": stored.topic,
                "state": stored.state.decode(),
            }
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
