"""catch-up: how fast a live projector (the three read models) catches up with a synthetic study
recorded before it started. (The rebuild rate is the ``rebuild`` scenario.)"""

from __future__ import annotations

import time

from bench.common import Figure, read_models_rebuilt, service_in_fresh_schema
from bench.synthetic import load

NAME = "catch-up"
SIZES = {"quick": 300, "full": 3_000}  # participants
LIMIT_S = 300.0


def run(quick: bool) -> list[Figure]:
    participants = SIZES["quick" if quick else "full"]
    with service_in_fresh_schema() as service:
        events = load(service.app, participants)
        head = service.app.recorder.max_notification_id() or 0
        started = time.perf_counter()
        service.start_projector()
        while min(lag.position for lag in service.read_models.lags()) < head:
            if time.perf_counter() - started > LIMIT_S:
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        behind = max(lag.lag for lag in service.read_models.lags())
        checked = read_models_rebuilt(service, NAME)
    return [
        Figure(NAME, f"catch-up, 3 read models ({events:,} events)", events / seconds,
               "events/s", note=f"{seconds:.1f} s"),
        Figure(NAME, "events left behind", behind, "events"),
        checked,
    ]  # fmt: skip
