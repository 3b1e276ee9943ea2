"""Exactly once across crashes and rivals: ``trial project`` killed, restarted, run twice.

Every check compares the read-model tables with the documents the projections' pure ``rows``
give for the participants replayed from the events (``projections.replay``), which is what a
full rebuild writes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.bootstrap import Service
from projections.runner import Projector
from tests.conftest import TEST_JWT_SECRET
from tests.integration.stories import (
    READ_MODELS,
    all_documents,
    all_replayed,
    busy,
    positions,
    record_cohort,
    replayed_documents,
    table_documents,
    wait_for_head,
)

pytestmark = pytest.mark.integration

BACKLOG = 20  # busy participants: 320 events
KILL_BACKLOG = 250  # 4,000 events: folding them spans several MAX_DELAY_S batches


class ProjectCommand:
    """``trial project`` as a separate process on the test's schema."""

    def __init__(self, service: Service, database_url: str, log: Path) -> None:
        self.env = {
            **os.environ,
            "TRIAL_DATABASE_URL": database_url,
            "TRIAL_DATABASE_SCHEMA": service.env["POSTGRES_SCHEMA"],
            "TRIAL_DATA_DIR": str(log.parent),
            "TRIAL_JWT_SECRET": TEST_JWT_SECRET,
        }
        self.log = log
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "infra.cli", "project"],
                env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def project(quiet: Service, database_url: str, tmp_path: Path) -> Iterator[ProjectCommand]:
    command = ProjectCommand(quiet, database_url, tmp_path / "project.log")
    yield command
    command.stop_all()


def wait_until_projecting(service: Service, timeout: float = 30.0) -> dict[str, int]:
    """Poll until some read model has applied a few events; return the positions then."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = positions(service)
        if max(now.values()) >= 20:
            return now
        time.sleep(0.002)
    raise AssertionError("trial project applied no event in time")


def test_killed_projector_restarted_gives_the_rebuilt_models_when_killed_mid_batch(
    quiet: Service, project: ProjectCommand
) -> None:
    recorded = record_cohort(quiet.app, KILL_BACKLOG)
    first = project.start()
    wait_until_projecting(quiet)

    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    at_kill = positions(quiet)
    survived = {name: table_documents(quiet, name) for name in READ_MODELS}
    project.start()
    wait_for_head(quiet, timeout=60)

    assert min(at_kill.values()) < recorded, f"not killed mid-way: {at_kill}"
    for name, position in at_kill.items():
        # what committed before the kill is exactly the projection of the events tracked
        assert survived[name] == replayed_documents(quiet.app, name, position), name
    assert positions(quiet) == dict.fromkeys(READ_MODELS, recorded)
    assert all_documents(quiet) == all_replayed(quiet.app), project.output()


def test_two_projector_processes_give_the_rebuilt_models_when_run_at_once(
    quiet: Service, project: ProjectCommand
) -> None:
    recorded = record_cohort(quiet.app, BACKLOG // 2)

    first, second = project.start(), project.start()
    wait_for_head(quiet, timeout=60)

    assert first.poll() is None and second.poll() is None, project.output()
    assert positions(quiet) == dict.fromkeys(READ_MODELS, recorded)
    assert all_documents(quiet) == all_replayed(quiet.app), project.output()


def test_two_projectors_give_the_rebuilt_models_when_events_arrive_while_they_run(
    quiet: Service,
) -> None:
    record_cohort(quiet.app, 6)
    projectors = [Projector(quiet.env), Projector(quiet.env)]
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for number in range(101, 107):
                busy(quiet.app, f"NJ01-{number}")
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=writer)
    try:
        for projector in projectors:
            projector.start()
        thread.start()
        thread.join(timeout=60)
        recorded = wait_for_head(quiet, timeout=60)
    finally:
        for projector in projectors:
            projector.stop()  # re-raises a runner's error

    assert errors == []
    assert recorded == 12 * 16
    documents = all_documents(quiet)
    assert documents == all_replayed(quiet.app)
    assert len(documents["study_summary"]) == 12
