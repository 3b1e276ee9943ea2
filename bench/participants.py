"""The synthetic participants a scenario writes to: those infused, with AE-001 to update."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from domain.application import TrialApplication
from domain.commands import Actor, Request
from domain.inputs import AdverseEventUpdate
from domain.participant import participant_id
from domain.vocabulary import Role


@dataclass(frozen=True)
class Writable:
    pid: UUID
    site: str
    version: int

    @property
    def actor(self) -> Actor:
        return Actor(f"{self.site.lower()}-coordinator", Role.SITE_STAFF, self.site)


def writable(app: TrialApplication, count: int, first: int = 0) -> list[Writable]:
    """Of the synthetic subjects ``first`` … ``first + count - 1``, those with AE-001."""
    found = []
    for index in range(first, first + count):
        person = app.participant(participant_id(f"SY{index:06d}"))
        if person is not None and "AE-001" in person.adverse_events:
            found.append(Writable(person.id, person.site, person.version))
    return found


def update(n: int) -> AdverseEventUpdate:
    """The ``n``th follow-up of AE-001 (grades alternate, so every update is a change)."""
    return AdverseEventUpdate("AE-001", f"bench follow-up {n}", ctcae_grade=1 + n % 2)


def update_ae(app: TrialApplication, who: Writable, n: int) -> None:
    app.update_adverse_event(who.pid, update(n), Request(who.actor))


def update_ae_input(who: Writable, n: int) -> dict[str, Any]:
    return {
        "participantId": str(who.pid),
        "aeId": "AE-001",
        "reason": f"bench follow-up {n}",
        "ctcaeGrade": 1 + n % 2,
    }


def now() -> datetime:
    return datetime.now(UTC)
