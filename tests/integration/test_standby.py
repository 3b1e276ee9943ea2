"""Reads from hot standbys (TRIAL_READ_DATABASE_URL) on real clusters: a primary, a streaming
standby and one that applies what it receives a second late (``recovery_min_apply_delay``)."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from api import readside
from domain.application import TrialApplication
from domain.vocabulary import Role
from infra import read_databases
from infra.bootstrap import Service, bootstrap
from infra.cli import main
from infra.clusters import Cluster
from infra.config import Settings
from infra.read_databases import ReadRouter
from infra.resilience import Deadline, run_within
from tests.conftest import TEST_JWT_SECRET
from tests.e2e.conftest import GraphQLClient, RunningServer
from tests.e2e.documents import CONSENT, consent_input
from tests.e2e.test_subscriptions import SUMMARY_CHANGED, mutate, subscribed, subscriber
from tests.integration.stories import AUDITOR, busy, enrol, record_cohort, wait_for_head

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


def test_a_push_over_a_websocket_carries_the_change_despite_a_delayed_standby(
    on_delayed: Service,
) -> None:
    """A real graphql-transport-ws subscriber of studySummaryChanged, a consent over HTTP: each
    push, read from a standby a second behind, already counts the new participant."""
    service = on_delayed
    server = RunningServer(service)
    server.start()
    client = GraphQLClient(server.url, service.jwt_secret)
    writer = client.as_role(Role.SITE_STAFF, "NJ02", sub="staff-NJ02")
    before = readside.summary(service, AUDITOR).consented

    async def scenario() -> tuple[list[int], list[int]]:
        stale, pushed = [], []
        async with subscriber(server, writer.token) as sub:
            await sub.subscribe(SUMMARY_CHANGED)
            await subscribed(server, 1)
            for number in range(1, 4):
                await mutate(writer, CONSENT, consent_input(f"NJ02-30{number}", "NJ02"))
                # The negative control: the standby, read at once, is a second behind.
                stale.append(readside.summary(service, AUDITOR).consented)
                pushed.append((await sub.push())["consented"])
        return stale, pushed

    try:
        stale, pushed = asyncio.run(scenario())
    finally:
        client.http.close()
        server.stop()
    expected = [before + number for number in range(1, 4)]
    assert pushed == expected
    assert all(count < want for count, want in zip(stale, expected, strict=True))


def test_as_of_queries_over_http_answer_from_a_delayed_standby_right_after_a_write(
    on_delayed: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """studySummary(asOf) and participant(asOf) over HTTP, as a sponsor system sends them,
    right after a consent: the API's resolvers (within their deadlines) read the standby's
    event log once it holds the consent."""
    monkeypatch.setattr(read_databases, "STANDBY_TIMEOUT_S", 10)  # a busy machine's margin
    service = on_delayed
    answered: list[str] = []
    _counted(service.reads.standbys[0].app.event_log, "position_at", answered, monkeypatch)
    _counted(service.reads.standbys[0].app.event_log, "version_at", answered, monkeypatch)
    server = RunningServer(service)
    server.start()
    client = GraphQLClient(server.url, service.jwt_secret)
    writer = client.as_role(Role.SITE_STAFF, "NJ02", sub="staff-NJ02")
    auditor = client.as_role(Role.AUDITOR, None, sub="auditor-1")
    query = """query($id: ID!, $asOf: DateTime!) {
      studySummary(asOf: $asOf) { consented }
      participant(id: $id, asOf: $asOf) { subjectId version }
    }"""
    try:
        before = auditor.data("{ studySummary { consented } }")["studySummary"]["consented"]
        consent = consent_input("NJ02-401", "NJ02")
        pid = writer.data(CONSENT, {"input": consent})["consent"]["participantId"]
        now = service.app.clock().isoformat()
        data = auditor.data(query, {"id": pid, "asOf": now})
    finally:
        client.http.close()
        server.stop()
    assert data["studySummary"]["consented"] == before + 1
    assert data["participant"] == {"subjectId": "NJ02-401", "version": 1}
    assert sorted(answered) == ["position_at", "version_at"]


def _on_primary(service: Service) -> Service:
    """The same service with no standby: every read on the primary, for reference answers."""
    primary = ReadRouter(service.app, service.read_models.stores, [], 30)
    return dataclasses.replace(service, reads=primary)


def _counted(obj: object, name: str, calls: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    method: Callable[..., Any] = getattr(obj, name)

    def counted(*args: Any) -> Any:
        calls.append(name)
        return method(*args)

    monkeypatch.setattr(obj, name, counted)


def test_point_in_time_reads_wait_for_a_delayed_standby_and_answer_as_the_primary(
    on_delayed: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """participant(asOf/atVersion), studySummary(asOf), safetyLedger(asOf), each right after a
    write: from the standby's events and log, once it holds them, as the primary answers."""
    monkeypatch.setattr(read_databases, "STANDBY_TIMEOUT_S", 10)  # a busy machine's margin
    service, primary = on_delayed, _on_primary(on_delayed)
    standby = service.reads.standbys[0]
    answered: list[str] = []  # the standby's event-log lookups

    def written(subject: str, until: str | None = None) -> tuple[UUID, datetime]:
        """A participant written just now, and the instant after it; the negative control:
        the standby's own event log, read at once, does not hold its last event yet."""
        if until is None:
            pid = busy(service.app, subject).participant_id
        else:
            pid = enrol(service.app, subject, until=until)
        now = service.app.clock()
        behind = len(answered)
        assert standby.app.event_log.version_at(pid, now) != service.app.event_log.version_at(
            pid, now
        )
        del answered[behind:]
        return pid, now

    for name in ("version_at", "position_at"):
        _counted(standby.app.event_log, name, answered, monkeypatch)

    pid, now = written("NJ02-201")
    version = service.app.event_log.version_at(pid, now)
    as_of = readside.participant_at(service, AUDITOR, pid, as_of=now, at_version=None)
    assert as_of is not None and as_of.version == version == 16
    assert as_of == readside.participant_at(primary, AUDITOR, pid, as_of=now, at_version=None)

    pid, _ = written("NJ02-202", until="INFUSED")
    at_two = readside.participant_at(service, AUDITOR, pid, as_of=None, at_version=2)
    assert at_two is not None and at_two.version == 2 and at_two.status.name == "ELIGIBLE"
    assert at_two == readside.participant_at(primary, AUDITOR, pid, as_of=None, at_version=2)

    _, now = written("NJ02-203", until="CONSENTED")
    summary = readside.summary(service, AUDITOR, as_of=now)
    assert summary == readside.summary(primary, AUDITOR, as_of=now)
    current = readside.summary(primary, AUDITOR, min_position=_position(service.app))
    assert summary.consented == current.consented  # NJ02-203 counted

    pid, now = written("NJ02-204")
    ledger = readside.ledger(service, AUDITOR, now, as_of=now)
    assert ledger == readside.ledger(primary, AUDITOR, now, as_of=now)
    assert {entry.event.ae_id for entry in ledger.entries if entry.participant_id == pid} == {
        "AE-001",
        "AE-002",
    }
    assert answered == ["version_at", "position_at", "position_at"]  # all but atVersion's


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
        # A point-in-time read first, within a request's deadline as the API runs it.
        now = service.app.clock()
        as_of = run_within(Deadline.from_now(), readside.summary, service, AUDITOR, as_of=now)
        assert as_of == readside.summary(_on_primary(service), AUDITOR, as_of=now)

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
