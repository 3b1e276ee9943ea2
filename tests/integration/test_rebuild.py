"""``rebuild()``: a read model rebuilt beside the live one and swapped in, under load."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from api import readside
from domain.views import participant_view
from infra.bootstrap import Service
from infra.demo import record_demo_study
from projections.replay import participants_until, streams_until
from projections.runner import APPLICATION, rebuild
from tests.conftest import TEST_JWT_SECRET
from tests.integration.stories import (
    AUDITOR,
    READ_MODELS,
    all_documents,
    all_replayed,
    busy,
    enrol,
    head,
    positions,
    record_cohort,
    replayed_documents,
    table_documents,
    wait_for_head,
)

pytestmark = pytest.mark.integration

COHORT = 6  # busy participants: 96 events, 12 adverse events


def projected(service: Service) -> int:
    """Start the service's projector and wait for it to reach the head; return the head."""
    service.start_projector()
    return wait_for_head(service)


@pytest.mark.parametrize("workers", [1, 2], ids=["in process", "two worker processes"])
@pytest.mark.parametrize("name", READ_MODELS)
def test_rebuild_gives_the_live_documents_when_the_projector_is_at_the_head(
    quiet: Service, name: str, workers: int
) -> None:
    service = quiet
    record_cohort(service.app, COHORT)
    enrol(service.app, "NJ01-101", until="SCREEN_FAILED")
    enrol(service.app, "NJ01-102", until="ELIGIBLE")
    recorded = projected(service)
    live = table_documents(service, name)

    events = rebuild(service.app, name, workers)
    again = rebuild(service.app, name, workers)

    assert (events, again) == (recorded, recorded)
    assert table_documents(service, name) == live
    assert live == replayed_documents(service.app, name)
    assert service.read_models[name].position(APPLICATION) == recorded


def test_rebuild_of_the_demo_study_gives_the_live_documents_and_reports_its_rate(
    quiet: Service,
) -> None:
    service = quiet
    record_demo_study(service.app, seed=101)
    recorded = projected(service)
    live = all_documents(service)

    rates: dict[str, float] = {}
    for name in READ_MODELS:
        started = time.perf_counter()
        events = rebuild(service.app, name)
        rates[name] = events / (time.perf_counter() - started)

    assert all_documents(service) == live
    print(  # measured, not asserted
        f"\nrebuild of the demo study ({recorded} events): "
        + ", ".join(f"{name} {rate:,.0f} events/s" for name, rate in rates.items())
    )


Reading = Callable[[Service], int]
READINGS: dict[str, tuple[Reading, Callable[[int], int]]] = {
    # read model: (what one read returns, what it must return for a cohort of n)
    "study_summary": (lambda s: readside.summary(s, AUDITOR).consented, lambda n: n),
    "participant_status": (
        lambda s: len(readside.participants(s, AUDITOR)),
        lambda n: n,
    ),
    "safety_ledger": (
        lambda s: len(readside.ledger(s, AUDITOR, datetime.now(UTC)).entries),
        lambda n: 2 * n,
    ),
}


@pytest.mark.parametrize("name", READ_MODELS)
def test_reads_see_the_whole_model_when_it_is_rebuilt_meanwhile(quiet: Service, name: str) -> None:
    service = quiet
    record_cohort(service.app, COHORT)
    projected(service)
    read, expected = READINGS[name]
    seen: list[int] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def reader() -> None:
        try:
            while not done.is_set():
                seen.append(read(service))
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for _ in range(3):
            rebuild(service.app, name)
    finally:
        done.set()
        thread.join(timeout=30)

    assert errors == []
    assert seen
    assert set(seen) == {expected(COHORT)}


def test_rebuild_ends_with_every_event_when_events_are_recorded_meanwhile(
    service: Service,
) -> None:
    record_cohort(service.app, COHORT)
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for number in range(201, 201 + COHORT):
                busy(service.app, f"NJ01-{number}")
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for name in READ_MODELS:
            rebuild(service.app, name)
    finally:
        thread.join(timeout=60)
    recorded = wait_for_head(service)

    assert errors == []
    assert recorded == 2 * COHORT * 16
    assert positions(service) == dict.fromkeys(READ_MODELS, recorded)
    assert all_documents(service) == all_replayed(service.app)


def test_trial_rebuild_command_swaps_in_an_equal_model_when_run_beside_the_projector(
    quiet: Service, database_url: str, tmp_path: Path
) -> None:
    service = quiet
    record_cohort(service.app, 3)
    projected(service)
    live = table_documents(service, "safety_ledger")
    env = {
        **os.environ,
        "TRIAL_DATABASE_URL": database_url,
        "TRIAL_DATABASE_SCHEMA": service.env["POSTGRES_SCHEMA"],
        "TRIAL_DATA_DIR": str(tmp_path),
        "TRIAL_JWT_SECRET": TEST_JWT_SECRET,
    }

    done = subprocess.run(
        [sys.executable, "-m", "infra.cli", "rebuild", "safety_ledger"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert f"safety_ledger: rebuilt from {head(service.app)} events" in done.stdout
    assert table_documents(service, "safety_ledger") == live


@pytest.mark.parametrize("parts", [1, 3, 16])
def test_the_parts_of_a_rebuild_hold_every_participant_once_as_the_event_order_replays_them(
    quiet: Service, parts: int
) -> None:
    service = quiet
    record_cohort(service.app, COHORT)
    enrol(service.app, "NJ01-101", until="SCREEN_FAILED")
    stop = head(service.app) - 5  # a position inside some participants' streams
    replayed = participants_until(service.app, stop)

    streamed = [p for k in range(parts) for p in streams_until(service.app, stop, (k, parts))]

    assert sorted(p.id for p in streamed) == sorted(replayed)
    for participant in streamed:
        assert participant_view(participant) == participant_view(replayed[participant.id])
