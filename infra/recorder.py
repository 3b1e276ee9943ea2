"""The event recorder: eventsourcing's Postgres recorder plus the trial's event log.

Every stored event gets one row in ``trial_event_log`` written in the same transaction, after the
events table is locked: its global position (the notification id), the transaction time taken
under that lock (so recorded times follow commit order and ``asOf`` lookups are exact), who
recorded it and why, the command's idempotency key and digest, and the event's link in its
participant's hash chain (``infra.chain``): its hash and the previous event's hash, computed under
the same lock so that two writers of one stream can never chain to the same predecessor.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
)
from eventsourcing.utils import retry
from psycopg import ClientCursor, Cursor
from psycopg.rows import DictRow, tuple_row
from psycopg.sql import SQL, Composed, Identifier, Literal

from domain.event_log import EventAudit, LogEntry
from infra.chain import chain_hash, chained
from infra.group_commit import GroupCommit, Pending

LOG_TABLE = "trial_event_log"
SEALS_TABLE = "trial_seals"
Insert = tuple[Sequence[StoredEvent], dict[str, Any]]  # a caller's events and their audit
# eventsourcing's insert_events without its retries (the caller's insert_events retries).
_insert_once: Callable[..., Sequence[int] | None] = (
    PostgresApplicationRecorder.insert_events.__wrapped__
)


def _flag(curs: Cursor[DictRow], column: str) -> bool:
    row = curs.fetchone()
    return bool(row is not None and row[column])


class TrialRecorder(PostgresApplicationRecorder):
    """Records events and their log rows atomically; answers the log's lookups."""

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        schema = Identifier(datastore.schema)
        log = Identifier(LOG_TABLE)
        events = Identifier(self.events_table_name)
        self._select_stream = SQL(
            "SELECT originator_id, originator_version, topic, state FROM {schema}.{events}"
            " WHERE originator_id = %s"
        ).format(schema=schema, events=events)
        self.sql_create_statements += [
            SQL(
                "CREATE TABLE IF NOT EXISTS {schema}.{log} ("
                " position bigint PRIMARY KEY,"
                " participant_id uuid NOT NULL,"
                " version bigint NOT NULL,"
                " event_type text NOT NULL,"
                " recorded_at timestamptz NOT NULL,"
                " actor text NOT NULL,"
                " actor_role text NOT NULL,"
                " actor_site text,"
                " reason text,"
                " idempotency_key text,"
                " command_digest text,"
                " CONSTRAINT trial_event_log_stream_version UNIQUE (participant_id, version))"
            ).format(schema=schema, log=log),
            SQL(
                "CREATE INDEX IF NOT EXISTS trial_event_log_as_of"
                " ON {schema}.{log} (participant_id, recorded_at, version)"
            ).format(schema=schema, log=log),
            SQL(
                "CREATE UNIQUE INDEX IF NOT EXISTS trial_event_log_idempotency_key"
                " ON {schema}.{log} (idempotency_key) WHERE idempotency_key IS NOT NULL"
            ).format(schema=schema, log=log),
            SQL(
                "CREATE INDEX IF NOT EXISTS trial_event_log_recorded_at"
                " ON {schema}.{log} (recorded_at)"
            ).format(schema=schema, log=log),
            # Databases created before the hash chain get its columns. Checked first, so that
            # a start-up never queues an ALTER TABLE's lock behind a long read of the log.
            SQL(
                "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM information_schema.columns"
                " WHERE table_schema = {schema_name} AND table_name = {log_name}"
                " AND column_name = 'previous_hash') THEN"
                " ALTER TABLE {schema}.{log} ADD COLUMN IF NOT EXISTS hash text,"
                " ADD COLUMN IF NOT EXISTS previous_hash text; END IF; END $$"
            ).format(
                schema=schema,
                log=log,
                schema_name=Literal(datastore.schema),
                log_name=Literal(LOG_TABLE),
            ),
            # A seal: the head (version, hash) of every stream when it was taken (infra.audit).
            SQL(
                "CREATE TABLE IF NOT EXISTS {schema}.{seals} ("
                " id bigint NOT NULL,"
                " sealed_at timestamptz NOT NULL,"
                " participant_id uuid NOT NULL,"
                " version bigint NOT NULL,"
                " hash text,"
                " PRIMARY KEY (id, participant_id))"
            ).format(schema=schema, seals=Identifier(SEALS_TABLE)),
        ]
        # The log rows travel as one JSON document: psycopg dumps a list per column in Python,
        # which costs more than the rest of a command's recorder code; json.dumps is C.
        self._insert_log = SQL(
            "INSERT INTO {schema}.{log} (position, participant_id, version, event_type,"
            " recorded_at, actor, actor_role, actor_site, reason, idempotency_key, command_digest,"
            " hash, previous_hash)"
            " SELECT * FROM json_to_recordset(%s::json) AS r(position bigint, participant_id uuid,"
            " version bigint, event_type text, recorded_at timestamptz, actor text,"
            " actor_role text, actor_site text, reason text, idempotency_key text,"
            " command_digest text, hash text, previous_hash text)"
        ).format(schema=schema, log=log)
        # The events' INSERT, answering in the same round trip what their log rows need: each
        # event's position, the stored hash of the event before it in its stream and one
        # transaction time, all taken under the events table's EXCLUSIVE lock (locked by an
        # earlier statement of the same transaction).
        self.insert_events_statement = SQL(
            "WITH inserted AS (INSERT INTO {schema}.{events} AS t"
            " (originator_id, originator_version, topic, state)"
            " SELECT originator_id, originator_version, topic, state"
            " FROM unnest(%s::{schema}.{event_type}[])"
            " RETURNING notification_id, originator_id, originator_version),"
            " now AS MATERIALIZED (SELECT clock_timestamp() AS now)"
            " SELECT i.notification_id, i.originator_id, i.originator_version, now.now,"
            " l.hash AS previous_hash FROM inserted AS i CROSS JOIN now"
            " LEFT JOIN {schema}.{log} AS l"
            " ON l.participant_id = i.originator_id AND l.version = i.originator_version - 1"
            " ORDER BY i.notification_id"
        ).format(
            schema=schema,
            events=events,
            event_type=Identifier(self.stored_event_type_name),
            log=log,
        )
        # Every event row with its log row, either missing where the other exists.
        self.select_links = SQL(
            "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, e.state,"
            " l.* FROM {schema}.{events} AS e FULL OUTER JOIN {schema}.{log} AS l"
            " ON l.participant_id = e.originator_id AND l.version = e.originator_version"
        ).format(schema=schema, events=events, log=log)
        self._select_log = SQL("SELECT * FROM {schema}.{log}").format(schema=schema, log=log)
        # True only for a database whose history was recorded before the hash chain existed.
        self._select_unchained = SQL(
            "SELECT CASE WHEN (SELECT hash IS NULL FROM {schema}.{log} ORDER BY position LIMIT 1)"
            " THEN NOT EXISTS (SELECT 1 FROM {schema}.{log} WHERE hash IS NOT NULL)"
            " ELSE false END AS unchained"
        ).format(schema=schema, log=log)
        # The statements every command sends, rendered once: psycopg renders a composed
        # statement again on each execute.
        self.insert_events_statement = self.insert_events_statement.as_string()  # type: ignore[assignment]
        self._insert_log = self._insert_log.as_string()  # type: ignore[assignment]
        self.lock_table_statements = [
            s.as_string() if isinstance(s, SQL | Composed) else s
            for s in self.lock_table_statements
        ]
        self._notify_statement = SQL("NOTIFY {}").format(Identifier(self.channel_name)).as_string()
        # One simple-protocol query: a transaction begun, the events table locked, its NOTIFY.
        self._begin_locked = "; ".join(
            ["BEGIN", *map(str, self.lock_table_statements), self._notify_statement]
        )
        self.group_commit: GroupCommit[Insert, Sequence[int] | None] = GroupCommit(
            self._write_batch
        )
        self._update_links = SQL(
            "UPDATE {schema}.{log} AS l SET hash = u.hash, previous_hash = u.previous_hash"
            " FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS u(position, hash, previous_hash)"
            " WHERE l.position = u.position"
        ).format(schema=schema, log=log)

    def table(self, name: str) -> Composed:
        """A table of this recorder's schema, for statements of its own (``infra.audit``)."""
        return SQL("{}.{}").format(Identifier(self.datastore.schema), Identifier(name))

    def create_table(self) -> None:
        super().create_table()
        self._chain_history()

    def _chain_history(self) -> None:
        """Migration: chain the events of a database created before the hash chain, once.

        Only while no event has a hash yet: afterwards an event without one is a tampering that
        ``trial verify`` reports, not history to adopt. What the history held when it was
        adopted is what the chain then vouches for."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self._select_unchained)
            if not _flag(curs, "unchained"):
                return
            self._lock_table(curs)
            curs.execute(self._select_unchained)
            if not _flag(curs, "unchained"):
                return  # another process adopted it while this one waited for the lock
            curs.execute(
                self.select_links
                + SQL(" WHERE l.position IS NOT NULL AND e.notification_id IS NOT NULL")
                + SQL(" ORDER BY l.participant_id, l.version")
            )
            heads: dict[UUID, str] = {}
            positions: list[int] = []
            hashes: list[str] = []
            previous: list[str | None] = []
            for row in curs.fetchall():
                stream = row["participant_id"]
                previous.append(heads.get(stream))
                entry = replace(LogEntry.from_row(row), previous_hash=previous[-1])
                heads[stream] = chain_hash(entry, row["topic"], bytes(row["state"]))
                positions.append(entry.position)
                hashes.append(heads[stream])
            curs.execute(self._update_links, (positions, hashes, previous))

    def _notify_channel(self, curs: Cursor[DictRow]) -> None:
        curs.execute(self._notify_statement)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)  # as the base does
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Record the events with their log rows; concurrent callers share one transaction
        (``infra.group_commit``), each caller's events all or none."""
        if not stored_events or self.datastore.enable_db_functions:
            return _insert_once(self, stored_events, **kwargs)
        return self.group_commit.submit((stored_events, kwargs))

    def _write_batch(self, batch: Sequence[Pending[Insert, Sequence[int] | None]]) -> None:
        """One transaction for the batch, the events table locked once: every request's events
        in one INSERT. When that fails, each request is written again on its own: a request
        alone takes eventsourcing's own path, several share a transaction, each in a savepoint
        of its own."""
        if self._insert_together(batch):
            return
        if len(batch) == 1:
            [pending] = batch
            events, kwargs = pending.request
            try:
                pending.answer = _insert_once(self, events, **kwargs)
            except Exception as error:
                pending.error = error
            return
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._lock_table(curs)
            self._notify_channel(curs)
            self._insert_apart(conn, curs, batch)
        # Answers stand only now, the transaction committed (GroupCommit voids them if not).

    def _insert_together(self, batch: Sequence[Pending[Insert, Sequence[int] | None]]) -> bool:
        """The whole batch in one transaction of three statements: the lock (with BEGIN and
        NOTIFY), one INSERT of every event, one of every log row (with COMMIT). Each statement
        is one wait for the database, and under load each wait is also a wait for the GIL: the
        eventsourcing path, in pipeline mode, waits a dozen times per transaction. False, with
        nothing written, when the database refuses any of it (a request that lost a race, say),
        so that each request is then tried alone; a lost connection is raised, as elsewhere."""
        streams = [{str(event.originator_id) for event in p.request[0]} for p in batch]
        if len(set().union(*streams)) != sum(map(len, streams)):
            return False  # two requests on one stream: one of them loses, alone
        answers: list[Sequence[int]] = []
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            try:
                for pending in batch:
                    events, kwargs = pending.request
                    self._insert_events(curs, events, **kwargs)
                stored = [event for pending in batch for event in pending.request[0]]
                curs.execute(self._begin_locked)
                PostgresAggregateRecorder._insert_stored_events(self, curs, stored)
                rows = self._inserted(curs, stored)
                entries: list[LogEntry] = []
                for pending in batch:
                    events, kwargs = pending.request
                    mine, rows = rows[: len(events)], rows[len(events) :]
                    positions = [row["notification_id"] for row in mine]
                    audits = EventAudit.per_event(kwargs["audit"], len(mine))
                    entries += self._entries(positions, events, audits, mine)
                    answers.append(positions)
                # Bound on the client, so that the query takes the simple protocol, which
                # allows a second statement.
                documents = json.dumps([entry.document() for entry in entries])
                log = ClientCursor(conn).mogrify(self._insert_log, (documents,))
                curs.execute(f"{log}; COMMIT")
            except (psycopg.InterfaceError, psycopg.OperationalError):
                raise  # the connection is gone: the pool replaces it, the caller retries
            except Exception:
                with contextlib.suppress(Exception):
                    curs.execute("ROLLBACK")
                return False
        for pending, answer in zip(batch, answers, strict=True):
            pending.answer = answer
        return True

    def _insert_apart(
        self,
        conn: psycopg.Connection[DictRow],
        curs: Cursor[DictRow],
        batch: Sequence[Pending[Insert, Sequence[int] | None]],
    ) -> None:
        """Each request in a savepoint of its own: one that fails is rolled back alone."""
        for pending in batch:
            events, kwargs = pending.request
            try:
                with conn.transaction():
                    self._insert_events(curs, events, **kwargs)
                    PostgresAggregateRecorder._insert_stored_events(self, curs, events)
                    pending.answer = self._fetch_ids_after_insert_events(curs, events, **kwargs)
            except psycopg.IntegrityError as error:
                pending.error = IntegrityError(str(error))
                pending.error.__cause__ = error
            except Exception as error:
                pending.error = error

    def _insert_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        **kwargs: Any,
    ) -> None:
        # Checked before anything is inserted, where raising rolls the transaction back: the
        # base class swallows errors raised after its INSERT until the transaction has ended.
        audits = EventAudit.per_event(kwargs.get("audit"), len(stored_events))
        if stored_events and len(audits) != len(stored_events):
            raise ProgrammingError(
                "events are saved with their audit (save(..., audit=EventAudit(...)), or one"
                " EventAudit per event), so that each one gets its event-log row"
            )
        for audit in audits:
            audit.check_text()
        super()._insert_events(curs, stored_events, **kwargs)

    def _fetch_ids_after_insert_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        **kwargs: Any,
    ) -> Sequence[int] | None:
        try:
            rows = self._inserted(curs, stored_events)
            positions = [row["notification_id"] for row in rows]
            audits = EventAudit.per_event(kwargs["audit"], len(rows))
            entries = self._entries(positions, stored_events, audits, rows)
            curs.execute(self._insert_log, (json.dumps([e.document() for e in entries]),))
        except BaseException:
            # The base class holds an error raised after its INSERT until its transaction block
            # ends, and a client-side error leaves that transaction healthy: abort it here, so
            # that the events are never committed without their log rows.
            with contextlib.suppress(Exception):
                curs.execute("DO $$ BEGIN RAISE EXCEPTION 'event log row not written'; END $$")
            raise
        return positions

    @staticmethod
    def _inserted(curs: Cursor[DictRow], stored_events: Sequence[StoredEvent]) -> list[DictRow]:
        """The events INSERT's answer, one row per event in their order, or an error."""
        rows = curs.fetchall()
        if [(str(row["originator_id"]), row["originator_version"]) for row in rows] != [
            (str(event.originator_id), event.originator_version) for event in stored_events
        ]:
            raise ProgrammingError(
                f"the INSERT answered {len(rows)} rows for {len(stored_events)} events"
            )
        return rows

    @staticmethod
    def _entries(
        positions: Sequence[int],
        stored_events: Sequence[StoredEvent],
        audits: list[EventAudit],
        inserted: Sequence[DictRow],
    ) -> list[LogEntry]:
        """The events' log rows, chained. ``inserted``: the INSERT's answer, taken under the
        EXCLUSIVE lock on the events table, so recorded times follow commit order, and no other
        writer can append to a stream between reading its head and chaining to it."""
        recorded_at: datetime = inserted[0]["now"]
        for audit in audits:
            audit.recorded_at = recorded_at
        previous: dict[str, str | None] = {}
        for event, row in zip(stored_events, inserted, strict=True):
            previous.setdefault(str(event.originator_id), row["previous_hash"])
        return chained(positions, stored_events, audits, previous)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        """The base class's query (and retries), answered as plain tuples: replaying a stream
        is the read every command and every atVersion/asOf view starts with."""
        params: list[Any] = [originator_id]
        params += [value for value in (gt, lte) if value is not None]
        if limit is not None:
            params.append(limit)
        statement = self._stream_statement(gt is not None, lte is not None, desc, limit is not None)
        with (
            self.datastore.get_connection() as conn,
            conn.cursor(row_factory=tuple_row) as curs,
        ):
            curs.execute(statement, params, prepare=True)
            return [StoredEvent(*row) for row in curs.fetchall()]

    @functools.cache  # noqa: B019 - sixteen statements at most, for the recorder's lifetime
    def _stream_statement(self, gt: bool, lte: bool, desc: bool, limit: bool) -> str:
        statement = self._select_stream
        if gt:
            statement += SQL(" AND originator_version > %s")
        if lte:
            statement += SQL(" AND originator_version <= %s")
        statement += SQL(" ORDER BY originator_version" + (" DESC" if desc else ""))
        if limit:
            statement += SQL(" LIMIT %s")
        return statement.as_string()

    def find_command(self, idempotency_key: str) -> LogEntry | None:
        statement = self._select_log + SQL(
            " WHERE idempotency_key = %s ORDER BY position DESC LIMIT 1"
        )
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, (idempotency_key,))
            row = curs.fetchone()
        return None if row is None else LogEntry.from_row(row)

    def version_at(self, participant_id: UUID, instant: datetime) -> int | None:
        statement = self._select_log + SQL(
            " WHERE participant_id = %s AND recorded_at <= %s ORDER BY version DESC LIMIT 1"
        )
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, (participant_id, instant))
            row = curs.fetchone()
        return None if row is None else int(row["version"])

    def position_at(self, instant: datetime) -> int:
        """The last position recorded at or before ``instant`` (0 when none was)."""
        statement = SQL(
            "SELECT max(position) AS position FROM {schema}.{log} WHERE recorded_at <= %s"
        ).format(schema=Identifier(self.datastore.schema), log=Identifier(LOG_TABLE))
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, (instant,))
            row = curs.fetchone()
        return 0 if row is None or row["position"] is None else int(row["position"])

    def log_entries(self, participant_id: UUID) -> list[LogEntry]:
        statement = self._select_log + SQL(" WHERE participant_id = %s ORDER BY version")
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, (participant_id,))
            rows = curs.fetchall()
        return [LogEntry.from_row(row) for row in rows]

    def participant_ids(self) -> list[UUID]:
        statement = SQL(
            "SELECT participant_id FROM {schema}.{log} WHERE version = 1 ORDER BY position"
        ).format(schema=Identifier(self.datastore.schema), log=Identifier(LOG_TABLE))
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement)
            return [row["participant_id"] for row in curs.fetchall()]


class StandbyRecorder(TrialRecorder):
    """The recorder of a hot standby's read-only application (``infra.read_databases``): it
    reads the replicated events and log, records nothing, and fails at once when the standby
    does not answer (the read then goes to the primary) instead of retrying for seconds."""

    select_events = TrialRecorder.select_events.__wrapped__
    max_notification_id = PostgresApplicationRecorder.max_notification_id.__wrapped__
