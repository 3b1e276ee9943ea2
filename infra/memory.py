"""The event log in memory: eventsourcing's in-memory recorder, keeping a log row per event.

For the use cases' tests: ``TrialApplication(env=MEMORY)`` runs every command path of the
application (idempotency, expected versions, site and role checks, refusals) in microseconds,
with what the PostgreSQL recorder guarantees and the application relies on: a save either
records all its events and their log rows or nothing; a version or an idempotency key is
recorded once; recorded times follow positions. The hash chain is computed as there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    ApplicationRecorder,
    IntegrityError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.popo import POPOApplicationRecorder, POPOFactory

from domain.event_log import EventAudit, LogEntry
from infra.chain import chained

MEMORY = {"PERSISTENCE_MODULE": "infra.memory:Factory"}
TICK = timedelta(microseconds=1)


class MemoryEventLog(POPOApplicationRecorder):
    """Events and their log rows in lists, under the recorder's one lock."""

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[LogEntry] = []
        self._commands: dict[str, LogEntry] = {}
        self._heads: dict[str, str | None] = {}
        self._last: datetime | None = None

    def _insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        audits = EventAudit.per_event(kwargs.get("audit"), len(stored_events))
        if stored_events and len(audits) != len(stored_events):
            raise ProgrammingError("events are saved with their audit, as in infra.recorder")
        for audit in audits:
            audit.check_text()
        with self._database_lock:
            keys = [audit.idempotency_key for audit in audits if audit.idempotency_key]
            if len(set(keys)) < len(keys) or self._commands.keys() & set(keys):
                raise IntegrityError("an idempotency key is recorded once")
            positions = super()._insert_events(stored_events, **kwargs)  # versions once
            assert positions is not None
            recorded_at = self._now()
            for audit in audits:
                audit.recorded_at = recorded_at  # the command's result reads it
            rows = [replace(audit, recorded_at=recorded_at) for audit in audits]  # this save's
            for entry in chained(positions, stored_events, rows, self._heads):
                self.entries.append(entry)
                self._heads[str(entry.participant_id)] = entry.hash
                if entry.audit.idempotency_key:
                    self._commands[entry.audit.idempotency_key] = entry
        return positions

    def _now(self) -> datetime:
        """The transaction time: the clock, but always after the last one."""
        now = datetime.now(UTC)
        self._last = now if self._last is None or now > self._last else self._last + TICK
        return self._last

    # ----- the log's lookups (domain.event_log.EventLog) -----

    def find_command(self, idempotency_key: str) -> LogEntry | None:
        with self._database_lock:
            return self._commands.get(idempotency_key)

    def version_at(self, participant_id: UUID, instant: datetime) -> int | None:
        versions = [
            entry.version
            for entry in self._entries()
            if entry.participant_id == participant_id and entry.recorded_at <= instant
        ]
        return max(versions, default=None)

    def position_at(self, instant: datetime) -> int:
        positions = [entry.position for entry in self._entries() if entry.recorded_at <= instant]
        return max(positions, default=0)

    def log_entries(self, participant_id: UUID) -> list[LogEntry]:
        found = [entry for entry in self._entries() if entry.participant_id == participant_id]
        return sorted(found, key=lambda entry: entry.version)

    def participant_ids(self) -> list[UUID]:
        return [entry.participant_id for entry in self._entries() if entry.version == 1]

    def _entries(self) -> list[LogEntry]:
        with self._database_lock:
            return list(self.entries)


class Factory(POPOFactory):
    """eventsourcing's in-memory persistence, with the event log as its application recorder."""

    def application_recorder(self) -> ApplicationRecorder:
        return MemoryEventLog()
