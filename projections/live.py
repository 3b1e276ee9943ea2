"""The live projection: every read model from one reading of each event.

It reads each event once, folds it into the participant's cached state once, derives what every
read model stores from that state once per batch (``projections.derived``, incrementally: only
what the batch's events changed) and writes the documents in batches: when the stream goes
quiet for a moment, after MAX_DELAY_S under a steady flow, or when MAX_BATCH participants have
changed. Each batch writes every changed participant's documents in every read model, with each
read model's tracking position, in one transaction; a crash before a batch commits leaves the
positions where they were, so its events are projected again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import Any
from uuid import UUID

from eventsourcing.application import Repository
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from domain.participant import Participant
from projections.derived import Derived, adverse_event_of
from projections.store import ReadModelsWriter

CACHE_SIZE = 20_000
MAX_BATCH = 500  # participants
IDLE_S = 0.002
MAX_DELAY_S = 0.05

log = logging.getLogger("trial.projections")


class LiveProjection(Projection[ReadModelsWriter]):
    """Projects each participant event into every read model the writer holds, at once."""

    name = "read_models"
    topics: tuple[str, ...] = ()

    def __init__(self, view: ReadModelsWriter) -> None:
        super().__init__(view)
        self._states: OrderedDict[UUID, Cached] = OrderedDict()
        self._repository: Repository[UUID] | None = None
        self._attached = threading.Event()
        self._lock = threading.Lock()
        self._dirty: dict[UUID, Cached] = {}
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

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        if self.failure is not None:
            raise self.failure  # stops the runner; the projector's supervisor restarts it
        with self._lock:
            cached = self.advance(domain_event)
            now = time.monotonic()
            if not self._dirty:
                self._first_pending = now
            self._dirty[cached.participant.id] = cached
            self._tracking = tracking
            self._last_event = now
            if len(self._dirty) >= MAX_BATCH or now - self._first_pending >= MAX_DELAY_S:
                self._flush()
        self._wake.set()

    def _flush(self) -> None:
        """Write the changed participants' documents and the last tracking position (locked)."""
        if not self._dirty or self._tracking is None:
            return
        changed = [(cached.participant, cached.derive()) for cached in self._dirty.values()]
        self.view.apply_batch(
            self._tracking,
            lambda name: [(p.id, p.site, d.documents(name, p)) for p, d in changed],
        )
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
                            log.exception("the projector could not write a batch")
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

    def advance(self, event: Participant.Event) -> Cached:
        """The participant's state after ``event``, from the cache or from the event store."""
        pid = event.originator_id
        version = event.originator_version
        cached = self._states.pop(pid, None)
        if version == 1:
            cached = Cached(event.mutate(None))
        elif cached is not None and cached.participant.version == version - 1:
            cached.apply(event)
        else:
            self._attached.wait()
            assert self._repository is not None
            cached = Cached(self._repository.get(pid, version=version - 1))
            cached.apply(event)
        self._states[pid] = cached
        if len(self._states) > CACHE_SIZE:
            self._states.popitem(last=False)
        return cached


class Cached:
    """A participant's state, its documents' parts as last derived, and what changed since:
    the AEs reported or updated, or None when another event came (everything is derived)."""

    def __init__(self, participant: Participant | None) -> None:
        assert participant is not None
        self.participant = participant
        self.derived: Derived | None = None
        self.changed_aes: set[str] | None = None

    def apply(self, event: Participant.Event) -> None:
        mutated = event.mutate(self.participant)
        assert mutated is not None
        self.participant = mutated
        ae_id = adverse_event_of(event)
        if ae_id is None:
            self.changed_aes = None
        elif self.changed_aes is not None:
            self.changed_aes.add(ae_id)

    def derive(self) -> Derived:
        """The parts now, derived again only where events since the last derivation changed
        them."""
        if self.derived is None or self.changed_aes is None:
            self.derived = Derived.of(self.participant)
        elif self.derived.version != self.participant.version:
            self.derived = self.derived.with_adverse_events(self.participant, self.changed_aes)
        self.changed_aes = set()
        return self.derived
