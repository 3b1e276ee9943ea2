"""rebuild: each read model rebuilt from a synthetic study of ~1,000,000 events (10,000
participants) vs a raw sequential read of the events table; events/s and ratio.

Each read model is rebuilt three times, each time right after a raw read, and the ratio is the
best rebuild's to the best of those raw reads: on this shared VM single runs of either move by
±10 %, and the best of three, side by side, is the figure least moved by the neighbours."""

from __future__ import annotations

import time

import psycopg
from psycopg import sql

from bench.common import Figure, database_url, read_models_rebuilt, service_in_fresh_schema
from bench.synthetic import load
from projections.runner import PROJECTIONS, rebuild

NAME = "rebuild"
RATIOS = {"participant_status": 0.4}  # issue 13; the others keep issue 6's 0.25
ROUNDS = {"quick": 1, "full": 3}
SIZES = {"quick": (100, 100), "full": (10_000, 100)}  # participants, AE updates: ~100 events each
FETCH = 5_000


def run(quick: bool) -> list[Figure]:
    participants, updates = SIZES["quick" if quick else "full"]
    figures = []
    with service_in_fresh_schema() as service:
        started = time.perf_counter()
        events = load(service.app, participants, extra_updates=updates, batch=20)
        load_rate = events / (time.perf_counter() - started)
        figures.append(Figure(NAME, f"load (synthetic, {events:,} events)", load_rate, "events/s"))
        schema = service.env["POSTGRES_SCHEMA"]
        raw_reads: list[float] = []
        for projection in PROJECTIONS:
            ratio = RATIOS.get(projection.name, 0.25)
            raw_rate = rate = 0.0
            for _ in range(ROUNDS["quick" if quick else "full"]):
                raw_rate = max(raw_rate, _raw_read(schema, events))
                started = time.perf_counter()
                count = rebuild(service.app, projection.name)
                rate = max(rate, count / (time.perf_counter() - started))
            raw_reads.append(raw_rate)
            figures.append(
                Figure(
                    NAME,
                    f"rebuild {projection.name}",
                    rate,
                    "events/s",
                    baseline=raw_rate,
                    baseline_name="raw sequential read",
                    target=f">= 20000 and >= {ratio} x raw",
                    holds=rate >= 20_000 and rate >= ratio * raw_rate,
                    note=f"{rate / raw_rate:.3f} x raw",
                )
            )
        figures.insert(1, Figure(NAME, "raw sequential read (psycopg)", max(raw_reads), "events/s"))
        figures.append(read_models_rebuilt(service, NAME))
    return figures


def _raw_read(schema: str, expected: int) -> float:
    """Every event's state, in order, through a server-side cursor fetching in batches."""
    query = sql.SQL("SELECT state FROM {}.trial_events ORDER BY notification_id").format(
        sql.Identifier(schema)
    )
    read = 0
    started = time.perf_counter()
    with psycopg.connect(database_url()) as conn, conn.cursor(name="raw_read") as cursor:
        cursor.itersize = FETCH
        cursor.execute(query)
        while batch := cursor.fetchmany(FETCH):
            read += len(batch)
    assert read == expected, (read, expected)
    return read / (time.perf_counter() - started)
