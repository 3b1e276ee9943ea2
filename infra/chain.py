"""The tamper-evident hash chain: what each event's hash covers, and how it is computed.

Each stored event's hash is SHA-256 (lowercase hex) over a canonical JSON document of its content
and the previous event's hash in the same participant stream (null for version 1):

    {"chain": "CHT101-chain/1", "position": 17, "participant_id": "<uuid>", "version": 3,
     "event_type": "Infused", "topic": "domain.participant:Participant.Infused",
     "state": "<base64 of the events table's state bytes, exactly as stored>",
     "recorded_at": "2026-11-25T08:00:00.123456+00:00", "actor": "nurse.nj01",
     "actor_role": "SITE_STAFF", "actor_site": "NJ01", "reason": null,
     "idempotency_key": null, "command_digest": "<hex>", "previous_hash": "<hex>" | null}

with keys sorted, no whitespace (separators "," and ":"), ASCII only. ``state`` is the stored
bytes, which are AES-GCM ciphertext when payloads are encrypted, so the chain can be verified
without the key (decoding the events, which ``trial verify`` also does, needs it).
"""

from __future__ import annotations

import hashlib
import json
from base64 import b64encode
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

CHAIN_FORMAT = "CHT101-chain/1"


@dataclass(frozen=True)
class Link:
    """One stored event as its hash covers it: the events row and its event-log row."""

    position: int
    participant_id: UUID
    version: int
    event_type: str
    topic: str
    state: bytes
    recorded_at: datetime
    actor: str
    actor_role: str
    actor_site: str | None
    reason: str | None
    idempotency_key: str | None
    command_digest: str | None

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Link:
        """From a row of the events table joined with its log row (``infra.recorder``)."""
        return cls(
            position=int(row["position"]),
            participant_id=row["participant_id"],
            version=int(row["version"]),
            event_type=row["event_type"],
            topic=row["topic"],
            state=bytes(row["state"]),
            recorded_at=row["recorded_at"],
            actor=row["actor"],
            actor_role=row["actor_role"],
            actor_site=row["actor_site"],
            reason=row["reason"],
            idempotency_key=row["idempotency_key"],
            command_digest=row["command_digest"],
        )


def canonical(link: Link, previous_hash: str | None) -> bytes:
    """The bytes an event's hash is taken over (see the module's docstring)."""
    document = {
        "chain": CHAIN_FORMAT,
        "position": link.position,
        "participant_id": str(link.participant_id),
        "version": link.version,
        "event_type": link.event_type,
        "topic": link.topic,
        "state": b64encode(link.state).decode("ascii"),
        "recorded_at": link.recorded_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": link.actor,
        "actor_role": link.actor_role,
        "actor_site": link.actor_site,
        "reason": link.reason,
        "idempotency_key": link.idempotency_key,
        "command_digest": link.command_digest,
        "previous_hash": previous_hash,
    }
    # default=str: never raise here, the recorder calls this after its INSERT (see recorder).
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str
    ).encode("ascii")


def chain_hash(link: Link, previous_hash: str | None) -> str:
    """SHA-256 (hex) of the event's content chained to the previous event's hash."""
    return hashlib.sha256(canonical(link, previous_hash)).hexdigest()
