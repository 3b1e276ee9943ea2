"""The event log on real PostgreSQL: one row per stored event, written in the same transaction.

Read through the application (``service.app``) and, to see exactly what is stored, with psycopg
from the schema's ``trial_events`` and ``trial_event_log`` tables.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any
from uuid import UUID

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, ProgrammingError
from psycopg import sql
from psycopg.rows import dict_row

from domain.application import TrialApplication
from domain.commands import Actor, CommandResult, Request, command_digest
from domain.errors import DomainRuleViolation
from domain.event_log import EventAudit
from domain.participant import participant_id
from domain.vocabulary import Role, Visit
from infra.bootstrap import Service
from tests.unit.builders import (
    TODAY,
    ae_report,
    ae_update,
    consent,
    infusion,
    screening,
    signature,
    visit,
    withdrawal,
)

pytestmark = pytest.mark.integration

NURSE = Actor("nurse-li", Role.SITE_STAFF, "NJ01")
INVESTIGATOR = Actor("dr-wang", Role.INVESTIGATOR, "NJ01")
EVENT_TYPES = [
    "Consented",
    "Screened",
    "Infused",
    "VisitScored",
    "VisitCorrected",
    "AdverseEventReported",
    "AdverseEventUpdated",
    "Withdrawn",
]


@dataclass(frozen=True)
class Recorded:
    pid: UUID
    results: list[CommandResult]  # one per command, in the order recorded


def record_story(app: TrialApplication, subject: str = "NJ01-007") -> Recorded:
    """NJ01-007 through one command of each kind, by the nurse and the investigator."""
    pid = participant_id(subject)
    results = [
        app.consent(consent(subject_id=subject), Request(NURSE, f"{subject}/consent")),
        app.screen(pid, screening(), Request(NURSE)),
        app.record_infusion(pid, infusion(), Request(INVESTIGATOR, expected_version=2)),
        app.score_visit(pid, visit(Visit.M1), Request(NURSE, f"{subject}/M1")),
        app.correct_visit(pid, visit(Visit.M1, pga_tenths=3), "PGA misread", Request(INVESTIGATOR)),
        app.report_adverse_event(pid, ae_report(), Request(NURSE)),
        app.update_adverse_event(pid, ae_update(), Request(INVESTIGATOR)),
        app.withdraw(pid, withdrawal(date(2025, 9, 1)), Request(NURSE)),
    ]
    return Recorded(pid, results)


def rows(service: Service, table: str, order: str) -> list[dict[str, Any]]:
    schema = service.app.recorder.datastore.schema  # type: ignore[attr-defined]
    statement = sql.SQL("SELECT * FROM {}.{} ORDER BY {}").format(
        sql.Identifier(schema), sql.Identifier(table), sql.Identifier(order)
    )
    with psycopg.connect(service.database_url, row_factory=dict_row) as conn:
        return conn.execute(statement).fetchall()


def log_rows(service: Service) -> list[dict[str, Any]]:
    return rows(service, "trial_event_log", "position")


def test_log_has_one_row_per_event_at_its_notification_position_when_a_story_is_recorded(
    service: Service,
) -> None:
    recorded = record_story(service.app)

    notifications = service.app.recorder.select_notifications(start=1, limit=100)
    log = log_rows(service)
    assert len(rows(service, "trial_events", "notification_id")) == len(log) == 8
    assert [(n.id, n.originator_id, n.originator_version) for n in notifications] == [
        (row["position"], row["participant_id"], row["version"]) for row in log
    ]
    assert [row["event_type"] for row in log] == EVENT_TYPES
    assert [n.topic.rsplit(".", 1)[-1] for n in notifications] == EVENT_TYPES
    assert {row["participant_id"] for row in log} == {recorded.pid}


def test_command_result_equals_its_log_row_when_a_command_is_recorded(
    service: Service,
) -> None:
    recorded = record_story(service.app)

    log = log_rows(service)
    assert [(r.position, r.version, r.recorded_at) for r in recorded.results] == [
        (row["position"], row["version"], row["recorded_at"]) for row in log
    ]
    assert [r.version for r in recorded.results] == list(range(1, 9))


def test_log_rows_name_the_actor_and_the_reason_when_events_are_recorded(service: Service) -> None:
    record_story(service.app)

    log = log_rows(service)
    actors = [(row["actor"], row["actor_role"], row["actor_site"]) for row in log]
    nurse, investigator = ("nurse-li", "SITE_STAFF", "NJ01"), ("dr-wang", "INVESTIGATOR", "NJ01")
    assert actors == [nurse, nurse, investigator, nurse, investigator, nurse, investigator, nurse]
    assert [row["reason"] for row in log] == [
        None, None, None, None, "PGA misread", None, "follow-up of 2025-06-25", None,
    ]  # fmt: skip
    assert [row["idempotency_key"] for row in log] == [
        "NJ01-007/consent", None, None, "NJ01-007/M1", None, None, None, None,
    ]  # fmt: skip
    assert all(len(row["command_digest"]) == 64 for row in log)


def test_log_row_keeps_the_text_exactly_when_the_reason_and_key_hold_quotes_and_non_ascii(
    service: Service,
) -> None:
    app = service.app
    pid = participant_id("NJ01-007")
    app.consent(consent(), Request(NURSE))
    app.screen(pid, screening(), Request(NURSE))
    app.record_infusion(pid, infusion(), Request(INVESTIGATOR))
    reason = 'PGA "3" misread \\ 复核 ✓ 😀\n{"a": null}'
    key = 'NJ01-007/M1 "retry" ✓'
    app.score_visit(pid, visit(Visit.M1), Request(NURSE, key))
    app.correct_visit(pid, visit(Visit.M1, pga_tenths=3), reason, Request(INVESTIGATOR))

    log = log_rows(service)
    assert [(row["reason"], row["idempotency_key"]) for row in log][-2:] == [
        (None, key), (reason, None),
    ]  # fmt: skip
    assert app.event_log.find_command(key) is not None


def test_recorded_times_never_decrease_with_position_when_commands_run_concurrently(
    service: Service,
) -> None:
    app = service.app
    subjects = [f"NJ01-{n:03d}" for n in range(10, 14)]
    for subject in subjects:
        app.consent(consent(subject_id=subject), Request(NURSE))

    def report_five(subject: str) -> None:
        for n in range(5):
            app.report_adverse_event(
                participant_id(subject), ae_report(f"AE-{n:03d}"), Request(NURSE)
            )

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(report_five, subjects))

    log = log_rows(service)
    recorded = [row["recorded_at"] for row in log]
    assert len(log) == 4 + 4 * 5
    assert recorded == sorted(recorded)
    for subject in subjects:
        versions = [
            row["version"] for row in log if row["participant_id"] == participant_id(subject)
        ]
        assert versions == list(range(1, 7))


def test_version_at_gives_the_version_recorded_by_then_when_asked_at_or_between_events(
    service: Service,
) -> None:
    recorded = record_story(service.app)
    times = [result.recorded_at for result in recorded.results]
    version_at = service.app.event_log.version_at

    before_consent = version_at(recorded.pid, times[0] - timedelta(microseconds=1))
    exactly = [version_at(recorded.pid, t) for t in times]
    between = [version_at(recorded.pid, a + (b - a) / 2) for a, b in pairwise(times)]
    long_after = version_at(recorded.pid, times[-1] + timedelta(days=365))

    assert before_consent is None
    assert exactly == list(range(1, 9))
    assert between == list(range(1, 8))
    assert long_after == 8


def test_version_at_is_none_when_the_participant_never_consented(service: Service) -> None:
    record_story(service.app)

    version = service.app.event_log.version_at(participant_id("NJ01-404"), datetime.now(UTC))

    assert version is None


def test_participant_is_rebuilt_from_the_events_recorded_by_then_when_asked_as_of_an_instant(
    service: Service,
) -> None:
    recorded = record_story(service.app)
    just_after_infusion = recorded.results[2].recorded_at + timedelta(microseconds=1)

    participant = service.app.participant(recorded.pid, as_of=just_after_infusion)

    assert participant is not None
    assert participant.version == 3
    assert participant.status.value == "INFUSED"


def test_log_entries_and_participant_ids_follow_the_log_when_two_participants_are_recorded(
    service: Service,
) -> None:
    first = record_story(service.app, "NJ01-007")
    second = record_story(service.app, "NJ01-008")

    entries = service.app.event_log.log_entries(first.pid)

    assert service.app.participant_ids() == [first.pid, second.pid]
    assert [(e.version, e.event_type) for e in entries] == list(enumerate(EVENT_TYPES, start=1))
    assert [e.position for e in entries] == [r.position for r in first.results]
    assert entries[4].audit.reason == "PGA misread"


def test_command_writes_neither_an_event_nor_a_log_row_when_refused(service: Service) -> None:
    recorded = record_story(service.app)
    before = (len(rows(service, "trial_events", "notification_id")), len(log_rows(service)))

    with pytest.raises(DomainRuleViolation, match="NO_VISIT_AFTER_WITHDRAWAL"):
        service.app.score_visit(recorded.pid, visit(Visit.M2), Request(NURSE))

    after = (len(rows(service, "trial_events", "notification_id")), len(log_rows(service)))
    assert after == before


def test_event_is_not_stored_when_its_log_row_cannot_be_written(service: Service) -> None:
    app = service.app
    pid = participant_id("NJ01-007")
    app.consent(consent(), Request(NURSE, "NJ01-007/consent"))
    participant = app.participant(pid)
    assert participant is not None
    participant.screen(screening(), TODAY, signature())
    taken_key = EventAudit(
        actor="nurse-li",
        actor_role="SITE_STAFF",
        actor_site="NJ01",
        reason=None,
        idempotency_key="NJ01-007/consent",  # already in the log: its unique index refuses it
        command_digest=command_digest("screen", pid, {}, None),
    )

    with pytest.raises(IntegrityError):
        app.save(participant, audit=taken_key)

    assert len(rows(service, "trial_events", "notification_id")) == 1
    assert len(log_rows(service)) == 1
    reloaded = app.participant(pid)
    assert reloaded is not None
    assert reloaded.version == 1


def test_event_is_refused_and_not_stored_when_saved_without_its_audit(service: Service) -> None:
    app = service.app
    pid = participant_id("NJ01-007")
    app.consent(consent(), Request(NURSE))
    participant = app.participant(pid)
    assert participant is not None
    participant.screen(screening(), TODAY, signature())

    with pytest.raises(ProgrammingError, match="audit"):
        app.save(participant)

    assert len(rows(service, "trial_events", "notification_id")) == 1
    assert len(log_rows(service)) == 1
