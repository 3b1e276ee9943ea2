"""The replay's event decoder makes the domain event the application's mapper makes, field for
field and in the same order, and leaves to the mapper every state it does not take itself.

The events are those of ``data/stored-events.jsonl``: every event type, as databases hold them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.cipher import AESCipher
from eventsourcing.domain import DomainEvent
from eventsourcing.persistence import MapperDeserialisationError, StoredEvent

from domain.application import TrialApplication
from domain.participant import Participant
from domain.views import participant_view
from infra.encryption import cipher_env
from infra.memory import MEMORY
from projections.replay import EventDecoder
from tests.unit.story import on_aggregate

STORED = Path(__file__).parent / "data" / "stored-events.jsonl"
PID = uuid4()


def _rows() -> list[tuple[UUID, int, str, bytes]]:
    lines = STORED.read_text().splitlines()
    recorded = [json.loads(line) for line in lines]
    return [
        (UUID(row["originator_id"]), version, row["topic"], row["state"].encode())
        for version, row in enumerate(recorded, start=1)
    ]


def _same_event(fast: object, slow: object) -> None:
    assert type(fast) is type(slow)
    assert list(vars(fast).items()) == list(vars(slow).items())


def test_every_recorded_event_decodes_as_the_mapper_decodes_it() -> None:
    mapper = TrialApplication(env=MEMORY).mapper
    decode = EventDecoder(mapper)
    for row in _rows():
        _same_event(decode(row), mapper.to_domain_event(StoredEvent(*row)))


def test_a_recorded_stream_replays_through_the_decoder_to_the_same_participant() -> None:
    decode = EventDecoder(TrialApplication(env=MEMORY).mapper)
    replayed: Participant | None = None
    for row in _rows():
        event = decode(row)
        assert isinstance(event, Participant.Event)
        replayed = event.mutate(replayed)
    assert replayed is not None
    assert participant_view(replayed) == participant_view(on_aggregate())


@pytest.mark.parametrize("settings", [
    cipher_env(AESCipher.create_key(32)),
    {"COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor"},
])  # fmt: skip
def test_encrypted_or_compressed_states_decode_as_the_mapper_decodes_them(
    settings: dict[str, str],
) -> None:
    mapper = TrialApplication(env={**MEMORY, **settings}).mapper
    assert mapper.cipher is not None or mapper.compressor is not None
    decode = EventDecoder(mapper)
    for event in on_aggregate().collect_events():
        stored = mapper.to_stored_event(event)
        row = (stored.originator_id, stored.originator_version, stored.topic, stored.state)
        _same_event(decode(row), mapper.to_domain_event(stored))


def _with_value(row: tuple[UUID, int, str, bytes], name: str, value: object) -> bytes:
    state = json.loads(row[3])
    state[name] = value
    return json.dumps(state).encode()


def test_a_transcoded_value_below_the_top_level_is_left_to_the_mapper() -> None:
    mapper = TrialApplication(env=MEMORY).mapper
    first = _rows()[0]
    when = {"_type_": "datetime_iso", "_data_": "2026-07-01T08:00:00+00:00"}
    row = (first[0], first[1], first[2], _with_value(first, "extra", [when]))
    fast = EventDecoder(mapper)(row)
    _same_event(fast, mapper.to_domain_event(StoredEvent(*row)))
    assert type(vars(fast)["extra"][0]).__name__ == "datetime"


def test_the_words_of_a_transcoded_object_inside_free_text_stay_text() -> None:
    mapper = TrialApplication(env=MEMORY).mapper
    first = _rows()[0]
    text = '{"_type_": "datetime_iso", "_data_": "2026-07-01T08:00:00+00:00"}'
    row = (first[0], first[1], first[2], _with_value(first, "note", text))
    fast = EventDecoder(mapper)(row)
    _same_event(fast, mapper.to_domain_event(StoredEvent(*row)))
    assert vars(fast)["note"] == text


@pytest.mark.parametrize(
    "name, value",
    [
        # The same number of transcoded objects as the topic's last event, at other keys.
        ("timestamp", "2026-07-01T08:00:00+00:00"),
        ("timestamp", {"_type_": "datetime_iso", "_data_": "2026-07-01", "more": 1}),
        ("timestamp", {"_data_": "2026-07-01T08:00:00+00:00", "other": "_type_"}),
        ("timestamp", ["_type_", "_data_"]),
    ],
)
def test_a_decoder_that_learnt_a_topics_keys_still_decodes_a_state_that_differs(
    name: str, value: object
) -> None:
    mapper = TrialApplication(env=MEMORY).mapper
    decode = EventDecoder(mapper)
    first = _rows()[0]
    decode(first)  # learns where the topic's transcoded values are
    when = {"_type_": "datetime_iso", "_data_": "2026-07-01T09:00:00+00:00"}
    state = json.loads(_with_value(first, name, value))
    state["elsewhere"] = when
    row = (first[0], first[1], first[2], json.dumps(state).encode())
    fast = decode(row)
    _same_event(fast, mapper.to_domain_event(StoredEvent(*row)))
    assert vars(fast)[name] == value
    assert type(vars(fast)["elsewhere"]).__name__ == "datetime"


def test_a_state_that_is_not_json_fails_with_the_mappers_error() -> None:
    mapper = TrialApplication(env=MEMORY).mapper
    first = _rows()[0]
    with pytest.raises(MapperDeserialisationError, match="originator_id"):
        EventDecoder(mapper)((first[0], first[1], first[2], b"{not json"))


@dataclass(frozen=True)
class Renamed(DomainEvent):
    """An event class at version 2: version 1 called ``label`` ``name``."""

    label: str
    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["label"] = state.pop("name")


def test_an_event_class_that_upcasts_is_left_to_the_mapper() -> None:
    mapper = TrialApplication(env=MEMORY).mapper
    topic = f"{__name__}:Renamed"
    state = b'{"timestamp": {"_type_": "datetime_iso", "_data_": "2026-07-01T08:00:00+00:00"},'
    row = (PID, 1, topic, state + b' "name": "old"}')
    fast = EventDecoder(mapper)(row)
    _same_event(fast, mapper.to_domain_event(StoredEvent(*row)))
    assert isinstance(fast, Renamed)
    assert fast.label == "old"
