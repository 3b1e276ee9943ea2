"""Participants rebuilt from the event sequence up to a position: for asOf views and rebuilds."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

from domain.application import TrialApplication
from domain.participant import Participant

PAGE = 5_000


def events_until(app: TrialApplication, stop: int, after: int = 0) -> Iterator[Participant.Event]:
    """Every participant event with a position in (``after``, ``stop``], in order."""
    start = after
    while start < stop:
        page = app.recorder.select_notifications(
            start=start, limit=PAGE, stop=stop, inclusive_of_start=False
        )
        if not page:
            return
        for notification in page:
            event = app.mapper.to_domain_event(notification)
            assert isinstance(event, Participant.Event)
            yield event
        start = page[-1].id


def fold(
    events: Iterator[Participant.Event], states: dict[UUID, Participant] | None = None
) -> tuple[dict[UUID, Participant], set[UUID]]:
    """Apply ``events`` to the participants' states; return them and the ids that changed."""
    states = {} if states is None else states
    touched: set[UUID] = set()
    for event in events:
        participant = event.mutate(states.get(event.originator_id))
        assert participant is not None
        states[event.originator_id] = participant
        touched.add(event.originator_id)
    return states, touched


def participants_until(app: TrialApplication, stop: int) -> dict[UUID, Participant]:
    """Every participant as it stood after the event at position ``stop``."""
    states, _ = fold(events_until(app, stop))
    return states
