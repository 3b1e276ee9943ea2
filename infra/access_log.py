"""The read-access log: who read which participants' data, how and when; append-only.

One row per answered query (or subscription push) that returned participant-level data, in
``trial_read_log``. Append-only is enforced in the database: triggers refuse UPDATE, DELETE and
TRUNCATE, whoever sends them. They guard against mistakes and against anyone without DDL
rights; the table's owner or a superuser can still drop or disable them (or set
``session_replication_role = replica``), so run the service as a role that owns neither the
schema nor the table where that matters. The events' hash chain covers events, not these rows.

Appends are serialised by a transaction-level advisory lock taken in the INSERT itself (one
statement, one round trip), so ids are committed in increasing order and a reader paging by
``after`` never skips a row that commits later with a smaller id. ``append_many`` writes any
number of rows in that one statement (the pushes of one change to many subscribers).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL, Composed, Identifier, Literal

from domain.application import TrialApplication
from domain.commands import Actor

TABLE = "trial_read_log"
GUARD = "trial_read_log_append_only"


@dataclass(frozen=True)
class ReadRow:
    """One row to append: who was answered which operation with these participants' data."""

    actor: Actor
    operation: str
    participant_ids: Iterable[UUID]
    detail: Mapping[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "actor": self.actor.user_id,
            "actor_role": self.actor.role.value,
            "actor_site": self.actor.site,
            "operation": self.operation,
            "participant_ids": [str(pid) for pid in dict.fromkeys(self.participant_ids)],
            "detail": dict(self.detail),
        }


@dataclass(frozen=True)
class LoggedRead:
    id: int
    read_at: datetime
    actor: str
    actor_role: str
    actor_site: str | None
    operation: str
    participant_ids: tuple[UUID, ...]
    detail: dict[str, Any]


COLUMNS = tuple(field.name for field in fields(LoggedRead))


class AccessLog:
    """Appends and pages the rows of ``trial_read_log`` on the application's datastore."""

    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore
        schema = Identifier(datastore.schema)
        self.table = SQL("{}.{}").format(schema, Identifier(TABLE))
        self.guard = SQL("{}.{}").format(schema, Identifier(GUARD))
        self.lock_key = zlib.crc32(f"trial-read-log:{datastore.schema}".encode())

    @classmethod
    def open(cls, app: TrialApplication) -> AccessLog:
        """The log on ``app``'s datastore, its table and guards created if missing."""
        log = cls(app.factory.datastore)  # type: ignore[attr-defined]
        log.create_table()
        return log

    def create_statements(self) -> list[Composed]:
        refuse = (
            "BEGIN RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP"
            " USING ERRCODE = 'insufficient_privilege'; END"
        )
        return [
            SQL(
                "CREATE TABLE IF NOT EXISTS {table} ("
                " id bigserial PRIMARY KEY,"
                " read_at timestamptz NOT NULL DEFAULT clock_timestamp(),"
                " actor text NOT NULL,"
                " actor_role text NOT NULL,"
                " actor_site text,"
                " operation text NOT NULL,"
                " participant_ids uuid[] NOT NULL,"
                " detail jsonb NOT NULL)"
            ).format(table=self.table),
            SQL(
                "CREATE INDEX IF NOT EXISTS trial_read_log_participants"
                " ON {table} USING gin (participant_ids)"
            ).format(table=self.table),
            SQL(
                "CREATE OR REPLACE FUNCTION {guard}() RETURNS trigger LANGUAGE plpgsql AS {body}"
            ).format(guard=self.guard, body=Literal(refuse)),
            SQL(
                "CREATE OR REPLACE TRIGGER trial_read_log_no_change BEFORE UPDATE OR DELETE"
                " ON {table} FOR EACH ROW EXECUTE FUNCTION {guard}()"
            ).format(table=self.table, guard=self.guard),
            SQL(
                "CREATE OR REPLACE TRIGGER trial_read_log_no_truncate BEFORE TRUNCATE"
                " ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {guard}()"
            ).format(table=self.table, guard=self.guard),
        ]

    def create_table(self) -> None:
        # Under the log's lock: processes starting together would otherwise race to replace
        # the same function and triggers ("tuple concurrently updated").
        with self.datastore.transaction(commit=True) as curs:
            curs.execute("SELECT pg_advisory_xact_lock(%s)", (self.lock_key,))
            for statement in self.create_statements():
                curs.execute(statement)

    def append(
        self,
        actor: Actor,
        operation: str,
        participant_ids: Iterable[UUID],
        detail: Mapping[str, Any],
    ) -> int:
        """Append one row (committed on return) and return its id."""
        [row_id] = self.append_many([ReadRow(actor, operation, participant_ids, detail)])
        return row_id

    def append_many(self, rows: Sequence[ReadRow]) -> list[int]:
        """Append ``rows`` in one statement (committed on return); their ids, in their order."""
        if not rows:
            return []
        statement = SQL(
            "WITH serialised AS MATERIALIZED (SELECT pg_advisory_xact_lock(%s))"
            " INSERT INTO {table} (actor, actor_role, actor_site, operation, participant_ids,"
            " detail) SELECT r.actor, r.actor_role, r.actor_site, r.operation,"
            " r.participant_ids, r.detail FROM serialised, ROWS FROM (jsonb_to_recordset(%s::jsonb)"
            " AS (actor text, actor_role text, actor_site text, operation text,"
            " participant_ids uuid[], detail jsonb)) WITH ORDINALITY AS r(actor, actor_role,"
            " actor_site, operation, participant_ids, detail, n) ORDER BY r.n RETURNING id"
        ).format(table=self.table)
        values = json.dumps([row.as_json() for row in rows], sort_keys=True, default=str)
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, (self.lock_key, values))
            ids = sorted(int(row["id"]) for row in curs.fetchall())
        assert len(ids) == len(rows)
        return ids  # ids follow the rows' order: they are drawn in it, under the lock

    def page(
        self, *, after: int | None = None, limit: int = 100, participant_id: UUID | None = None
    ) -> list[LoggedRead]:
        """Up to ``limit`` rows with ids above ``after``, oldest first; only those that name
        ``participant_id`` when given."""
        where = [SQL("id > %s")]
        params: list[Any] = [after or 0]
        if participant_id is not None:
            where.append(SQL("participant_ids @> ARRAY[%s]::uuid[]"))
            params.append(participant_id)
        statement = SQL("SELECT * FROM {table} WHERE {where} ORDER BY id LIMIT %s").format(
            table=self.table, where=SQL(" AND ").join(where)
        )
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, [*params, limit])
            rows: Sequence[Mapping[str, Any]] = curs.fetchall()
        return [
            LoggedRead(
                **{name: row[name] for name in COLUMNS}
                | {"participant_ids": tuple(row["participant_ids"])}
            )
            for row in rows
        ]
