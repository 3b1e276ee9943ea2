"""studySummary(asOf T) reuses a participant's current row only when that row was derived from
the version the participant had at T; everyone else is replayed up to T. Either way the answer
must be the replay of the whole study up to T, whatever the read model holds or lacks."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from psycopg.sql import SQL, Identifier

from api import readside
from api.auth import Principal
from domain.vocabulary import Role, Visit, WithdrawalReason
from infra.bootstrap import Service
from projections import study_summary
from projections.replay import participants_until
from tests.integration.stories import (
    AUDITOR,
    enrol,
    head,
    pid,
    staff,
    unprojected,
    wait_for_head,
)
from tests.unit import builders

NJ02_MONITOR = Principal("monitor-2", Role.MONITOR, frozenset({"NJ02"}))


def replayed_summary(service: Service, at: datetime, sites: set[str] | None = None) -> object:
    """The summary at ``at`` from a replay of every event up to it (no read model involved)."""
    stop = service.app.event_log.position_at(at)
    rows = [
        study_summary.summary_row(p)
        for p in participants_until(service.app, stop).values()
        if sites is None or p.site in sites
    ]
    return study_summary.study_summary(rows, at)


def instant() -> datetime:
    time.sleep(0.002)  # T falls strictly between the events before and after it
    at = datetime.now(UTC)
    time.sleep(0.002)
    return at


def _story_until_t(service: Service) -> datetime:
    app = service.app
    a = enrol(app, "NJ01-001")
    app.score_visit(a, builders.baseline(), staff())
    app.score_visit(a, builders.visit(Visit.M1, pga_tenths=9), staff())
    enrol(app, "NJ01-002", until="SCREEN_FAILED")
    enrol(app, "NJ02-001")
    return instant()


def _story_after_t(service: Service) -> None:
    app = service.app
    a = pid("NJ01-001")
    app.correct_visit(a, builders.visit(Visit.M1, pga_tenths=2), "source says 0.2", staff())
    withdrawal = builders.withdrawal(date(2025, 9, 1), WithdrawalReason.CONSENT_WITHDRAWN)
    app.withdraw(a, withdrawal, staff())
    enrol(app, "NJ01-003")


@pytest.fixture
def story(database_url: str, schema: str, tmp_path: Path) -> Iterator[tuple[Service, datetime]]:
    service = unprojected(database_url, schema, tmp_path)
    try:
        service.start_projector()
        at = _story_until_t(service)
        wait_for_head(service)
        _story_after_t(service)
        wait_for_head(service)
        yield service, at
    finally:
        service.close()


def test_as_of_t_counts_what_was_recorded_by_t(story: tuple[Service, datetime]) -> None:
    service, at = story
    summary = readside.summary(service, AUDITOR, as_of=at)
    assert summary == replayed_summary(service, at)
    # By T: three consents, one screen failure, two infusions, nobody withdrawn yet.
    assert (summary.consented, summary.screen_failed, summary.infused, summary.withdrawn) == (
        3,
        1,
        2,
        0,
    )
    now = readside.summary(service, AUDITOR, as_of=datetime.now(UTC))
    assert (now.consented, now.infused, now.withdrawn) == (4, 3, 1)
    assert replace(now, as_of=None) == readside.summary(service, AUDITOR)


def test_as_of_keeps_to_the_callers_sites(story: tuple[Service, datetime]) -> None:
    service, at = story
    summary = readside.summary(service, NJ02_MONITOR, as_of=at)
    assert summary == replayed_summary(service, at, {"NJ02"})
    assert summary.consented == 1


def test_as_of_is_the_replay_when_the_read_model_lags(
    database_url: str, schema: str, tmp_path: Path
) -> None:
    service = unprojected(database_url, schema, tmp_path)
    try:
        projector = service.start_projector()
        at = _story_until_t(service)
        wait_for_head(service)
        projector.stop()  # later events are recorded but never projected
        _story_after_t(service)
        later = instant()
        assert service.read_models.lags()[0].lag > 0
        for when in (at, later):
            assert readside.summary(service, AUDITOR, as_of=when) == replayed_summary(service, when)
    finally:
        service.close()


def test_a_row_of_another_version_is_not_reused(story: tuple[Service, datetime]) -> None:
    service, at = story
    datastore = service.app.factory.datastore  # type: ignore[attr-defined]
    forged = {"version": 999, "screen_failed": False, "eligible": True, "infused": True,
              "withdrawn": True, "failed_criteria": [], "outcomes": {}}  # fmt: skip
    with datastore.transaction(commit=True) as curs:
        curs.execute(
            SQL("UPDATE {}.rm_study_summary SET doc = %s WHERE participant_id = %s").format(
                Identifier(datastore.schema)
            ),
            (json.dumps(forged), pid("NJ01-002")),
        )
    assert head(service.app) > 0
    assert readside.summary(service, AUDITOR, as_of=at) == replayed_summary(service, at)
    assert readside.summary(service, AUDITOR, as_of=at).screen_failed == 1
