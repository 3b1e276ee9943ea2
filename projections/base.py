"""What every read model shares: its documents as a pure function of a participant's state.

A read model's projection is a pure ``rows(participant) -> documents`` over the participant's
state after an event; the same function serves a rebuild and an ``asOf`` view, and the live
projector (``projections.live``) derives documents equal to it.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

from domain.participant import Participant
from projections.store import Docs, json_text


class ParticipantProjection:
    """A read model's documents for one participant."""

    name: ClassVar[str]

    @staticmethod
    @abstractmethod
    def rows(participant: Participant) -> Docs:
        """The participant's documents in this read model."""

    @classmethod
    def texts(cls, participant: Participant) -> dict[str, str]:
        """The participant's documents as JSON text, as a rebuild writes them (a projection
        may write them without building their JSON values first)."""
        return {key: json_text(doc) for key, doc in cls.rows(participant).items()}
