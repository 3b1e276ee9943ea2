"""Read-model tables and their tracking position, written together in one transaction.

Each projection owns one table ``rm_<name>`` of JSON documents keyed by (participant, key): a
participant's rows are replaced whole each time one of its events is processed, so applying an
event twice could never double-count. The tracking row of the projection advances in the same
transaction, under a transaction-level advisory lock so that two projectors running at once
serialise and the second skips what the first has done. The transaction also sends a NOTIFY that
API processes turn into subscription pushes; PostgreSQL delivers it only on commit.
"""

from __future__ import annotations

import contextlib
import functools
import json
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import IntegrityError, Tracking, TrackingRecorder
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg import ClientCursor, Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from domain.errors import BadInput, TrialError

CHANNEL = "trial_read_models"
WAIT_TIMEOUT_S = 10.0
Docs = Mapping[str, dict[str, Any]]
ParticipantDocs = tuple[UUID, str, Docs]  # a participant, its site and its new documents
ParticipantTexts = tuple[UUID, str, Mapping[str, str]]  # the same, documents as JSON text


class ReadModelBehind(TrialError):
    """A read model did not reach the position the caller asked for in time."""

    code = "SERVICE_UNAVAILABLE"


def table_name(projection: str) -> str:
    return f"rm_{projection}"


