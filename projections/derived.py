"""A participant's documents in every read model, derived once from one state, per batch.

The live projector folds each event into the participant's state once and, when it writes a
batch, derives here what all three read models store. Adverse events reported or updated change
nothing but those AEs: their views are derived again, and the visits' endpoints, the
eligibility, the study-summary row and the other AEs are reused from the derivation before
(no rule reads an AE into a visit, and none reads a visit into an AE). Any other event derives
everything, once per batch however many events the participant had in it. Either way the
documents equal the read models' pure ``rows`` of the same state, which rebuilds and ``asOf``
views use; a test holds the two to that.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from domain.codec import encode
from domain.participant import Participant
from domain.views import adverse_event_view, assembled_view, visit_view
from domain.vocabulary import FOLLOW_UP_VISITS, Visit
from projections import participant_status, safety_ledger, study_summary
from projections.store import Docs

Json = dict[str, Any]
AE_EVENTS = (Participant.AdverseEventReported, Participant.AdverseEventUpdated)


def adverse_event_of(event: Participant.Event) -> str | None:
    """The AE an event reports or updates; None for every other event."""
    return event.ae_id if isinstance(event, AE_EVENTS) else None


@dataclass(frozen=True)
class Derived:
    """The encoded parts of one participant's documents after its ``version``-th event."""

    version: int
    visits: tuple[Json, ...]
    adverse_events: dict[str, Json]  # by AE id, in the order they were reported
    summary: Json

    @classmethod
    def of(cls, participant: Participant) -> Derived:
        """Every part derived from the participant's state."""
        return cls(
            version=participant.version,
            visits=tuple(
                encode(visit_view(participant, visit))
                for visit in (Visit.BASELINE, *FOLLOW_UP_VISITS)
                if visit in participant.visits
            ),
            adverse_events={
                ae_id: encode(adverse_event_view(participant, ae_id))
                for ae_id in participant.adverse_events
            },
            summary=study_summary.summary_row(participant),
        )

    def with_adverse_events(self, participant: Participant, ae_ids: Iterable[str]) -> Derived:
        """The parts after events since this derivation that only reported or updated the
        AEs ``ae_ids``: those derived again, the rest reused."""
        changed = set(ae_ids)
        return Derived(
            version=participant.version,
            visits=self.visits,
            adverse_events={  # in the order they were reported, as the participant has them
                ae_id: encode(adverse_event_view(participant, ae_id))
                if ae_id in changed
                else self.adverse_events[ae_id]
                for ae_id in participant.adverse_events
            },
            summary={**self.summary, "version": participant.version},
        )

    def documents(self, read_model: str, participant: Participant) -> Docs:
        """The participant's documents in ``read_model``: what its ``rows`` would give."""
        if read_model == participant_status.ParticipantStatusProjection.name:
            view = encode(assembled_view(participant, (), ()))
            view["visits"] = list(self.visits)
            view["adverse_events"] = list(self.adverse_events.values())
            return {participant_status.KEY: view}
        if read_model == study_summary.StudySummaryProjection.name:
            return {study_summary.KEY: self.summary}
        if read_model == safety_ledger.SafetyLedgerProjection.name:
            return safety_ledger.ledger_rows(participant, self.adverse_events)
        raise KeyError(read_model)
