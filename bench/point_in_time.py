"""point-in-time: participant(asOf) for participants with 50 and 500 events (p50/p99), and
studySummary(asOf) over a study of ~100,000 events, through the read side the API calls."""

from __future__ import annotations

import time
from collections.abc import Callable

from api import readside
from api.auth import Principal
from bench.common import Figure, percentile, read_models_rebuilt, service_in_fresh_schema
from bench.participants import now, writable
from bench.synthetic import load
from domain.vocabulary import Role
from infra.bootstrap import Service
from infra.cli import settle_garbage_collector
from projections.runner import Projector
from projections.study_summary import StudySummaryProjection

NAME = "point-in-time"
SIZES = {"quick": (1_000, 20), "full": (10_000, 100)}  # study participants, calls per figure
HISTORIES = (50, 500)  # events per participant: AE updates on top of a whole history
EACH = 5  # participants per history length


def run(quick: bool) -> list[Figure]:
    participants, calls = SIZES["quick" if quick else "full"]
    figures = []
    with service_in_fresh_schema() as service:
        app = service.app
        events = load(app, participants)
        first = participants
        chosen = {}
        whole = writable(app, 20)[0].version  # an infused participant's events, no updates
        for length in HISTORIES:
            events += load(app, EACH, extra_updates=length - whole, first=first)
            chosen[length] = [w for w in writable(app, EACH, first) if w.version == length]
            first += EACH
        as_of = now()
        settle_garbage_collector()  # as trial serve does before it answers anything
        for length, people in chosen.items():
            samples = []
            for n in range(calls):
                started = time.perf_counter()
                person = app.participant(people[n % len(people)].pid, as_of=as_of)
                samples.append((time.perf_counter() - started) * 1000)
                assert person is not None and person.version == length
            for label, fraction in (("p50", 0.5), ("p99", 0.99)):
                value = percentile(samples, fraction)
                target = "<= 10 ms" if label == "p99" and length == 500 else None
                figures.append(Figure(NAME, f"participant(asOf) {length} events {label}", value,
                                      "ms", target=target,
                                      holds=None if target is None else value <= 10))  # fmt: skip
        auditor = Principal("auditor", Role.AUDITOR, None)
        at_size = not quick  # the target is over 100,000 events
        # Replayed: no summary row to reuse (as when every participant changed after T).
        replayed = _best_of_3(lambda: readside.summary(service, auditor, as_of=as_of))
        figures.append(Figure(NAME, f"studySummary(asOf) over {events:,} events, replayed",
                              replayed, "ms", note="best of 3; read model empty"))  # fmt: skip
        projector = Projector(service.env, [StudySummaryProjection.name])
        projector.start()
        try:
            _wait_for(service, StudySummaryProjection.name, app.recorder.max_notification_id() or 0)
        finally:
            projector.stop()
        value = _best_of_3(lambda: readside.summary(service, auditor, as_of=as_of))
        figures.append(Figure(NAME, f"studySummary(asOf) over {events:,} events", value, "ms",
                              baseline=replayed, baseline_name="replayed",
                              target="<= 2000 ms" if at_size else None,
                              holds=value <= 2000 if at_size else None,
                              note="best of 3; rows reused where unchanged since T"))  # fmt: skip
        figures.append(read_models_rebuilt(service, NAME, [StudySummaryProjection.name]))
    return figures


def _best_of_3(call: Callable[[], object]) -> float:
    """The fastest of three calls, in ms."""
    samples = []
    for _ in range(3):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return min(samples)


def _wait_for(service: Service, name: str, position: int, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while service.read_models[name].position(service.app.name) < position:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not reach position {position} in {timeout:.0f} s")
        time.sleep(0.05)
