"""The trial's PostgreSQL recorder keeps eventsourcing's contract of an application recorder
(its own test cases, ``eventsourcing.tests.persistence``), with an event-log row per event."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from eventsourcing.persistence import InfrastructureFactory, StoredEvent
from eventsourcing.tests.persistence import (
    ApplicationRecorderTestCase,
    NonInterleavingNotificationIDsBaseCase,
)
from eventsourcing.utils import Environment, get_topic

from domain.event_log import EventAudit
from infra.bootstrap import create_schema
from infra.database import eventsourcing_env
from infra.recorder import TrialRecorder

pytestmark = pytest.mark.integration


class AuditedTrialRecorder(TrialRecorder):
    """Saves without an audit (as eventsourcing's test cases do) under a default one."""

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Any:
        kwargs.setdefault("audit", EventAudit("nurse.li", "SITE_STAFF", "NJ01", None, None, "d"))
        return super().insert_events(stored_events, **kwargs)


class _OnTheTestDatabase:
    database_url: str
    schema: str

    factories: list[InfrastructureFactory[Any]]

    @pytest.fixture(autouse=True)
    def _database(self, database_url: str, schema: str) -> Iterator[None]:
        self.database_url, self.schema, self.factories = database_url, schema, []
        yield
        for factory in self.factories:
            factory.close()

    def create_recorder(self) -> AuditedTrialRecorder:
        create_schema(self.database_url, self.schema)
        env = eventsourcing_env(self.database_url) | {
            "POSTGRES_SCHEMA": self.schema,
            "APPLICATION_RECORDER_TOPIC": get_topic(AuditedTrialRecorder),
        }
        factory = InfrastructureFactory.construct(Environment("Trial", env))
        recorder = factory.application_recorder()
        assert isinstance(recorder, AuditedTrialRecorder)
        self.factories.append(factory)
        return recorder


class TestTrialRecorderKeepsTheRecorderContract(
    _OnTheTestDatabase, ApplicationRecorderTestCase[AuditedTrialRecorder]
):
    # Throughput printouts, not checks: bench/ measures the recorders.
    test_performance = None  # type: ignore[assignment]
    test_concurrent_throughput = None  # type: ignore[assignment]


class TestConcurrentSavesNeverInterleaveTheirPositions(
    _OnTheTestDatabase, NonInterleavingNotificationIDsBaseCase
):
    """Two saves racing each hold one block of positions: the log's order is commit order."""
