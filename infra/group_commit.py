"""Group commit: concurrent writers share one transaction, each still all or nothing.

Every command's events are inserted under an EXCLUSIVE lock on the events table (so positions
follow commit order) and each transaction pays one WAL flush at commit: under load, commands
queue for that lock one transaction at a time. Here a writer that finds no transaction in
progress leads: it takes every request queued so far (its own first) and runs them in one
transaction, each in a savepoint of its own, so that a request that fails (a concurrent write
to the same participant, say) is rolled back alone and the others commit. Writers that arrive
while a batch runs queue for the next one, which the first of them leads once the batch has
committed: the window is the length of the transaction before, and a writer alone never waits.
Each writer returns, or raises, only after the transaction holding its request has ended: an
answer is never given for a request that might still roll back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

R = TypeVar("R")  # a request
A = TypeVar("A")  # its answer

MAX_BATCH = 64


class Pending(Generic[R, A]):
    """One queued request: what to write, then its answer or its error."""

    def __init__(self, request: R) -> None:
        self.request = request
        self.answer: A | None = None
        self.error: BaseException | None = None
        self.lead = False  # handed the lead of the next batch
        self.done = threading.Event()

    def result(self) -> A:
        if self.error is not None:
            raise self.error
        assert self.answer is not None
        return self.answer


Batch = Callable[[Sequence[Pending[R, A]]], None]


class GroupCommit(Generic[R, A]):
    """Runs ``write(batch)`` for batches of concurrent requests; ``write`` sets each pending
    request's answer or error (and raises for what fails them all)."""

    def __init__(self, write: Batch[R, A], max_batch: int = MAX_BATCH) -> None:
        self._write = write
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[Pending[R, A]] = []
        self._running = False
        self.batches = 0  # how many transactions, and how many requests they held
        self.requests = 0

    def submit(self, request: R) -> A:
        pending: Pending[R, A] = Pending(request)
        with self._lock:
            self._queue.append(pending)
            lead = not self._running
            self._running = True
        if not lead:
            pending.done.wait()
            if not pending.lead:
                return pending.result()
        self._run_batch()
        return pending.result()

    def _run_batch(self) -> None:
        with self._lock:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
        try:
            self._write(batch)
        except BaseException as error:
            for pending in batch:
                if pending.error is None:
                    pending.error = error
                    pending.answer = None
        finally:
            with self._lock:
                self.batches += 1
                self.requests += len(batch)
                if self._queue:
                    self._queue[0].lead = True
                    self._queue[0].done.set()
                else:
                    self._running = False
            for pending in batch:
                pending.done.set()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"batches": self.batches, "requests": self.requests}
