"""odm-export: `trial export odm` of the ~1,000,000-event synthetic study, events/s and the
peak memory of the export (its process and its worker processes together), beside a raw
sequential read of the events.

The study is the rebuild's: per participant a consent, a screening, an infusion, seven visits
and an AE, then 100 follow-ups of the AE (the cheapest transaction). The same number of
participants without follow-ups, whose events are mostly visits (the dearest), is exported too.

Streaming is shown in the same run: the study is exported once at a tenth of its size and once
whole, and the two peaks are printed side by side (memory must not grow with the study).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

from bench.common import JWT_SECRET, Figure, database_url, service_in_fresh_schema
from bench.rebuild import _raw_read
from bench.synthetic import load

NAME = "odm-export"
SIZES = {"quick": (100, 100), "full": (10_000, 100)}  # participants, AE updates each
TARGET_RATE = 20_000
TARGET_MB = 300


def run(quick: bool) -> list[Figure]:
    participants, updates = SIZES["quick" if quick else "full"]
    tenth = participants // 10
    figures = []
    with service_in_fresh_schema() as service:
        schema = service.env["POSTGRES_SCHEMA"]
        visits = load(service.app, participants, batch=20)
        visit_rate, _, _ = _export(schema, visits)
    with service_in_fresh_schema() as service:
        schema = service.env["POSTGRES_SCHEMA"]
        small = load(service.app, tenth, extra_updates=updates, batch=20)
        small_rate, small_mb, _ = _export(schema, small)
        events = small + load(service.app, participants - tenth, extra_updates=updates,
                              batch=20, first=tenth)  # fmt: skip
        raw = _raw_read(schema, events)
        rate, peak_mb, size = _export(schema, events)
    figures.append(Figure(NAME, "raw sequential read (psycopg)", raw, "events/s"))
    figures.append(
        Figure(
            NAME, f"export {small:,} events (a tenth)", small_rate, "events/s",
            note=f"peak {small_mb:.0f} MB",
        )
    )  # fmt: skip
    figures.append(
        Figure(
            NAME, f"export {events:,} events", rate, "events/s", baseline=raw,
            baseline_name="raw sequential read", target=f">= {TARGET_RATE}",
            holds=rate >= TARGET_RATE,
            note=f"{rate / raw:.3f} x raw; {size / 1e9:.2f} GB, {size / events:,.0f} B/event",
        )
    )  # fmt: skip
    figures.append(
        Figure(
            NAME, f"export {visits:,} events, no AE follow-ups (visit-heavy)", visit_rate,
            "events/s", note="11 events a participant: 7 of them scored visits",
        )
    )  # fmt: skip
    figures.append(
        Figure(
            NAME, "export peak memory, all processes", peak_mb, "MB", baseline=small_mb,
            baseline_name="peak at a tenth of the study", target=f"<= {TARGET_MB}",
            holds=peak_mb <= TARGET_MB,
        )
    )  # fmt: skip
    return figures


def _export(schema: str, events: int) -> tuple[float, float, int]:
    """Run `trial export odm` in a process of its own: events/s, its peak RSS (MB), bytes."""
    out = Path("var/bench") / f"odm-{schema}.xml"
    out.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "TRIAL_DATABASE_URL": database_url(),
        "TRIAL_DATABASE_SCHEMA": schema,
        "TRIAL_JWT_SECRET": JWT_SECRET,
        "TRIAL_DATA_DIR": "var/bench",
    }
    command = [sys.executable, "-m", "infra.cli", "export", "odm", "--user", "bench",
               "--out", str(out)]  # fmt: skip
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peak = _peak_rss(process)
    seconds = time.perf_counter() - started
    output = process.stdout.read().decode() if process.stdout else ""
    if process.returncode != 0:
        raise RuntimeError(f"trial export odm failed: {output}")
    assert f"{events} events" in output, output
    size = out.stat().st_size
    out.unlink()
    return events / seconds, peak / 2**20, size


def _peak_rss(process: subprocess.Popen[bytes]) -> int:
    """The largest sum of resident memory of ``process`` and its worker processes, sampled
    every 20 ms until it exits."""
    root = psutil.Process(process.pid)
    peak = 0
    while process.poll() is None:
        total = 0
        for member in (root, *root.children(recursive=True)):
            with contextlib.suppress(psutil.NoSuchProcess):
                total += member.memory_info().rss
        peak = max(peak, total)
        time.sleep(0.02)
    return peak
