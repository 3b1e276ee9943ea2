"""Read model: each participant as the API serves it, with every score and outcome."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from domain.participant import Participant
from domain.views import ParticipantView, participant_at, participant_view
from projections.base import ParticipantProjection
from projections.codec import from_document, to_document
from projections.store import Docs

KEY = "participant"
# Stored views are re-read at the caller's reference instant (participant_at): the overdue
# flag of an SAE depends on when it is read, not on when the event was projected.
_STORED_AT = datetime(1970, 1, 1, tzinfo=UTC)


class ParticipantStatus(ParticipantProjection):
    name = "participant_status"

    @staticmethod
    def rows(participant: Participant) -> Docs:
        return {KEY: to_document(participant_view(participant, _STORED_AT))}


def read_participant(document: dict[str, Any], reference: datetime) -> ParticipantView:
    """The stored view as it reads at ``reference``."""
    return participant_at(from_document(ParticipantView, document), reference)
