"""Reading the record for a CDISC export: every event with its event-log row, a participant at
a time, and who recorded them.

An export reads up to a stop position (the head, or the last position recorded at asOf): events
and log rows up to it never change, and those up to it are all committed once it is visible (the
recorder takes the events table's lock), so every process of one export reads the same record.
Each reads in a REPEATABLE READ snapshot of its own, the events through a server-side cursor
ordered by stream and version (the events table's primary key): a process holds one page of rows
and one participant's state in memory, whatever the size of the study.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from itertools import groupby
from operator import itemgetter
from typing import Any, cast
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from psycopg import Connection
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composable, Composed

from domain.application import TrialApplication
from domain.participant import Participant
from infra.recorder import LOG_TABLE, TrialRecorder
from projections.cdisc import ExportError
from projections.cdisc.odm import Recorded
from projections.cdisc.odm_xml import Location, User, location_oid, user_oid

PAGE = 5_000


@dataclass(frozen=True)
class ConsentedParticipant:
    """A participant in an export: its stream id, site and when its consent was recorded."""

    participant_id: UUID
    site: str
    recorded_at: datetime


class RecordReader:
    """The queries of one export, in one snapshot of the database."""

    def __init__(self, app: TrialApplication, conn: Connection[Any]) -> None:
        self.app = app
        self.conn = conn
        recorder = cast(TrialRecorder, app.recorder)
        self.log = recorder.table(LOG_TABLE)
        self.events = recorder.table(recorder.events_table_name)

    def _rows(self, query: Composed, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.conn.cursor(row_factory=tuple_row) as cursor:
            cursor.execute(query, params)
            return cursor.fetchall()

    def head(self) -> int:
        """The last recorded position (0 when nothing is recorded)."""
        [(head,)] = self._rows(SQL("SELECT coalesce(max(position), 0) FROM {}").format(self.log))
        return int(head)

    def position_at(self, instant: datetime) -> int:
        """The last position recorded at or before ``instant``."""
        [(position,)] = self._rows(
            SQL("SELECT coalesce(max(position), 0) FROM {} WHERE recorded_at <= %s").format(
                self.log
            ),
            (instant,),
        )
        return int(position)

    def consented(self, stop: int) -> dict[UUID, datetime]:
        """Every participant whose stream starts at or before ``stop``, with its consent's time."""
        rows = self._rows(
            SQL("SELECT participant_id, recorded_at FROM {} WHERE version = 1 AND position <= %s"
                " ORDER BY participant_id").format(self.log),
            (stop,),
        )  # fmt: skip
        return dict(rows)

    def users(self, stop: int, participants: Collection[UUID] | None) -> list[User]:
        """Everyone who recorded an exported event: the role of their first event and every
        site they recorded at."""
        where, params = self._where(
            stop, participants, position="position", participant="participant_id"
        )
        rows = self._rows(
            SQL(
                "SELECT actor, (array_agg(actor_role ORDER BY position))[1],"
                " coalesce(array_agg(DISTINCT actor_site) FILTER (WHERE actor_site IS NOT NULL),"
                " '{{}}') FROM {log} WHERE {where} GROUP BY actor ORDER BY actor"
            ).format(log=self.log, where=where),
            params,
        )
        return [
            User(user_oid(actor), actor, role, tuple(sorted(sites))) for actor, role, sites in rows
        ]

    def streams(
        self,
        stop: int,
        participants: Collection[UUID] | None,
        part: tuple[int, int] | None = None,
    ) -> Iterator[Iterator[Recorded]]:
        """Each participant's events up to ``stop`` with their log rows, in version order; the
        participants in the order of their stream ids; only those of ``part`` (k, n) when
        given: the k-th of n disjoint sets, split on the last byte of the stream id. Consume
        each participant's events before the next's."""
        where, params = self._where(
            stop, participants, position="e.notification_id", participant="e.originator_id"
        )
        if part is not None:
            where = SQL(" AND ").join(
                [where, SQL("get_byte(uuid_send(e.originator_id), 15) %% %s = %s")]
            )
            params += [part[1], part[0]]
        query = SQL(
            "SELECT e.originator_id, e.originator_version, e.topic, e.state, e.notification_id,"
            " l.position, l.recorded_at, l.actor, l.actor_role, l.actor_site, l.reason"
            " FROM {events} AS e LEFT JOIN {log} AS l"
            " ON l.participant_id = e.originator_id AND l.version = e.originator_version"
            " WHERE {where} ORDER BY e.originator_id, e.originator_version"
        ).format(events=self.events, log=self.log, where=where)
        to_domain_event = self.app.mapper.to_domain_event
        with self.conn.cursor("cdisc_export", row_factory=tuple_row) as cursor:
            cursor.itersize = PAGE
            cursor.execute(query, params)
            rows = _rows(cursor)
            for _, stream in groupby(rows, key=itemgetter(0)):
                yield (_recorded(row, to_domain_event) for row in stream)

    @staticmethod
    def _where(
        stop: int, participants: Collection[UUID] | None, *, position: str, participant: str
    ) -> tuple[Composable, list[Any]]:
        """Rows at or before ``stop`` (of ``participants`` when given), by the named columns."""
        where: Composable = SQL(f"{position} <= %s")
        params: list[Any] = [stop]
        if participants is not None:
            where = SQL(" AND ").join([where, SQL(f"{participant} = ANY(%s)")])
            params.append(list(participants))
        return where, params


def participants_at(
    reader: RecordReader, stop: int, participants: Collection[UUID] | None
) -> Iterator[Participant]:
    """Each participant as it stood after the events up to ``stop``, one at a time."""
    for stream in reader.streams(stop, participants):
        participant: Participant | None = None
        for recorded in stream:
            participant = recorded.event.mutate(participant)
        assert participant is not None
        yield participant


def _rows(cursor: Any) -> Iterator[tuple[Any, ...]]:
    while page := cursor.fetchmany(PAGE):
        yield from page


def _recorded(row: tuple[Any, ...], to_domain_event: Any) -> Recorded:
    pid, version, topic, state, position, logged, recorded_at, actor, role, site, reason = row
    if logged is None:
        raise ExportError(
            f"participant {pid} version {version} (position {position}) has no event-log row;"
            " run `trial verify`"
        )
    try:
        event = to_domain_event(StoredEvent(pid, version, topic, bytes(state)))
    except Exception as error:
        raise ExportError(
            f"participant {pid} version {version} no longer decodes; run `trial verify`"
        ) from error
    assert isinstance(event, Participant.Event)
    return Recorded(event, position, recorded_at, actor, role, site, reason)


@contextmanager
def snapshot_of(app: TrialApplication) -> Iterator[RecordReader]:
    """A reader whose every query sees the same committed state of the database."""
    datastore: Any = app.factory.datastore  # type: ignore[attr-defined]
    with datastore.get_connection() as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            yield RecordReader(app, conn)
        finally:
            conn.execute("ROLLBACK")


def locations(
    consented: dict[UUID, datetime], sites: dict[UUID, str], users: list[User]
) -> list[Location]:
    """A Location per site named by an exported participant or user; effective from the first
    consent recorded there (or the first user's event, for a site with no participant)."""
    first: dict[str, date] = {}
    for pid, at in consented.items():
        site = sites[pid]
        first[site] = min(first.get(site, at.date()), at.date())
    for user in users:
        for site in user.sites:
            first.setdefault(site, min(first.values(), default=date.today()))
    return [Location(location_oid(site), site, first[site]) for site in sorted(first)]
