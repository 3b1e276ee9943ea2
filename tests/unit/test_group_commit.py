"""Group commit: concurrent requests share a batch, each answered only after its batch ended,
with its own answer or error; a writer alone runs at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from infra.group_commit import GroupCommit, Pending


class Recorder:
    """A write that records its batches and can be held open, fail one request, or fail all."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = threading.Event()
        self.release.set()
        self.entered = threading.Event()
        self.committed: list[int] = []
        self.fail_all = False

    def write(self, batch: Sequence[Pending[int, str]]) -> None:
        self.batches.append([p.request for p in batch])
        self.entered.set()
        self.release.wait(5)
        for pending in batch:
            if pending.request < 0:
                pending.error = ValueError(f"request {pending.request} refused")
            else:
                pending.answer = f"done {pending.request}"
        if self.fail_all:
            raise ConnectionError("the commit failed")
        self.committed += [p.request for p in batch if p.error is None]


class Writers:
    """One thread per request, started in this order (so that they queue in it)."""

    def __init__(self, group: GroupCommit[int, str], requests: list[int]) -> None:
        self.answers: dict[int, object] = {}
        self.threads = [threading.Thread(target=self._run, args=(group, r)) for r in requests]
        for thread in self.threads:
            thread.start()
            time.sleep(0.01)

    def _run(self, group: GroupCommit[int, str], request: int) -> None:
        try:
            self.answers[request] = group.submit(request)
        except Exception as error:
            self.answers[request] = error

    def join(self) -> dict[int, object]:
        for thread in self.threads:
            thread.join(5)
        return self.answers


def test_a_writer_alone_runs_at_once_in_a_batch_of_its_own() -> None:
    recorder = Recorder()
    group = GroupCommit(recorder.write)

    assert group.submit(1) == "done 1"
    assert group.submit(2) == "done 2"
    assert recorder.batches == [[1], [2]]


def test_writers_arriving_during_a_batch_share_the_next_one() -> None:
    recorder = Recorder()
    recorder.release.clear()
    group = GroupCommit(recorder.write)

    pending = Writers(group, [1, 2, 3, 4])
    assert recorder.entered.wait(5)
    time.sleep(0.05)
    assert recorder.batches == [[1]]  # 2, 3 and 4 wait for the first batch to end
    recorder.release.set()
    answers = pending.join()

    assert recorder.batches == [[1], [2, 3, 4]]
    assert answers == {n: f"done {n}" for n in (1, 2, 3, 4)}
    assert group.stats() == {"batches": 2, "requests": 4}


def test_a_failed_request_fails_alone_and_the_others_are_answered() -> None:
    recorder = Recorder()
    recorder.release.clear()
    group = GroupCommit(recorder.write)

    pending = Writers(group, [1, 2, -3, 4])
    recorder.release.set()
    answers = pending.join()

    assert isinstance(answers[-3], ValueError)
    assert {n: answers[n] for n in (1, 2, 4)} == {n: f"done {n}" for n in (1, 2, 4)}
    assert sorted(recorder.committed) == [1, 2, 4]


def test_when_the_batch_fails_every_request_in_it_gets_that_error_and_no_answer() -> None:
    recorder = Recorder()
    recorder.release.clear()
    recorder.fail_all = True
    group = GroupCommit(recorder.write)

    pending = Writers(group, [1, 2, -3])
    recorder.release.set()
    answers = pending.join()

    assert isinstance(answers[1], ConnectionError) and isinstance(answers[2], ConnectionError)
    assert isinstance(answers[-3], ValueError)  # its own error, the first it met
    assert recorder.committed == []
    recorder.fail_all = False
    assert group.submit(5) == "done 5"  # the group runs on after a failed batch


def test_no_answer_is_given_before_the_batch_holding_it_has_ended() -> None:
    recorder = Recorder()
    recorder.release.clear()
    group = GroupCommit(recorder.write)

    pending = Writers(group, [1, 2])
    assert recorder.entered.wait(5)
    time.sleep(0.05)
    assert all(thread.is_alive() for thread in pending.threads)
    recorder.release.set()
    assert pending.join() == {1: "done 1", 2: "done 2"}


def test_batches_hold_at_most_max_batch_requests() -> None:
    recorder = Recorder()
    recorder.release.clear()
    group = GroupCommit(recorder.write, max_batch=2)

    pending = Writers(group, [1, 2, 3, 4, 5])
    recorder.release.set()
    answers = pending.join()

    assert recorder.batches == [[1], [2, 3], [4, 5]]
    assert answers == {n: f"done {n}" for n in (1, 2, 3, 4, 5)}


@pytest.mark.parametrize("writers", [8, 32])
def test_every_request_gets_its_own_answer_under_contention(writers: int) -> None:
    recorder = Recorder()
    group = GroupCommit(recorder.write)
    answers: dict[int, str] = {}

    def run(worker: int) -> None:
        for n in range(50):
            request = worker * 1000 + n
            answers[request] = group.submit(request)

    threads = [threading.Thread(target=run, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert answers == {r: f"done {r}" for r in answers} and len(answers) == writers * 50
    assert sorted(recorder.committed) == sorted(answers)
    assert sum(len(b) for b in recorder.batches) == writers * 50
