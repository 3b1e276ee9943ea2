"""What every read model shares: fold a participant's events, then replace its documents.

A projection is a pure ``rows(participant) -> documents`` over the participant's state after
the event; the same function serves the live read model, a rebuild and an ``asOf`` view.

Events are applied to the participants' states as they arrive and the documents are written in
batches: when the stream goes quiet for a moment, after MAX_DELAY_S under a steady flow, or when
MAX_BATCH participants have changed. Each batch writes every changed participant's documents
once, with the tracking position of its last event, in one transaction; a crash before a batch
commits leaves the tracking position where it was, so its events are projected again.
"""

from __future__ import annotations

import logging
import threading
import time
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
MAX_BATCH = 500  # participants
IDLE_S = 0.002
MAX_DELAY_S = 0.05

log = logging.getLogger("trial.projections")


class ParticipantProjection(Projection[ReadModelStore]):
    """Projects each participant event by re-deriving that participant's documents."""

    name: str
    topics: tuple[str, ...] = ()

    def __init__(self, view: ReadModelStore) -> None:
        super().__init__(view)
        self._states: OrderedDict[UUID, Participant] = OrderedDict()
        self._repository: Repository[UUID] | None = None
        self._attached = threading.Event()
        self._lock = threading.Lock()
        self._dirty: dict[UUID, Participant] = {}
        self._tracking: Tracking | None = None
        self._first_pending = self._last_event = 0.0
        self._wake = threading.Event()
        self._closed = threading.Event()
        self.failure: BaseException | None = None
        self._flusher = threading.Thread(target=self._flush_when_idle, daemon=True)
        self._flusher.start()

    def attach(self, repository: Repository[UUID]) -> None:
        """Give the projection the event store, to rebuild a participant it has not cached."""
        self._repository = repository
        self._attached.set()

    @staticmethod
    @abstractmethod
    def rows(participant: Participant) -> Docs:
        """The participant's documents in this read model."""

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        if self.failure is not None:
            raise self.failure  # stops the runner; the projector's supervisor restarts it
        with self._lock:
            participant = self.advance(domain_event)
            now = time.monotonic()
            if not self._dirty:
                self._first_pending = now
            self._dirty[participant.id] = participant
            self._tracking = tracking
            self._last_event = now
            if len(self._dirty) >= MAX_BATCH or now - self._first_pending >= MAX_DELAY_S:
                self._flush()
        self._wake.set()

    def _flush(self) -> None:
        """Write the changed participants' documents and the last tracking position (locked)."""
        if not self._dirty or self._tracking is None:
            return
        changes = [(p.id, p.site, self.rows(p)) for p in self._dirty.values()]
        self.view.apply_batch(self._tracking, changes)
        self._dirty.clear()

    def _flush_when_idle(self) -> None:
        while not self._closed.is_set():
            self._wake.wait(0.1)
            self._wake.clear()
            while not self._closed.is_set():
                with self._lock:
                    if not self._dirty:
                        break
                    if time.monotonic() - self._last_event >= IDLE_S:
                        try:
                            self._flush()
                        except Exception as error:
                            log.exception("projection %s could not write a batch", self.name)
                            self.failure = error
                            return
                        break
                time.sleep(IDLE_S)

    def close(self) -> None:
        """Write what is pending (unless a write failed) and stop the batch writer."""
        self._closed.set()
        self._flusher.join()
        if self.failure is None:
            with self._lock:
                self._flush()

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