class ReadModelStore(PostgresTrackingRecorder):
    """A projection's documents table plus eventsourcing's tracking table."""

    projection = ""  # set by ``for_projection``
    # eventsourcing retries a tracking read ten times over a lost connection: right for the
    # primary, which the service cannot do without; a standby's store fails at once instead,
    # and its read goes to the primary (infra.read_databases).
    retrying = True

    def __init__(
        self, datastore: PostgresDatastore, *, tracking_table_name: str, **kwargs: Any
    ) -> None:
        super().__init__(datastore, tracking_table_name=tracking_table_name, **kwargs)
        self.table = table_name(self.projection)
        self.check_identifier_length(self.table)
        # Advisory locks are database-wide: the key names the schema too, so that read models
        # in other schemas of the same database (tests, staging) do not wait for each other.
        key = f"trial-projection:{self.datastore.schema}:{self.projection}"
        self.lock_key = zlib.crc32(key.encode())
        self.sql_create_statements.append(self.create_statement(self.table))
        # Rendered once: psycopg renders a composed statement again on each execute.
        self.insert_tracking_statement = self.insert_tracking_statement.as_string()  # type: ignore[assignment]
        self.max_tracking_id_statement = self.max_tracking_id_statement.as_string()  # type: ignore[assignment]

    @classmethod
    def for_projection(cls, name: str) -> type[ReadModelStore]:
        return type(f"{name.title().replace('_', '')}Store", (cls,), {"projection": name})

    def create_statement(self, table: str) -> Composed:
        """The documents table. ``json``, not ``jsonb``: documents are only written whole and
        read whole, never queried inside, and ``json`` keeps the text as written where ``jsonb``
        parses it into its binary form on every write and prints it again on every read."""
        return SQL(
            "CREATE TABLE IF NOT EXISTS {schema}.{table} ("
            " participant_id uuid NOT NULL, key text NOT NULL, site text NOT NULL,"
            " position bigint NOT NULL, doc json NOT NULL,"
            " PRIMARY KEY (participant_id, key))"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(table))

    def create_table(self) -> None:
        super().create_table()
        with self.datastore.transaction(commit=True) as curs:
            self.compress_documents(curs, self.table)

    def compress_documents(self, curs: Cursor[DictRow], table: str) -> None:
        """Have ``table`` compress its documents with lz4, when the server has it: a quarter
        of pglz's time for text that compresses as well. A table already set is not altered
        (no lock); one of an earlier version keeps its ``jsonb``, which reads back alike."""
        curs.execute(
            "SELECT 'lz4' = ANY(s.enumvals) AS lz4, a.attcompression = 'l' AS done"
            " FROM pg_settings s, pg_attribute a"
            " WHERE s.name = 'default_toast_compression'"
            " AND a.attrelid = %s::regclass AND a.attname = 'doc'",
            (self._table(table).as_string(),),
        )
        row = curs.fetchone()
        if row is not None and row["lz4"] and not row["done"]:
            curs.execute(
                SQL("ALTER TABLE {} ALTER COLUMN doc SET COMPRESSION lz4").format(
                    self._table(table)
                )
            )

    def _table(self, table: str | None = None) -> Composed:
        return SQL("{}.{}").format(
            Identifier(self.datastore.schema), Identifier(table or self.table)
        )

    # ----- writing -----

    def apply(self, tracking: Tracking, participant_id: UUID, site: str, docs: Docs) -> bool:
        """Replace one participant's documents and advance tracking; False if already done."""
        return self.apply_batch(tracking, [(participant_id, site, docs)])

    def apply_batch(self, tracking: Tracking, batch: Sequence[ParticipantDocs]) -> bool:
        """Replace the documents of every participant in ``batch`` and advance tracking to
        ``tracking`` in one transaction; False (nothing written) if that position is done."""
        writer = ReadModelsWriter({self.projection: self})
        return bool(writer.apply_batch(tracking, lambda _: batch))

    def lock(self, curs: Cursor[DictRow], application_name: str) -> int:
        """Take the projection's lock for this transaction; return its tracked position."""
        curs.execute("SELECT pg_advisory_xact_lock(%s)", (self.lock_key,))
        return self.position_in(curs, application_name)

    def track(self, curs: Cursor[DictRow], tracking: Tracking) -> None:
        self._insert_tracking(curs, tracking)

    def replace_many(
        self,
        curs: Cursor[DictRow],
        changes: Sequence[ParticipantDocs],
        position: int,
        table: str | None = None,
    ) -> None:
        """Replace the documents of each participant in ``changes`` (``replacements``)."""
        for statement, params in self.replacements(changes, position, table):
            curs.execute(statement, params)

    def copy_into(
        self,
        curs: Cursor[DictRow],
        changes: Sequence[ParticipantTexts],
        position: int,
        table: str,
    ) -> None:
        """Add the documents of each participant in ``changes`` to ``table``, which holds none
        of theirs yet (a rebuild's table): one COPY, each document's JSON parsed once, where
        ``replacements`` has the database parse one array of them all and then split it."""
        statement = SQL("COPY {} (participant_id, key, site, position, doc) FROM STDIN")
        with curs.copy(statement.format(self._table(table))) as copy:
            for participant_id, site, texts in changes:
                for key, text in texts.items():
                    copy.write_row((participant_id, key, site, position, text))

    def replacements(
        self, changes: Sequence[ParticipantDocs], position: int, table: str | None = None
    ) -> list[tuple[str, tuple[Any, ...]]]:
        """The statements that replace the documents of each participant in ``changes``: one
        DELETE, and one INSERT of every document sent as one JSON array (one C call to write
        it; psycopg's adapting row by row was the projector's largest cost after deriving)."""
        delete, insert = self._replace_statements(table or self.table)
        ids = "{" + ",".join(str(participant_id) for participant_id, _, _ in changes) + "}"
        rows = [
            {"participant_id": str(participant_id), "key": key, "site": site, "doc": doc}
            for participant_id, site, docs in changes
            for key, doc in docs.items()
        ]
        statements: list[tuple[str, tuple[Any, ...]]] = [(delete, (ids,))]
        if rows:
            statements.append((insert, (position, json_text(rows))))
        return statements

    def tracking_row(self, tracking: Tracking) -> tuple[str, dict[str, Any]]:
        """eventsourcing's single-row tracking upsert, which answers a row only if it advanced."""
        assert self.datastore.single_row_tracking
        return str(self.insert_tracking_statement), {
            "application_name": tracking.application_name,
            "notification_id": tracking.notification_id,
        }

    @functools.cache  # noqa: B019 - a few tables per store, for the store's lifetime
    def _replace_statements(self, table: str) -> tuple[str, str]:
        target = self._table(table)
        delete = SQL("DELETE FROM {} WHERE participant_id = ANY(%s::uuid[])").format(target)
        insert = SQL(
            "INSERT INTO {} (participant_id, key, site, position, doc)"
            " SELECT r.participant_id, r.key, r.site, %s, r.doc FROM json_to_recordset(%s::json)"
            " AS r(participant_id uuid, key text, site text, doc json)"
        ).format(target)
        return delete.as_string(), insert.as_string()

    # ----- reading -----

    def documents(
        self,
        *,
        participant_id: UUID | None = None,
        key: str | None = None,
        sites: Iterable[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Documents, optionally of one participant, one key, or only the given sites."""
        rows = self.keyed_documents(participant_id=participant_id, key=key, sites=sites)
        return [doc for _, doc in rows]

    def keyed_documents(
        self,
        *,
        participant_id: UUID | None = None,
        key: str | None = None,
        sites: Iterable[str] | None = None,
    ) -> list[tuple[str, dict[str, Any]]]:
        """(key, document) pairs, filtered as ``documents`` is."""
        clauses: list[SQL] = []
        params: list[Any] = []
        if participant_id is not None:
            clauses.append(SQL("participant_id = %s"))
            params.append(participant_id)
        if key is not None:
            clauses.append(SQL("key = %s"))
            params.append(key)
        if sites is not None:
            clauses.append(SQL("site = ANY(%s)"))
            params.append(list(sites))
        where = SQL(" WHERE ") + SQL(" AND ").join(clauses) if clauses else SQL("")
        statement = SQL("SELECT key, doc FROM {}").format(self._table()) + where
        statement += SQL(" ORDER BY participant_id, key")
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, params)
            return [(row["key"], row["doc"]) for row in curs.fetchall()]

    def by_participant(self, key: str) -> dict[UUID, tuple[str, dict[str, Any]]]:
        """Every participant's ``key`` document, with the participant's site."""
        statement = SQL("SELECT participant_id, site, doc FROM {} WHERE key = %s").format(
            self._table()
        )
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, (key,))
            return {row["participant_id"]: (row["site"], row["doc"]) for row in curs.fetchall()}

    def position(self, application_name: str) -> int:
        if self.retrying:
            return self.max_tracking_id(application_name) or 0
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            return self.position_in(curs, application_name)

    def position_in(self, curs: Cursor[DictRow], application_name: str) -> int:
        """The tracked position as the caller's transaction sees it."""
        return self._max_tracking_id(application_name, curs) or 0

    def wait_for(self, application_name: str, position: int, head: int) -> None:
        """Block until this read model has applied the event at ``position``, one of the
        positions recorded so far (``head`` the last): read-your-writes."""
        if not 0 <= position <= head:
            raise BadInput(
                "MIN_POSITION", f"minPosition {position} is not a recorded position (0–{head})"
            )
        deadline = time.monotonic() + WAIT_TIMEOUT_S
        pause = 0.002
        while self.position(application_name) < position:
            if time.monotonic() > deadline:
                raise ReadModelBehind(
                    "MIN_POSITION",
                    f"the {self.projection} read model has not reached position {position} "
                    f"within {WAIT_TIMEOUT_S:.0f} s; retry later",
                )
            time.sleep(pause)
            pause = min(pause * 2, 0.05)


class ReadModelsWriter(TrackingRecorder):
    """Several read models written together: each batch of the live projection replaces the
    changed participants' documents in every read model, and advances each one's tracking
    position, in one transaction (under each one's lock, taken in a fixed order)."""

    def __init__(self, stores: Mapping[str, ReadModelStore]) -> None:
        self.stores = dict(sorted(stores.items()))
        self.datastore = next(iter(self.stores.values())).datastore

    def max_tracking_id(self, application_name: str) -> int | None:
        """Where the projection resumes: the position of the read model furthest behind."""
        return min(store.position(application_name) for store in self.stores.values())

    def insert_tracking(self, tracking: Tracking) -> None:
        """Advance every read model not yet at ``tracking`` to it, writing no documents."""
        self.apply_batch(tracking, lambda name: [])

    def apply_batch(
        self, tracking: Tracking, documents: Callable[[str], Sequence[ParticipantDocs]]
    ) -> list[str]:
        """Write ``documents(name)`` to each read model not yet at ``tracking``, and advance
        it there, in one transaction; the names of the read models written.

        Three round trips, whatever the number of read models: the locks (in a fixed order)
        and then the positions, read after them; every DELETE, INSERT, tracking row and the
        NOTIFY; COMMIT once each tracking row is seen to advance. The statements of a round
        trip go as one query, bound on the client: each wait for the database is also, under
        load, a wait for the GIL, and one statement at a time made eighteen of them."""
        stores = list(self.stores.items())
        written: list[str] = []
        with self.datastore.get_connection() as conn:
            curs = ClientCursor(conn)
            try:
                locks = [("SELECT pg_advisory_xact_lock(%s)", (s.lock_key,)) for _, s in stores]
                positions = " , ".join(
                    f"({store.max_tracking_id_statement}) AS p{n}"
                    for n, (_, store) in enumerate(stores)
                )
                application = tracking.application_name
                at = _run(
                    curs,
                    [("BEGIN", ()), *locks, (f"SELECT {positions}", (application,) * len(stores))],
                )[-1][0]
                writes: list[tuple[str, Any]] = []
                tracked: list[int] = []
                batch: Sequence[ParticipantDocs] = ()
                for n, (name, store) in enumerate(stores):
                    if (at[f"p{n}"] or 0) < tracking.notification_id:
                        batch = documents(name)
                        writes += store.replacements(batch, tracking.notification_id)
                        tracked.append(len(writes))
                        writes.append(store.tracking_row(tracking))
                        written.append(name)
                if written:
                    writes.append(notify_statement(self.datastore.schema, written, batch, tracking))
                    results = _run(curs, writes)
                    if any(len(results[n]) != 1 for n in tracked):
                        raise IntegrityError(
                            f"tracking did not advance to {tracking.notification_id}"
                        )
                curs.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(Exception):
                    curs.execute("ROLLBACK")
                raise
        return written


def json_text(value: Any) -> str:
    """The JSON value ``value`` as JSON text: orjson writes documents three times as fast as
    ``json``, the same JSON values (its text differs only in spaces and in not escaping
    non-ASCII)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _run(curs: ClientCursor[DictRow], statements: Sequence[tuple[str, Any]]) -> list[list[DictRow]]:
    """The statements as one query (their parameters bound on the client); each one's rows."""
    curs.execute("; ".join(curs.mogrify(query, params) for query, params in statements))
    results: list[list[DictRow]] = []
    while True:
        results.append(curs.fetchall() if curs.description else [])
        if not curs.nextset():
            return results


def notify_statement(
    schema: str,
    projections: Sequence[str],
    batch: Sequence[ParticipantDocs],
    tracking: Tracking,
) -> tuple[str, tuple[str, str]]:
    """One notification per participant of ``batch``, naming the read models that changed;
    PostgreSQL delivers them when the transaction commits."""
    payloads = [
        {
            "schema": schema,
            "projections": list(projections),
            "participant_id": str(participant_id),
            "site": site,
            "position": tracking.notification_id,
        }
        for participant_id, site, _ in batch
    ]
    return (
        "SELECT pg_notify(%s, payload::text) FROM jsonb_array_elements(%s::jsonb) AS payload",
        (CHANNEL, json.dumps(payloads)),
    )
