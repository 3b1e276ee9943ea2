"""Participants rebuilt from the event sequence up to a position: for asOf views and rebuilds."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any, cast
from uuid import UUID

import orjson
from eventsourcing.persistence import JSONTranscoder, Mapper, StoredEvent, find_id_convertor
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
    part: tuple[int, int] | None = None,
) -> Iterator[Participant.Event]:
    """Every participant event with a position in (``after``, ``stop``], in order; only
    those of ``participants`` when given, or of the participants in ``part`` (k, n): the
    k-th of n disjoint sets, split on the last byte of the participant's id.

    One server-side cursor in one snapshot, fetched in pages of plain tuples: a rebuild reads
    every event, and the recorder's row-by-row dictionaries cost more than the decoding.
    """
    datastore, table = _events_table(app)
    query = SQL(
        "SELECT originator_id, originator_version, topic, state FROM {} "
        "WHERE notification_id > %s AND notification_id <= %s"
    ).format(table)
    params: list[Any] = [after, stop]
    if participants is not None:
        query += SQL(" AND originator_id = ANY(%s)")
        params.append(list(participants))
    if part is not None:
        query += SQL(" AND get_byte(uuid_send(originator_id), 15) %% %s = %s")
        params += [part[1], part[0]]
    query += SQL(" ORDER BY notification_id")
    decoder = EventDecoder(app.mapper)
    with (
        datastore.get_connection() as conn,
        conn.transaction(),
        conn.cursor("events_until", row_factory=tuple_row, binary=True) as cursor,
    ):
        cursor.itersize = PAGE
        cursor.execute(query, params)
        while page := cursor.fetchmany(PAGE):
            for row in page:
                event = decoder(row)
                assert isinstance(event, Participant.Event)
                yield event


class EventDecoder:
    """A stored event's domain event, as the application's mapper makes it, in a third of the
    time: what a replay spends most of its time on.

    The mapper's JSON transcoder calls a Python hook for every object of the state, to find
    the ``{"_type_", "_data_"}`` objects it writes for datetimes and other registered types;
    an event's state holds them only as top-level values (its timestamps). Here the state is
    parsed by orjson, and top-level values are transcoded as the hook would. The mapper itself
    decodes whatever this does not take: a state with such an object anywhere else (its
    ``"_type_"`` keys outnumber the top-level ones), a state orjson refuses, an event class
    that upcasts, a transcoder other than eventsourcing's JSON one.
    """

    def __init__(self, mapper: Mapper[UUID]) -> None:
        self.mapper = mapper
        transcoder = mapper.transcoder
        self.names = transcoder.names if type(transcoder) is JSONTranscoder else None
        self.classes: dict[str, type | None] = {}  # by topic; None: the mapper decodes it

    def __call__(self, row: Row) -> object:
        originator_id, version, topic, state = row
        values = self._values(state) if self.names is not None else None
        if topic not in self.classes:
            self.classes[topic] = self._class(topic)
        cls = self.classes[topic]
        if values is None or cls is None or "class_version" in values:
            return self.mapper.to_domain_event(StoredEvent(*row))
        convert: Any = find_id_convertor(cls, cast(Any, type(originator_id)))
        values["originator_id"] = convert(originator_id)
        values["originator_version"] = version
        event: object = object.__new__(cls)
        object.__setattr__(event, "__dict__", values)
        return event

    def _values(self, state: bytes) -> dict[str, Any] | None:
        """The event's values; None where the mapper must decode them (and name any error)."""
        names = cast(dict[str, Any], self.names)
        try:
            if self.mapper.cipher is not None:
                state = self.mapper.cipher.decrypt(state)
            if self.mapper.compressor is not None:
                state = self.mapper.compressor.decompress(state)
            values = orjson.loads(state)
            if type(values) is not dict:
                return None
            transcoded = 0
            for key, value in values.items():
                if type(value) is dict and len(value) == 2 and "_type_" in value:
                    values[key] = names[value["_type_"]].decode(value["_data_"])
                    transcoded += 1
        except Exception:
            return None
        return values if state.count(b'"_type_"') == transcoded else None

    @staticmethod
    def _class(topic: str) -> type | None:
        cls = resolve_topic(topic)
        return cls if getattr(cls, "class_version", 1) == 1 else None


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
