"""The event recorder: eventsourcing's Postgres recorder plus the trial's event log.

Every stored event gets one row in ``trial_event_log`` written in the same transaction, after the
events table is locked: its global position (the notification id), the transaction time taken
under that lock (so recorded times follow commit order and ``asOf`` lookups are exact), who
recorded it and why, and the command's idempotency key and digest.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import ProgrammingError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from domain.application import CommandReceipt, EventAudit, EventLogEntry

LOG_TABLE = "trial_event_log"


def _audits(audit: Any, count: int) -> list[EventAudit]:
    """One audit per stored event: the command's audit for all of them, or one each."""
    if isinstance(audit, EventAudit):
        return [audit] * count
    if isinstance(audit, list) and all(isinstance(item, EventAudit) for item in audit):
        return audit
    return []


class TrialRecorder(PostgresApplicationRecorder):
    """Records events and their log rows atomically; answers the log's lookups."""

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        schema = Identifier(datastore.schema)
        log = Identifier(LOG_TABLE)
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
        ]
        self._insert_log = SQL(
            "INSERT INTO {schema}.{log} (position, participant_id, version, event_type,"
            " recorded_at, actor, actor_role, actor_site, reason, idempotency_key, command_digest)"
            " SELECT * FROM unnest(%s::bigint[], %s::uuid[], %s::bigint[], %s::text[],"
            " %s::timestamptz[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[],"
            " %s::text[])"
        ).format(schema=schema, log=log)
        self._select_log = SQL("SELECT * FROM {schema}.{log}").format(schema=schema, log=log)

    def _insert_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        **kwargs: Any,
    ) -> None:
        # Checked before anything is inserted, where raising rolls the transaction back: the
        # base class swallows errors raised after its INSERT until the transaction has ended.
        if stored_events and len(_audits(kwargs.get("audit"), len(stored_events))) != len(
            stored_events
        ):
            raise ProgrammingError(
                "events are saved with their audit (save(..., audit=EventAudit(...)), or one"
                " EventAudit per event), so that each one gets its event-log row"
            )
        super()._insert_events(curs, stored_events, **kwargs)

    def _fetch_ids_after_insert_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        **kwargs: Any,
    ) -> Sequence[int] | None:
        positions = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        audits = _audits(kwargs["audit"], len(stored_events))
        if positions is None:
            return positions
        # Taken after the EXCLUSIVE lock on the events table: recorded times follow commit order.
        curs.execute("SELECT clock_timestamp() AS now")
        row = curs.fetchone()
        assert row is not None
        recorded_at: datetime = row["now"]
        curs.execute(
            self._insert_log,
            (
                list(positions),
                [event.originator_id for event in stored_events],
                [event.originator_version for event in stored_events],
                [event.topic.rsplit(".", 1)[-1] for event in stored_events],
                [recorded_at] * len(audits),
                [audit.actor for audit in audits],
                [audit.actor_role for audit in audits],
                [audit.actor_site for audit in audits],
                [audit.reason for audit in audits],
                [audit.idempotency_key for audit in audits],
                [audit.command_digest for audit in audits],
            ),
        )
        for audit in audits:
            audit.recorded_at = recorded_at
        return positions

    def find_command(self, idempotency_key: str) -> CommandReceipt | None:
        statement = self._select_log + SQL(
            " WHERE idempotency_key = %s ORDER BY position DESC LIMIT 1"
        )
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, (idempotency_key,))
            row = curs.fetchone()
        if row is None:
            return None
        return CommandReceipt(
            participant_id=row["participant_id"],
            version=row["version"],
            position=row["position"],
            recorded_at=row["recorded_at"],
            command_digest=row["command_digest"],
        )

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

    def log_entries(self, participant_id: UUID) -> list[EventLogEntry]:
        statement = self._select_log + SQL(" WHERE participant_id = %s ORDER BY version")
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, (participant_id,))
            rows = curs.fetchall()
        return [
            EventLogEntry(
                position=row["position"],
                participant_id=row["participant_id"],
                version=row["version"],
                event_type=row["event_type"],
                recorded_at=row["recorded_at"],
                actor=row["actor"],
                actor_role=row["actor_role"],
                actor_site=row["actor_site"],
                reason=row["reason"],
            )
            for row in rows
        ]

    def participant_ids(self) -> list[UUID]:
        statement = SQL(
            "SELECT participant_id FROM {schema}.{log} WHERE version = 1 ORDER BY position"
        ).format(schema=Identifier(self.datastore.schema), log=Identifier(LOG_TABLE))
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement)
            return [row["participant_id"] for row in curs.fetchall()]
