"""Reads from hot standbys (TRIAL_READ_DATABASE_URL) on real clusters: a primary, a streaming
standby and one that applies what it receives a second late (``recovery_min_apply_delay``)."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from api import readside
from domain.application import TrialApplication
from infra.bootstrap import Service, bootstrap
from infra.cli import main
from infra.clusters import Cluster
from infra.config import Settings
from tests.conftest import TEST_JWT_SECRET
from tests.integration.stories import AUDITOR, enrol, record_cohort, wait_for_head

pytestmark = pytest.mark.integration

DELAY = "recovery_min_apply_delay=1s"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    # Under /tmp, not pytest's directory: the postgres user must reach it.
    directory = Path(tempfile.mkdtemp(prefix="trial-clusters-"))
    cluster = Cluster(directory / "c")
    try:
        cluster.create_primary()
        cluster.add_standby("standby")
        cluster.add_standby("delayed", [DELAY])
        cluster.add_standby("slow", ["recovery_min_apply_delay=8s"])
        yield cluster
    finally:
        cluster.stop_all()
        shutil.rmtree(directory, ignore_errors=True)


def _service(
    cluster: Cluster, standby: str, tmp_path: Path, schema: str, max_lag_s: float = 30
) -> Service:
    settings = Settings.from_env(
        {
            "TRIAL_DATABASE_URL": cluster.url("primary"),
            "TRIAL_READ_DATABASE_URL": cluster.url(standby),
            "TRIAL_READ_MAX_LAG_S": str(max_lag_s),
            "TRIAL_DATA_DIR": str(tmp_path),
            "TRIAL_JWT_SECRET": TEST_JWT_SECRET,
        }
    )
    service = bootstrap(settings, schema=schema)
    service.start_projector()
    return service


def _subjects(service: Service, min_position: int | None = None) -> set[str]:
    views = readside.participants(service, AUDITOR, min_position=min_position)
    return {view.subject_id for view in views}


def _position(app: TrialApplication) -> int:
    return app.recorder.max_notification_id() or 0


def _wait_for_standby(service: Service) -> None:
    """Until the standby has caught up with the primary's read models (created, replayed)."""
    deadline = time.monotonic() + 30
    head = wait_for_head(service)
    while True:
        standby = service.reads.standbys[0]
        standby.check()
        if standby.up and min(standby.positions.values(), default=0) >= head:
            return
        assert time.monotonic() < deadline, f"the standby did not catch up: {standby}"
        time.sleep(0.05)


@contextmanager
def _reading_from(
    cluster: Cluster, standby: str, tmp_path: Path, schema: str, max_lag_s: float = 30
) -> Iterator[Service]:
    """A service reading from ``standby``, once the standby holds its read models."""
    service = _service(cluster, standby, tmp_path, schema, max_lag_s)
    try:
        _wait_for_standby(service)
        yield service
    finally:
        service.close()


@pytest.fixture
def on_standby(cluster: Cluster, tmp_path: Path) -> Iterator[Service]:
    with _reading_from(cluster, "standby", tmp_path, "standby_reads") as service:
        yield service


@pytest.fixture
def on_delayed(cluster: Cluster, tmp_path: Path) -> Iterator[Service]:
    with _reading_from(cluster, "delayed", tmp_path, "delayed_reads") as service:
        yield service


def test_reads_with_min_position_right_after_a_write_are_current(on_standby: Service) -> None:
    service = on_standby
    assert (
        service.reads.store("participant_status") is not service.read_models["participant_status"]
    ), "reads go to the standby"

    current = 0
    for number in range(1, 201):
        subject = f"NJ01-{number:03d}"
        enrol(service.app, subject, until="CONSENTED")
        current += subject in _subjects(service, min_position=_position(service.app))

    assert current == 200


def test_a_delayed_standby_is_stale_without_min_position_and_current_with_it(
    on_delayed: Service,
) -> None:
    service = on_delayed
    stale = current = 0
    for number in range(1, 6):
        subject = f"NJ02-{number:03d}"
        enrol(service.app, subject, until="CONSENTED")
        position = _position(service.app)
        stale += subject not in _subjects(service)  # the negative control
        current += subject in _subjects(service, min_position=position)

    assert stale == 5
    assert current == 5


def test_a_push_reads_the_change_a_notify_announced_from_a_delayed_standby(
    on_delayed: Service,
) -> None:
    """What studySummaryChanged, safetyLedgerChanged and participantChanged read after the
    primary's NOTIFY: the standby once it has applied the announced position."""
    service = on_delayed
    consented = readside.summary(service, AUDITOR).consented
    stale = current = 0
    for number in range(1, 4):
        enrol(service.app, f"NJ02-1{number:02d}", until="CONSENTED")
        announced = wait_for_head(service)  # the projector has committed it: a NOTIFY now
        stale += readside.summary(service, AUDITOR).consented < consented + number
        pushed = readside.summary(service, AUDITOR, notified=announced)
        current += pushed.consented == consented + number

    assert stale == 3  # the negative control: the standby is a second behind
    assert current == 3


