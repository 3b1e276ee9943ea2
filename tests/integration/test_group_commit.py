"""Group commit on real PostgreSQL: concurrent commands on different participants share
transactions, a command that loses a race is rolled back alone, and the record stays whole:
versions without gaps, one log row per event, positions in commit order, the chain verified."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import cast
from uuid import UUID

import psycopg
import pytest
from psycopg.sql import SQL, Identifier

from domain.commands import CommandResult
from domain.errors import ConcurrencyConflict
from infra.audit import verify
from infra.bootstrap import Service
from infra.recorder import TrialRecorder
from tests.integration.stories import enrol, staff
from tests.unit import builders

pytestmark = pytest.mark.integration

WRITERS = 12
ROUNDS = 10


def report(service: Service, pid: UUID, n: int) -> CommandResult:
    return service.app.report_adverse_event(pid, builders.ae_report(f"AE-{n:03d}"), staff())


def in_threads(work: list[tuple[UUID, int]], service: Service) -> list[object]:
    """Each (participant, AE number) reported from its own thread, all released at once."""
    gate = threading.Barrier(len(work))
    answers: list[object] = [None] * len(work)

    def run(index: int) -> None:
        pid, n = work[index]
        gate.wait()
        try:
            answers[index] = report(service, pid, n)
        except Exception as error:
            answers[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


def test_concurrent_commands_share_transactions_and_each_is_recorded_once(
    quiet: Service,
) -> None:
    pids = [enrol(quiet.app, f"NJ01-{300 + w}") for w in range(WRITERS)]
    recorder = cast(TrialRecorder, quiet.app.recorder)
    before = recorder.group_commit.stats()

    answers: list[object] = []
    for round_ in range(ROUNDS):
        answers += in_threads([(pid, round_ + 1) for pid in pids], quiet)

    after = recorder.group_commit.stats()
    assert all(isinstance(a, CommandResult) for a in answers), answers
    results = cast(list[CommandResult], answers)
    assert after["requests"] - before["requests"] == WRITERS * ROUNDS
    assert after["batches"] - before["batches"] < WRITERS * ROUNDS  # some were shared
    assert len({r.position for r in results}) == len(results)
    for pid in pids:
        mine = sorted((r for r in results if r.participant_id == pid), key=lambda r: r.position)
        first = mine[0].version
        assert [r.version for r in mine] == list(range(first, first + ROUNDS))
        entries = quiet.app.event_log.log_entries(pid)
        assert [e.version for e in entries] == list(range(1, len(entries) + 1))
        # recorded times follow positions, as commit order
        assert [e.recorded_at for e in entries] == sorted(e.recorded_at for e in entries)
    assert verify(quiet.app).ok


def test_a_command_that_loses_its_race_in_a_shared_transaction_is_rolled_back_alone(
    quiet: Service,
) -> None:
    pids = [enrol(quiet.app, f"NJ01-{400 + w}") for w in range(4)]
    contested = pids[0]
    versions = {pid: quiet.app.event_log.log_entries(pid)[-1].version for pid in pids}

    # Eight writers on the contested participant, one on each other: the contested ones all
    # read the same version, so one of them wins and the others lose, in the same batches as
    # the writers on other participants.
    work = [(contested, 1 + n) for n in range(8)] + [(pid, 1) for pid in pids[1:]]
    recorder = cast(TrialRecorder, quiet.app.recorder)
    before = recorder.group_commit.stats()
    answers = in_threads(work, quiet)
    after = recorder.group_commit.stats()

    contested_answers = answers[:8]
    won = [a for a in contested_answers if isinstance(a, CommandResult)]
    lost = [a for a in contested_answers if isinstance(a, ConcurrencyConflict)]
    assert len(won) >= 1 and len(won) + len(lost) == 8, contested_answers
    assert all(isinstance(a, CommandResult) for a in answers[8:]), answers[8:]
    entries = quiet.app.event_log.log_entries(contested)
    assert len(entries) == versions[contested] + len(won)  # the losers recorded nothing
    participant = quiet.app.participant(contested)
    assert participant is not None
    assert len(participant.adverse_events) == len(won)
    for pid in pids[1:]:
        assert quiet.app.event_log.log_entries(pid)[-1].version == versions[pid] + 1
    assert verify(quiet.app).ok
    assert after["batches"] - before["batches"] < len(work)  # losers and winners shared some


def test_a_stale_command_among_other_participants_fails_alone_after_the_shared_insert(
    quiet: Service, database_url: str, schema: str
) -> None:
    """A batch on distinct participants is first written as one INSERT; when one of its commands
    read a version another transaction has since taken, that INSERT fails, and each command is
    then written alone: the stale one is refused, the others are recorded."""
    contested, *others = [enrol(quiet.app, f"NJ01-{500 + w}") for w in range(4)]
    before = {pid: quiet.app.event_log.log_entries(pid)[-1].version for pid in others}
    recorder = cast(TrialRecorder, quiet.app.recorder)
    group = recorder.group_commit
    batches = group.stats()["batches"]
    answers: dict[str, object] = {}

    def run(name: str, pid: UUID, n: int) -> None:
        try:
            answers[name] = report(quiet, pid, n)
        except Exception as error:
            answers[name] = error

    def until(condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 10
        while not condition():
            assert time.monotonic() < deadline, "the writers did not queue"
            time.sleep(0.01)

    # Another transaction holds the events table, so the first command's batch waits for it
    # and the next four queue into one batch, the contested one having read the same version.
    with psycopg.connect(database_url, autocommit=False) as blocker:
        blocker.execute(
            SQL("LOCK TABLE {}.{} IN EXCLUSIVE MODE").format(
                Identifier(schema), Identifier(recorder.events_table_name)
            )
        )
        first = threading.Thread(target=run, args=("first", contested, 1))
        first.start()
        until(lambda: group._running)
        rest = [threading.Thread(target=run, args=("stale", contested, 2))] + [
            threading.Thread(target=run, args=(f"other{i}", pid, 1)) for i, pid in enumerate(others)
        ]
        for thread in rest:
            thread.start()
        until(lambda: len(group._queue) == len(rest))
        blocker.rollback()
    for thread in [first, *rest]:
        thread.join(30)

    assert isinstance(answers["first"], CommandResult), answers
    assert isinstance(answers["stale"], ConcurrencyConflict), answers
    assert group.stats()["batches"] == batches + 2  # the first alone, then the four
    for i, pid in enumerate(others):
        assert isinstance(answers[f"other{i}"], CommandResult), answers
        assert quiet.app.event_log.log_entries(pid)[-1].version == before[pid] + 1
    participant = quiet.app.participant(contested)
    assert participant is not None and len(participant.adverse_events) == 1
    assert verify(quiet.app).ok
