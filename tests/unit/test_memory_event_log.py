"""The in-memory event log keeps eventsourcing's contract of an application recorder (its own
test cases, ``eventsourcing.tests.persistence``), and the log's: a row per event, in order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError, ProgrammingError, StoredEvent
from eventsourcing.tests.persistence import ApplicationRecorderTestCase

from domain.event_log import EventAudit
from infra.memory import MemoryEventLog


def audit(key: str | None = None) -> EventAudit:
    return EventAudit("nurse.li", "SITE_STAFF", "NJ01", None, key, "digest")


class AuditedMemoryEventLog(MemoryEventLog):
    """Saves without an audit (as eventsourcing's test cases do) under a default one."""

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Any:
        kwargs.setdefault("audit", audit())
        return super().insert_events(stored_events, **kwargs)


class TestMemoryEventLogKeepsTheRecorderContract(
    ApplicationRecorderTestCase[AuditedMemoryEventLog]
):
    def create_recorder(self) -> AuditedMemoryEventLog:
        return AuditedMemoryEventLog()

    # Throughput printouts, not checks: bench/ measures the recorders.
    test_performance = None  # type: ignore[assignment]
    test_concurrent_throughput = None  # type: ignore[assignment]


def event(version: int, originator: Any = None) -> StoredEvent:
    return StoredEvent(originator or uuid4(), version, "domain.participant:Participant.X", b"{}")


def test_a_save_without_its_audit_records_nothing() -> None:
    log = MemoryEventLog()

    with pytest.raises(ProgrammingError):
        log.insert_events([event(1)])

    assert (log.max_notification_id(), log.entries) == (None, [])


def test_each_event_gets_a_log_row_chained_to_the_one_before_in_its_stream() -> None:
    log, stream = MemoryEventLog(), uuid4()

    log.insert_events([event(1, stream), event(2, stream)], audit=audit())
    log.insert_events([event(3, stream)], audit=audit())

    rows = log.log_entries(stream)
    assert [(r.position, r.version, r.event_type) for r in rows] == [(1, 1, "X"), (2, 2, "X"),
                                                                     (3, 3, "X")]  # fmt: skip
    assert rows[0].previous_hash is None
    assert [r.previous_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]
    assert rows[0].recorded_at == rows[1].recorded_at < rows[2].recorded_at


def test_an_idempotency_key_is_recorded_once_and_a_refused_save_records_nothing() -> None:
    log = MemoryEventLog()
    log.insert_events([event(1)], audit=audit("key-1"))

    with pytest.raises(IntegrityError):
        log.insert_events([event(1)], audit=audit("key-1"))

    assert log.max_notification_id() == 1
    found = log.find_command("key-1")
    assert found is not None and found.position == 1