def test_a_standby_lagging_past_the_allowed_lag_is_passed_over_until_it_catches_up(
    cluster: Cluster, tmp_path: Path
) -> None:
    with _reading_from(cluster, "slow", tmp_path, "slow_reads", max_lag_s=1) as service:
        standby = service.reads.standbys[0]
        primary_store = service.read_models["participant_status"]
        time.sleep(1.5)  # its last replayed commit is older than the allowed lag now
        enrol(service.app, "NJ04-001", until="CONSENTED")
        wait_for_head(service)

        deadline = time.monotonic() + 6  # within the 8 s it holds the change back
        while service.reads.store("participant_status") is not primary_store:
            assert time.monotonic() < deadline, f"the lagging standby was still read: {standby}"
            time.sleep(0.05)
        assert standby.up and (standby.lag_s or 0) > 1
        assert "NJ04-001" in _subjects(service)  # no minPosition: current, from the primary

        _wait_for_standby(service)  # it applies the change, and is read from again
        deadline = time.monotonic() + 5
        while service.reads.store("participant_status") is primary_store:
            assert time.monotonic() < deadline, f"the standby was not read again: {standby}"
            time.sleep(0.05)


def test_health_shows_each_standby_in_recovery_and_its_lag(on_standby: Service) -> None:
    service = on_standby
    positions = {lag.projection: lag.position for lag in service.read_models.lags()}

    [shown] = service.reads.status(positions)

    assert shown["up"] is True and shown["in_recovery"] is True and shown["used"] is True
    assert shown["lag_positions"] == 0
    assert shown["lag_s"] is not None and shown["lag_s"] < 5
    assert shown["database"].startswith("127.0.0.1:")


def test_a_stopped_standby_leaves_writes_untouched_and_reads_answered_by_the_primary(
    cluster: Cluster, on_standby: Service
) -> None:
    service = on_standby
    cluster.stop("standby")
    try:
        started = time.monotonic()
        enrol(service.app, "NJ03-001", until="CONSENTED")
        position = _position(service.app)

        subjects = _subjects(service, min_position=position)

        assert "NJ03-001" in subjects
        assert time.monotonic() - started < 10  # TRIAL_DATABASE_TIMEOUT's default
        service.reads.check()
        [shown] = service.reads.status({})
        assert shown["up"] is False and shown["used"] is False
        assert (
            service.reads.store("participant_status") is service.read_models["participant_status"]
        )
    finally:
        cluster.start("standby", "hot_standby=on")
    deadline = time.monotonic() + 30
    while not service.reads.standbys[0].up:  # back by itself, from the watcher's checks
        assert time.monotonic() < deadline, "the restarted standby was not read from again"
        time.sleep(0.1)


def test_a_promoted_standby_carries_on_with_increasing_positions_and_whole_chains(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = Path(tempfile.mkdtemp(prefix="trial-failover-"))
    cluster = Cluster(directory / "c")
    try:
        cluster.create_primary()
        cluster.add_standby("standby")
        before = _service(cluster, "standby", tmp_path / "before", "failover")
        record_cohort(before.app, 2)
        _wait_for_standby(before)
        head = _position(before.app)
        before.close()
        cluster.stop("primary")

        cluster.promote("standby")
        settings = Settings.from_env(
            {
                "TRIAL_DATABASE_URL": cluster.url("standby"),
                "TRIAL_DATA_DIR": str(tmp_path / "after"),
                "TRIAL_JWT_SECRET": TEST_JWT_SECRET,
            }
        )
        with bootstrap(settings, schema="failover") as after:
            after.start_projector()
            enrol(after.app, "NJ01-301", until="INFUSED")
            assert _position(after.app) > head
            assert wait_for_head(after) == _position(after.app)
            assert "NJ01-301" in _subjects(after)
            assert len(_subjects(after)) == 3

        for name, value in {
            "TRIAL_DATABASE_URL": cluster.url("standby"),
            "TRIAL_DATABASE_SCHEMA": "failover",
            "TRIAL_DATA_DIR": str(tmp_path / "cli"),
            "TRIAL_JWT_SECRET": TEST_JWT_SECRET,
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("TRIAL_READ_DATABASE_URL", raising=False)
        assert main(["verify"]) == 0
        assert "ok: 3 streams" in capsys.readouterr().out
    finally:
        cluster.stop_all()
        shutil.rmtree(directory, ignore_errors=True)
