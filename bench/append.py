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

from bench.common import Figure, database_url, read_models_rebuilt, service_in_fresh_schema
from bench.participants import update_ae, writable
from bench.synthetic import load
from infra.database import eventsourcing_env

NAME = "append"
SIZES = {"quick": (30, 200), "full": (300, 3000)}  # participants, commands
BLOCKS = 10  # the two sides alternate in blocks, so that other load on the machine hits both
WARM_UP = 20  # commands each side runs first, untimed (pool, prepared statements, imports)


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
        for n in range(WARM_UP):
            update_ae(app, people[n % len(people)], n)
        schema = service.env["POSTGRES_SCHEMA"]
        rows = _rows_after(schema, head)
        size = sum(len(row[3]) for row in rows) // len(rows)
        bare = _Bare(schema, size, len(people), people[0].version + WARM_UP // len(people))
        try:
            for n in range(WARM_UP):
                bare.command(n)
            app_time = bare_time = 0.0
            for block in range(BLOCKS):
                numbers = range(block * commands // BLOCKS, (block + 1) * commands // BLOCKS)
                started = time.perf_counter()
                for n in numbers:
                    update_ae(app, people[(WARM_UP + n) % len(people)], WARM_UP + n)
                app_time += time.perf_counter() - started
                started = time.perf_counter()
                for n in numbers:
                    bare.command(WARM_UP + n)
                bare_time += time.perf_counter() - started
        finally:
            bare.close()
        app_rate, bare_rate = commands / app_time, commands / bare_time
        raw_rate = _raw(schema, _rows_after(schema, head))
        checked = read_models_rebuilt(service, NAME)  # projected here: the scenario projects none

    def ratio(figure: str, value: float, base: str) -> Figure:
        return Figure(NAME, figure, round(value, 3), "ratio", baseline_name=base)

    return [
        Figure(NAME, "application layer (updateAdverseEvent)", app_rate, "events/s",
               baseline=bare_rate, baseline_name="bare eventsourcing",
               target=">= 0.7 x bare", holds=app_rate >= 0.7 * bare_rate,
               note=f"{size} B per event; {BLOCKS} blocks alternating with the bare application"),
        Figure(NAME, "bare eventsourcing application", bare_rate, "events/s",
               baseline=raw_rate, baseline_name="raw psycopg INSERT"),
        Figure(NAME, "raw psycopg INSERT", raw_rate, "events/s"),
        ratio("application / bare", app_rate / bare_rate, "bare eventsourcing"),
        ratio("application / raw", app_rate / raw_rate, "raw psycopg INSERT"),
        ratio("bare / raw", bare_rate / raw_rate, "raw psycopg INSERT"),
        checked,
    ]  # fmt: skip


class _Bare:
    """get → change → save on plain aggregates whose events are stored at ``size`` bytes, with
    histories as long as the participants'."""

    def __init__(self, schema: str, size: int, aggregates: int, history: int) -> None:
        env = {**eventsourcing_env(database_url()), "POSTGRES_SCHEMA": schema}
        env["PERSISTENCE_MODULE"] = "eventsourcing.postgres"
        self.app = BareApplication(env)
        try:
            probe = Note()
            probe.note("")
            self.app.save(probe)
            overhead = len(self.app.recorder.select_events(probe.id)[-1].state)
            self.text = "x" * max(size - overhead, 0)
            self.ids = []
            for _ in range(aggregates):
                note = Note()
                for _ in range(history - 1):
                    note.note(self.text)
                self.app.save(note)
                self.ids.append(note.id)
        except BaseException:
            self.app.close()
            raise

    def command(self, n: int) -> None:
        note: Note = self.app.repository.get(self.ids[n % len(self.ids)])
        note.note(self.text)
        self.app.save(note)

    def close(self) -> None:
        self.app.close()


def _rows_after(schema: str, head: int) -> list[tuple[Any, ...]]:
    query = sql.SQL(
        "SELECT originator_id, originator_version, topic, state FROM {}.trial_events "
        "WHERE notification_id > %s ORDER BY notification_id"
    ).format(sql.Identifier(schema))
    with psycopg.connect(database_url()) as conn:
        return conn.execute(query, (head,)).fetchall()


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
