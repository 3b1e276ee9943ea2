"""Read model: each participant as the API serves it, with every score and outcome."""

from __future__ import annotations

from typing import Any

from domain.codec import decode, dumps, encode
from domain.participant import Participant
from domain.views import ParticipantView, participant_view
from projections.base import ParticipantProjection
from projections.store import Docs

KEY = "participant"


class ParticipantStatusProjection(ParticipantProjection):
    name = "participant_status"

    @staticmethod
    def rows(participant: Participant) -> Docs:
        return {KEY: encode(participant_view(participant))}

    @classmethod
    def texts(cls, participant: Participant) -> dict[str, str]:
        return {KEY: dumps(participant_view(participant))}


def read_participant(document: dict[str, Any]) -> ParticipantView:
    """The stored view (documents of earlier versions included)."""
    return decode(ParticipantView, document)
