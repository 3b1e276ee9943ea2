"""Participants rebuilt from the event sequence up to a position: for asOf views and rebuilds."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast
from uuid import UUID

import orjson
from eventsourcing.persistence import (
    DatetimeAsISO,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    Transcoding,
    find_id_convertor,
)
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import resolve_topic
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier

from domain.application import TrialApplication
from domain.participant import Participant

PAGE = 5_000
Row = tuple[UUID, int, str, bytes]  # originator id, version, topic, state


def _events_table(app: TrialApplication) -> tuple[PostgresDatastore, Composed]:
    datastore: PostgresDatastore = app.factory.datastore  # type: ignore[attr-defined]
    table = cast(PostgresApplicationRecorder, app.recorder).events_table_name
    return datastore, SQL("{}.{}").format(Identifier(datastore.schema), Identifier(table))


def events_until(
    app: TrialApplication,
    stop: int,
    after: int = 0,
    participants: Collection[UUID] | None = None,
) -> Iterator[Participant.Event]:
    """Every participant event with a position in (``after``, ``stop``], in order; only
    those of ``participants`` when given."""
    datastore, table = _events_table(app)
    query = SQL(
        "SELECT originator_id, originator_version, topic, state FROM {} "
        "WHERE notification_id > %s AND notification_id <= %s"
    ).format(table)
    params: list[Any] = [after, stop]
    if participants is not None:
        query += SQL(" AND originator_id = ANY(%s)")
        params.append(list(participants))
    return _read(app, datastore, query + SQL(" ORDER BY notification_id"), params)


def streams_until(
    app: TrialApplication, stop: int, part: tuple[int, int] | None = None
) -> Iterator[Participant]:
    """Each participant as it stood after the event at position ``stop``, one at a time in the
    order of their ids; only those in ``part`` (k, n) when given: the k-th of n equal ranges
    of ids (uniform: a participant's id is a name-based hash).

    The events are read stream by stream, in the order of the events table's primary key: a
    rebuild holds one participant at a time, and each event goes to the participant in hand
    (a stream begins at version 1) instead of being looked up among all of them.
    """
    datastore, table = _events_table(app)
    query = SQL(
        "SELECT originator_id, originator_version, topic, state FROM {} WHERE notification_id <= %s"
    ).format(table)
    params: list[Any] = [stop]
    if part is not None:
        low, high = _id_range(*part)
        query += SQL(" AND originator_id >= %s")
        params.append(low)
        if high is not None:
            query += SQL(" AND originator_id < %s")
            params.append(high)
    query += SQL(" ORDER BY originator_id, originator_version")
    participant: Participant | None = None
    for event in _read(app, datastore, query, params):
        if event.originator_version == 1 and participant is not None:
            yield participant
            participant = None
        participant = event.mutate(participant)
    if participant is not None:
        yield participant


def _id_range(k: int, n: int) -> tuple[UUID, UUID | None]:
    """The k-th of n equal ranges of UUIDs: its first id and the first id past it (None for
    the last range). PostgreSQL orders uuids by their bytes, as Python orders them by int."""
    low = UUID(int=(k << 128) // n)
    return low, (UUID(int=((k + 1) << 128) // n) if k + 1 < n else None)


def _read(
    app: TrialApplication, datastore: PostgresDatastore, query: Composed, params: list[Any]
) -> Iterator[Participant.Event]:
    """The events ``query`` selects, decoded (a rebuild reads every event: the recorder's
    row-by-row dictionaries cost more than the decoding)."""
    decoder = EventDecoder(app.mapper)
    for row in _rows(datastore, query, params):
        event = decoder(row)
        assert isinstance(event, Participant.Event)
        yield event


def _rows(datastore: PostgresDatastore, query: Composed, params: list[Any]) -> Iterator[Row]:
    """The rows ``query`` selects: one server-side cursor in one snapshot, fetched in pages of
    plain tuples in PostgreSQL's binary format."""
    with (
        datastore.get_connection() as conn,
        conn.transaction(),
        conn.cursor("events_until", row_factory=tuple_row, binary=True) as cursor,
    ):
        cursor.itersize = PAGE
        cursor.execute(query, params)
        while page := cursor.fetchmany(PAGE):
            yield from page


class EventDecoder:
    """A stored event's domain event, as the application's mapper makes it, in a third of the
    time: what a replay spends most of its time on.

    The mapper's JSON transcoder calls a Python hook for every object of the state, to find
    the ``{"_type_", "_data_"}`` objects it writes for datetimes and other registered types;
    an event's state holds them only as top-level values (its timestamps). Here the state is
    parsed by orjson, and top-level values are transcoded as the hook would: those of the keys
    that held one in the topic's last event, when the state holds that many, else any. The
    mapper itself decodes whatever this does not take: a state with such an object anywhere
    else (its ``"_type_"`` keys outnumber those transcoded), a state orjson refuses, an event
    class that upcasts, a transcoder other than eventsourcing's JSON one. (One difference
    remains: orjson reads an integer beyond 64 bits as a float; the trial's payloads hold none,
    their integers being GraphQL's 32-bit Int and counts.)
    """

    def __init__(self, mapper: Mapper[UUID]) -> None:
        self.mapper = mapper
        self.cipher, self.compressor = mapper.cipher, mapper.compressor
        transcoder = mapper.transcoder
        self.json = type(transcoder) is JSONTranscoder
        self.types: dict[str, Callable[[Any], Any]] = (
            {name: _decoding(t) for name, t in cast(JSONTranscoder, transcoder).names.items()}
            if self.json
            else {}
        )
        self.plain = self.cipher is None and self.compressor is None
        self.topics: dict[str, _Topic | None] = {}  # None: the mapper decodes its events

    def __call__(self, row: Row) -> object:
        originator_id, version, topic, state = row
        known = self.topics.get(topic, _UNSEEN)
        if known is _UNSEEN:
            known = self.topics[topic] = self._topic(topic)
        values = None
        if known is not None:
            values = self._known_values(state, known) if self.plain else None
            if values is None:
                values = self._values(state, known)
        if (
            values is None
            or known is None
            or "class_version" in values
            or type(originator_id) is not UUID
        ):
            return self.mapper.to_domain_event(StoredEvent(*row))
        values["originator_id"] = known.convert(originator_id)
        values["originator_version"] = version
        event: object = object.__new__(known.cls)
        object.__setattr__(event, "__dict__", values)
        return event

    def _known_values(self, state: bytes, known: _Topic) -> dict[str, Any] | None:
        """The values of a plain state whose transcoded objects are exactly those of the keys
        of the topic's last event (as in nearly every event); None otherwise."""
        keys = known.keys
        if state.count(b'"_type_"') != len(keys):
            return None
        types = self.types
        try:
            values: dict[str, Any] = orjson.loads(state)
            for key in keys:
                value = values[key]
                if len(value) != 2:
                    return None
                values[key] = types[value["_type_"]](value["_data_"])
        except Exception:
            return None
        return values

    def _values(self, state: bytes, known: _Topic) -> dict[str, Any] | None:
        """The event's values; None where the mapper must decode them (and name any error)."""
        types = self.types
        try:
            if self.cipher is not None:
                state = self.cipher.decrypt(state)
            if self.compressor is not None:
                state = self.compressor.decompress(state)
            values = orjson.loads(state)
            if type(values) is not dict:
                return None
            objects = state.count(b'"_type_"')
            keys = known.keys if objects == len(known.keys) else list(values)
            transcoded = []
            for key in keys:
                value = values.get(key)
                if type(value) is dict and len(value) == 2 and "_type_" in value:
                    values[key] = types[value["_type_"]](value["_data_"])
                    transcoded.append(key)
        except Exception:
            return None
        if len(transcoded) != objects:
            return None
        if keys is not known.keys:
            known.keys = transcoded
        return values

    def _topic(self, topic: str) -> _Topic | None:
        if not self.json:
            return None
        cls = resolve_topic(topic)
        if getattr(cls, "class_version", 1) != 1:
            return None
        return _Topic(cls, find_id_convertor(cls, UUID))


@dataclass
class _Topic:
    """An event class the decoder decodes, and the keys of its last event's transcoded values."""

    cls: type
    convert: Callable[[UUID], Any]  # the class's originator id from a UUID
    keys: list[str] = field(default_factory=list)


_UNSEEN = _Topic(object, lambda uuid: uuid)  # a topic not seen yet


def _decoding(transcoding: Transcoding) -> Callable[[Any], Any]:
    """A transcoding's decode; eventsourcing's own for datetimes without its type assertion
    (orjson gives a str, or fromisoformat raises TypeError and the mapper takes the state)."""
    if type(transcoding) is DatetimeAsISO:
        return datetime.fromisoformat
    return transcoding.decode


def versions_until(app: TrialApplication, stop: int, after: int = 0) -> dict[UUID, int]:
    """Each participant's version after the event at position ``stop``; only the participants
    with an event in (``after``, ``stop``]."""
    datastore, table = _events_table(app)
    query = SQL(
        "SELECT originator_id, max(originator_version) FROM {} "
        "WHERE notification_id > %s AND notification_id <= %s GROUP BY originator_id"
    ).format(table)
    with datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as cursor:
        cursor.execute(query, (after, stop))
        return {pid: version for pid, version in cursor.fetchall()}


def fold(
    events: Iterator[Participant.Event], states: dict[UUID, Participant] | None = None
) -> tuple[dict[UUID, Participant], set[UUID]]:
    """Apply ``events`` to the participants' states; return them and the ids that changed."""
    states = {} if states is None else states
    touched: set[UUID] = set()
    for event in events:
        participant = event.mutate(states.get(event.originator_id))
        assert participant is not None
        states[event.originator_id] = participant
        touched.add(event.originator_id)
    return states, touched


def participants_until(app: TrialApplication, stop: int) -> dict[UUID, Participant]:
    """Every participant as it stood after the event at position ``stop``."""
    states, _ = fold(events_until(app, stop))
    return states
