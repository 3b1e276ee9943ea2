"""A command's envelope and result: who sends it, under which idempotency key and expected
version, what it recorded, and the digest that tells a retry from a reused key."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.errors import require
from domain.vocabulary import Role

MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class Actor:
    """The authenticated caller: user id, role and (for site roles) site code."""

    user_id: str
    role: Role
    site: str | None = None


@dataclass(frozen=True)
class CommandResult:
    participant_id: UUID
    version: int
    position: int
    recorded_at: datetime


@dataclass(frozen=True)
class Request:
    """One command's envelope: who, the idempotency key and the expected version."""

    actor: Actor
    idempotency_key: str | None = None
    expected_version: int | None = None

    def __post_init__(self) -> None:
        key = self.idempotency_key
        if key is not None:
            require(
                0 < len(key) <= MAX_KEY_LENGTH and key.isprintable(),
                "IDEMPOTENCY_KEY",
                f"an idempotency key is 1–{MAX_KEY_LENGTH} printable characters",
            )


def command_digest(
    name: str,
    participant: UUID,
    payload: Any,
    expected_version: int | None,
    key: bytes | None = None,
) -> str:
    """A digest of the command and its input, to tell a retry from a reused key.

    Keyed (HMAC-SHA-256) when the events are encrypted: an unkeyed hash of a small input such as
    a consent would let anyone with the log table guess the date of birth it hides.
    """
    canonical = json.dumps(
        {"command": name, "participant": str(participant), "input": payload,
         "expected_version": expected_version},
        sort_keys=True, separators=(",", ":"), default=str,
    ).encode()  # fmt: skip
    if key is not None:
        return hmac.new(key, canonical, hashlib.sha256).hexdigest()
    return hashlib.sha256(canonical).hexdigest()
