"""append: commands through the application layer vs a bare eventsourcing application saving
events of the same size vs raw psycopg INSERTs of the same rows; events/s and the ratios."""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from psycopg import sql

from bench.common import Figure, database_url, service_in_fresh_schema
from bench.participants import update_ae, writable
from bench.synthetic import load
from infra.database import eventsourcing_env

NAME = "append"
SIZES = {"quick": (30, 200), "full": (300, 3000)}  # participants, commands


class Note(Aggregate):
    """The bare baseline's aggregate: one event type carrying text of a chosen size."""

    @event("Noted")
    def note(self, text: str) -> None:
        self.text = text


class BareApplication(Application[UUID]):
    name = "Bare"


def run(quick: bool) -> list[Figure]:
    participants, commands = SIZES["quick" if quick else "full"]
    with service_in_fresh_schema() as service:
        app = service.app
        load(app, participants)
        people = writable(app, participants)
        head = app.recorder.max_notification_id() or 0

        started = time.perf_counter()
        for n in range(commands):
            update_ae(app, people[n % len(people)], n)
        app_rate = commands / (time.perf_counter() - started)

        schema = service.env["POSTGRES_SCHEMA"]
        rows = _rows_after(schema, head)
        size = sum(len(row[3]) for row in rows) // len(rows)
        bare_rate = _bare(schema, size, len(people), commands, people[0].version)
        raw_rate = _raw(schema, rows)

    def ratio(figure: str, value: float, base: str) -> Figure:
        return Figure(NAME, figure, round(value, 3), "ratio", baseline_name=base)

    return [
        Figure(NAME, "application layer (updateAdverseEvent)", app_rate, "events/s",
               baseline=bare_rate, baseline_name="bare eventsourcing",
               target=">= 0.7 x bare", holds=app_rate >= 0.7 * bare_rate,
               note=f"{size} B per event"),
        Figure(NAME, "bare eventsourcing application", bare_rate, "events/s",
               baseline=raw_rate, baseline_name="raw psycopg INSERT"),
        Figure(NAME, "raw psycopg INSERT", raw_rate, "events/s"),
        ratio("application / bare", app_rate / bare_rate, "bare eventsourcing"),
        ratio("application / raw", app_rate / raw_rate, "raw psycopg INSERT"),
        ratio("bare / raw", bare_rate / raw_rate, "raw psycopg INSERT"),
    ]  # fmt: skip


def _rows_after(schema: str, head: int) -> list[tuple[Any, ...]]:
    query = sql.SQL(
        "SELECT originator_id, originator_version, topic, state FROM {}.trial_events "
        "WHERE notification_id > %s ORDER BY notification_id"
    ).format(sql.Identifier(schema))
    with psycopg.connect(database_url()) as conn:
        return conn.execute(query, (head,)).fetchall()


def _bare(schema: str, size: int, aggregates: int, commands: int, history: int) -> float:
    """get → change → save on plain aggregates whose events are stored at ``size`` bytes."""
    env = {**eventsourcing_env(database_url()), "POSTGRES_SCHEMA": schema}
    env["PERSISTENCE_MODULE"] = "eventsourcing.postgres"
    app = BareApplication(env)
    try:
        probe = Note()
        probe.note("")
        app.save(probe)
        overhead = len(app.recorder.select_events(probe.id)[-1].state)
        text = "x" * max(size - overhead, 0)
        ids = []
        for _ in range(aggregates):  # histories as long as the participants'
            note = Note()
            for _ in range(history - 1):
                note.note(text)
            app.save(note)
            ids.append(note.id)
        started = time.perf_counter()
        for n in range(commands):
            note = app.repository.get(ids[n % len(ids)])
            note.note(text)
            app.save(note)
        return commands / (time.perf_counter() - started)
    finally:
        app.close()


def _raw(schema: str, rows: list[tuple[Any, ...]]) -> float:
    """The same rows, one INSERT and one commit each, into a table shaped like the event store's."""
    table = sql.Identifier(schema, "raw_events")
    with psycopg.connect(database_url(), autocommit=True) as conn:
        conn.execute(
            sql.SQL(
                "CREATE TABLE {} (notification_id bigserial, originator_id uuid NOT NULL, "
                "originator_version bigint NOT NULL, topic text, state bytea, "
                "PRIMARY KEY (originator_id, originator_version))"
            ).format(table)
        )
        insert = sql.SQL(
            "INSERT INTO {} (originator_id, originator_version, topic, state) "
            "VALUES (%s, %s, %s, %s)"
        ).format(table)
        started = time.perf_counter()
        for row in rows:
            conn.execute(insert, row)
        return len(rows) / (time.perf_counter() - started)
