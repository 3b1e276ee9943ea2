"""The event log, as the application sees it: the port its recorder implements.

Every stored event has one row in the log, written in the same transaction as the event: its
global position, the transaction time, who recorded it and why (the command's ``EventAudit``),
and its link in its participant's hash chain. The application hands the audit over with the
events (``save(..., audit=...)``) and asks the log what a command needs: whether an idempotency
key was used, which version a participant had at an instant, which position the study had.

``infra.recorder`` keeps the log in PostgreSQL; ``infra.memory`` keeps it in memory, for the
use cases' tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

from domain.errors import storable


def event_type(topic: str) -> str:
    """The event's class name: "domain.participant:Participant.Infused" → "Infused"."""
    return topic.rsplit(".", 1)[-1]


@dataclass
class EventAudit:
    """Who recorded the events of one command, why, and under which idempotency key and command
    digest. The log fills in ``recorded_at``: the transaction time, taken under the lock that
    orders the positions, so recorded times follow commit order."""

    actor: str
    actor_role: str
    actor_site: str | None
    reason: str | None
    idempotency_key: str | None
    command_digest: str | None
    recorded_at: datetime | None = None

    def check_text(self) -> None:
        """Refuse text the log cannot store (NUL, lone surrogates), before anything is."""
        for name in ("actor", "actor_role", "actor_site", "reason", "idempotency_key"):
            storable(getattr(self, name), "AUDIT_TEXT", name.replace("_", " "))

    @staticmethod
    def per_event(audit: Any, count: int) -> list[EventAudit]:
        """One audit per stored event: the command's audit for all ``count`` of them, or one
        each; none when ``audit`` is neither (the recorders refuse such a save)."""
        if isinstance(audit, EventAudit):
            return [audit] * count
        if isinstance(audit, list) and all(isinstance(item, EventAudit) for item in audit):
            return audit
        return []


@dataclass(frozen=True)
class LogEntry:
    """One row of the event log: which event (position, participant, version, type), the audit
    of the command that recorded it, and its link in the participant's hash chain."""

    position: int
    participant_id: UUID
    version: int
    event_type: str
    audit: EventAudit
    hash: str | None = None
    previous_hash: str | None = None

    @property
    def recorded_at(self) -> datetime:
        assert self.audit.recorded_at is not None, "a log row always has its transaction time"
        return self.audit.recorded_at

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> LogEntry:
        """From a row of the log table (that may hold more columns, of a join)."""
        audit = EventAudit(**{name: row[name] for name in _AUDIT_COLUMNS})
        return cls(
            position=int(row["position"]),
            participant_id=row["participant_id"],
            version=int(row["version"]),
            event_type=row["event_type"],
            audit=audit,
            hash=row.get("hash"),
            previous_hash=row.get("previous_hash"),
        )

    def document(self) -> dict[str, Any]:
        """Every column as a JSON value, the transaction time in UTC to the microsecond: what
        the log's INSERT takes, and (but for the hash itself) what the hash covers."""
        audit = self.audit
        return {
            "position": self.position,
            "participant_id": str(self.participant_id),
            "version": self.version,
            "event_type": self.event_type,
            "recorded_at": self.recorded_at.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor": audit.actor,
            "actor_role": audit.actor_role,
            "actor_site": audit.actor_site,
            "reason": audit.reason,
            "idempotency_key": audit.idempotency_key,
            "command_digest": audit.command_digest,
            "hash": self.hash,
            "previous_hash": self.previous_hash,
        }


_AUDIT_COLUMNS = tuple(field.name for field in fields(EventAudit))


@runtime_checkable
class EventLog(Protocol):
    """What the application asks of its recorder's event log."""

    def find_command(self, idempotency_key: str) -> LogEntry | None:
        """The log row of the last event recorded under ``idempotency_key``, if any."""

    def version_at(self, participant_id: UUID, instant: datetime) -> int | None:
        """The participant's version recorded at or before ``instant`` (None: none yet)."""

    def position_at(self, instant: datetime) -> int:
        """The last position recorded at or before ``instant`` (0 when none was)."""

    def log_entries(self, participant_id: UUID) -> list[LogEntry]:
        """The participant's log rows, in version order."""

    def participant_ids(self) -> list[UUID]:
        """Every participant, in the order they consented."""
