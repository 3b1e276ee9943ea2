"""What every read model shares: fold a participant's events, then replace its documents.

A projection is a pure ``rows(participant) -> documents`` over the participant's state after
the event; the same function serves the live read model, a rebuild and an ``asOf`` view.
"""

from __future__ import annotations

import threading
from abc import abstractmethod
from collections import OrderedDict
from typing import Any
from uuid import UUID

from eventsourcing.application import Repository
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from domain.participant import Participant
from projections.store import Docs, ReadModelStore

CACHE_SIZE = 20_000


class ParticipantProjection(Projection[ReadModelStore]):
    """Projects each participant event by re-deriving that participant's documents."""

    name: str
    topics: tuple[str, ...] = ()

    def __init__(self, view: ReadModelStore) -> None:
        super().__init__(view)
        self._states: OrderedDict[UUID, Participant] = OrderedDict()
        self._repository: Repository[UUID] | None = None
        self._attached = threading.Event()

    def attach(self, repository: Repository[UUID]) -> None:
        """Give the projection the event store, to rebuild a participant it has not cached."""
        self._repository = repository
        self._attached.set()

    @staticmethod
    @abstractmethod
    def rows(participant: Participant) -> Docs:
        """The participant's documents in this read model."""

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        participant = self.advance(domain_event)
        self.view.apply(tracking, participant.id, participant.site, self.rows(participant))

    def advance(self, event: Participant.Event) -> Participant:
        """The participant's state after ``event``, from the cache or from the event store."""
        pid = event.originator_id
        version = event.originator_version
        state = self._states.pop(pid, None)
        if version == 1:
            state = None
        elif state is None or state.version != version - 1:
            self._attached.wait()
            assert self._repository is not None
            state = self._repository.get(pid, version=version - 1)
        participant = event.mutate(state)
        assert participant is not None
        self._states[pid] = participant
        if len(self._states) > CACHE_SIZE:
            self._states.popitem(last=False)
        return participant
