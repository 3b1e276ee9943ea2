"""Participants rebuilt from the event sequence up to a position: for asOf views and rebuilds."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any, cast
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier

from domain.application import TrialApplication
from domain.participant import Participant

PAGE = 5_000


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
    to_domain_event = app.mapper.to_domain_event
    with (
        datastore.get_connection() as conn,
        conn.transaction(),
        conn.cursor("events_until", row_factory=tuple_row) as cursor,
    ):
        cursor.itersize = PAGE
        cursor.execute(query, params)
        while page := cursor.fetchmany(PAGE):
            for row in page:
                event = to_domain_event(StoredEvent(*row))
                assert isinstance(event, Participant.Event)
                yield event


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
