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
from collections.abc import Sequence
from dataclasses import replace
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from domain.event_log import EventAudit, LogEntry, event_type

CHAIN_FORMAT = "CHT101-chain/1"


def canonical(entry: LogEntry, topic: str, state: bytes) -> bytes:
    """The bytes an event's hash is taken over (see the module's docstring): its log row but
    the hash itself (``previous_hash`` included), and the events row's topic and state."""
    document = entry.document()
    del document["hash"]
    document.update(chain=CHAIN_FORMAT, topic=topic, state=b64encode(state).decode("ascii"))
    # default=str: never raise here, the recorder calls this after its INSERT (see recorder).
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str
    ).encode("ascii")


def chain_hash(entry: LogEntry, topic: str, state: bytes) -> str:
    """SHA-256 (hex) of the event's content chained to the previous event's hash."""
    return hashlib.sha256(canonical(entry, topic, state)).hexdigest()


def chained(
    positions: Sequence[int],
    stored_events: Sequence[StoredEvent],
    audits: Sequence[EventAudit],
    previous: dict[str, str | None],
) -> list[LogEntry]:
    """Each event's log row with its link: the events of one stream in this save chained to each
    other, the first to the stream's stored head (``previous``, by stream). The audits carry the
    transaction time already."""
    heads: dict[str, str | None] = {}
    entries: list[LogEntry] = []
    for position, event, audit in zip(positions, stored_events, audits, strict=True):
        stream = str(event.originator_id)
        entry = LogEntry(
            position=position,
            participant_id=UUID(stream),
            version=event.originator_version,
            event_type=event_type(event.topic),
            audit=audit,
            previous_hash=heads[stream] if stream in heads else previous.get(stream),
        )
        entry = replace(entry, hash=chain_hash(entry, event.topic, event.state))
        heads[stream] = entry.hash
        entries.append(entry)
    return entries
