"""Read-side figures: projector catch-up lag and rebuild rate on a synthetic study.

    python -m bench.read_side --participants 10000

Uses TRIAL_DATABASE_URL (default: the local server at 127.0.0.1:5432/test) and a fresh schema,
dropped afterwards. Prints one JSON object per figure, then a table.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid

import psycopg
from psycopg import sql

from bench.synthetic import load
from infra.bootstrap import bootstrap
from infra.config import Settings
from projections.runner import PROJECTIONS, rebuild

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--participants", type=int, default=1000)
    parser.add_argument("--catch-up-limit", type=float, default=900.0, help="seconds")
    args = parser.parse_args()
    url = os.environ.get("TRIAL_DATABASE_URL", DEFAULT_URL)
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    settings = Settings.from_env(
        {"TRIAL_DATABASE_URL": url, "TRIAL_DATA_DIR": "var/bench", "TRIAL_JWT_SECRET": "b" * 40}
    )
    service = bootstrap(settings, schema=schema)
    figures = []
    try:
        started = time.perf_counter()
        events = load(service.app, args.participants)
        seconds = time.perf_counter() - started
        figures.append(("load", events, seconds))
        head = service.app.recorder.max_notification_id() or 0

        started = time.perf_counter()
        service.start_projector()
        while min(lag.position for lag in service.read_models.lags()) < head:
            if time.perf_counter() - started > args.catch_up_limit:
                break
            time.sleep(0.1)
        seconds = time.perf_counter() - started
        behind = {lag.projection: lag.lag for lag in service.read_models.lags()}
        figures.append(("catch-up (3 read models, live projector)", head, seconds))

        for projection in PROJECTIONS:
            started = time.perf_counter()
            count = rebuild(service.app, projection.name)
            figures.append((f"rebuild {projection.name}", count, time.perf_counter() - started))
    finally:
        service.close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
    for name, count, seconds in figures:
        rate = count / seconds if seconds else 0.0
        print(json.dumps({"figure": name, "participants": args.participants, "events": count,
                          "seconds": round(seconds, 2), "events_per_s": round(rate)}))  # fmt: skip
    print(json.dumps({"figure": "catch-up lag left", "events_behind": behind}))
    print(f"\n{'figure':<45}{'events':>10}{'seconds':>10}{'events/s':>10}")
    for name, count, seconds in figures:
        print(f"{name:<45}{count:>10}{seconds:>10.2f}{count / seconds:>10.0f}")


if __name__ == "__main__":
    main()
