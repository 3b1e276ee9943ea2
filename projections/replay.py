"""Participants rebuilt from the event sequence up to a position: for asOf views and rebuilds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from domain.application import TrialApplication
from domain.participant import Participant

PAGE = 5_000


def events_until(app: TrialApplication, stop: int, after: int = 0) -> Iterator[Participant.Event]:
    """Every participant event with a position in (``after``, ``stop``], in order.

    One server-side cursor in one snapshot, fetched in pages of plain tuples: a rebuild reads
    every event, and the recorder's row-by-row dictionaries cost more than the decoding.
    """
    datastore: PostgresDatastore = app.factory.datastore  # type: ignore[attr-defined]
    table = cast(PostgresApplicationRecorder, app.recorder).events_table_name
    query = SQL(
        "SELECT originator_id, originator_version, topic, state FROM {}.{} "
        "WHERE notification_id > %s AND notification_id <= %s ORDER BY notification_id"
    ).format(Identifier(datastore.schema), Identifier(table))
    to_domain_event = app.mapper.to_domain_event
    with (
        datastore.get_connection() as conn,
        conn.transaction(),
        conn.cursor("events_until", row_factory=tuple_row) as cursor,
    ):
        cursor.itersize = PAGE
        cursor.execute(query, (after, stop))
        while page := cursor.fetchmany(PAGE):
            for row in page:
                event = to_domain_event(StoredEvent(*row))
                assert isinstance(event, Participant.Event)
                yield event


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
