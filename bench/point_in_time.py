"""point-in-time: participant(asOf) for participants with 50 and 500 events (p50/p99), and
studySummary(asOf) over a study of ~100,000 events, through the read side the API calls."""

from __future__ import annotations

import time

from api import readside
from api.auth import Principal
from bench.common import Figure, percentile, service_in_fresh_schema
from bench.participants import now, writable
from bench.synthetic import load
from domain.vocabulary import Role

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
        samples = []
        for _ in range(3):
            started = time.perf_counter()
            readside.summary(service, auditor, as_of=as_of)
            samples.append(time.perf_counter() - started)
        value = min(samples)
        at_size = not quick  # the target is over 100,000 events
        figures.append(Figure(NAME, f"studySummary(asOf) over {events:,} events", value, "s",
                              target="<= 2 s" if at_size else None,
                              holds=value <= 2 if at_size else None, note="best of 3"))  # fmt: skip
    return figures
