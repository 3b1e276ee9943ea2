"""Read model: each participant as the API serves it, with every score and outcome."""

from __future__ import annotations

from typing import Any

from domain.participant import Participant
from domain.views import ParticipantView, participant_view
from projections.base import ParticipantProjection
from projections.codec import from_document, to_document
from projections.store import Docs

KEY = "participant"


class ParticipantStatus(ParticipantProjection):
    name = "participant_status"

    @staticmethod
    def rows(participant: Participant) -> Docs:
        return {KEY: to_document(participant_view(participant))}


def read_participant(document: dict[str, Any]) -> ParticipantView:
    """The stored view (documents of earlier versions included)."""
    return from_document(ParticipantView, document)
