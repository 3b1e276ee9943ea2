"""The hash chain on real PostgreSQL: tampering made directly in SQL is detected and located.

NJ01-007, NJ01-008 and NJ01-009 each record the 16-event ``busy`` story, in that order:
v1 Consented, v2 Screened, v3 Infused, v4–v8 BASELINE…M6, v9 VisitCorrected (M2), v10–v11
AdverseEventReported, v12–v13 AdverseEventUpdated, v14–v15 M9 and M12, v16 Withdrawn.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from eventsourcing.cipher import AESCipher
from psycopg import sql
from psycopg.rows import dict_row

from bench.participants import update, writable
from bench.synthetic import NOW, TODAY, load
from domain.errors import ConcurrencyConflict
from domain.event_log import EventAudit, LogEntry
from infra.audit import PeriodicSealer, Verification, seal, verify
from infra.bootstrap import Service, bootstrap
from infra.chain import chain_hash
from infra.cli import main
from tests.conftest import TEST_JWT_SECRET, settings_for
from tests.integration.stories import busy, enrol, pid, staff, unprojected
from tests.unit import builders

pytestmark = pytest.mark.integration

STORY_LENGTH = 16
CONTENT = "its content does not match its hash"


@pytest.fixture
def service(database_url: str, schema: str, tmp_path: Path) -> Iterator[Service]:
    """The service without its projector: the chain does not depend on the read side."""
    built = unprojected(database_url, schema, tmp_path)
    yield built
    built.close()


@pytest.fixture
def three(service: Service) -> Service:
    for subject in ("NJ01-007", "NJ01-008", "NJ01-009"):
        busy(service.app, subject)
    return service


def execute(service: Service, statement: str, *params: Any) -> int:
    """Run ``statement`` in the service's schema as a separate session would; the rowcount."""
    schema = service.app.recorder.datastore.schema  # type: ignore[attr-defined]
    with psycopg.connect(service.database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        return conn.execute(statement.encode(), params).rowcount


def log_rows(service: Service, participant: UUID) -> list[dict[str, Any]]:
    schema = service.app.recorder.datastore.schema  # type: ignore[attr-defined]
    with psycopg.connect(service.database_url, row_factory=dict_row) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        return conn.execute(
            "SELECT l.*, e.topic, e.state FROM trial_event_log l JOIN trial_events e"
            " ON e.originator_id = l.participant_id AND e.originator_version = l.version"
            " WHERE l.participant_id = %s ORDER BY l.version",
            (participant,),
        ).fetchall()


def rechain(service: Service, participant: UUID) -> None:
    """Recompute a stream's hashes from what is stored now, as an attacker who knows the
    published algorithm would after changing an event."""
    previous = None
    for row in log_rows(service, participant):
        entry = replace(LogEntry.from_row(row), previous_hash=previous)
        hashed = chain_hash(entry, row["topic"], bytes(row["state"]))
        execute(
            service,
            "UPDATE trial_event_log SET hash = %s, previous_hash = %s WHERE position = %s",
            hashed, previous, row["position"],
        )  # fmt: skip
        previous = hashed


def broken_at(result: Verification) -> tuple[UUID | None, int | None]:
    return result.first_broken_participant_id, result.first_broken_version


# ----- a clean chain -----


def test_chain_verifies_with_every_stream_and_event_counted_when_nothing_was_changed(
    three: Service,
) -> None:
    enrol(three.app, "NJ02-003", until="ELIGIBLE")

    result = verify(three.app)

    assert result == Verification(ok=True, streams_checked=4, events_checked=3 * 16 + 2)


def test_event_hash_is_sha256_of_the_documented_document_when_recomputed_independently(
    service: Service,
) -> None:
    busy(service.app, "NJ01-007")

    rows = log_rows(service, pid("NJ01-007"))

    previous = None
    for row in rows:
        document = {
            "chain": "CHT101-chain/1", "position": row["position"],
            "participant_id": str(row["participant_id"]), "version": row["version"],
            "event_type": row["event_type"], "topic": row["topic"],
            "state": base64.b64encode(row["state"]).decode(),
            "recorded_at": row["recorded_at"].astimezone(UTC).isoformat(timespec="microseconds"),
            "actor": row["actor"], "actor_role": row["actor_role"],
            "actor_site": row["actor_site"], "reason": row["reason"],
            "idempotency_key": row["idempotency_key"], "command_digest": row["command_digest"],
            "previous_hash": previous,
        }  # fmt: skip
        canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
        assert row["previous_hash"] == previous
        assert row["hash"] == hashlib.sha256(canonical.encode()).hexdigest()
        previous = row["hash"]
    assert len(rows) == STORY_LENGTH


def test_events_of_one_stream_chain_to_each_other_when_one_save_holds_a_whole_history(
    service: Service,
) -> None:
    recorded = load(service.app, count=3, batch=3, extra_updates=2)

    result = verify(service.app)

    assert result == Verification(ok=True, streams_checked=3, events_checked=recorded)
    for participant in service.app.participant_ids():
        rows = log_rows(service, participant)
        assert len({row["recorded_at"] for row in rows}) == 1  # one transaction
        assert [row["previous_hash"] for row in rows] == [None] + [r["hash"] for r in rows[:-1]]


def test_each_stream_chains_to_its_own_head_when_one_save_appends_to_two_recorded_streams(
    service: Service,
) -> None:
    recorded = load(service.app, count=3)
    people = [service.app.participant(person.pid) for person in writable(service.app, 3)[:2]]
    heads = {}
    for person in people:
        assert person is not None
        heads[person.id] = log_rows(service, person.id)[-1]["hash"]
        for n in range(2):
            person.update_adverse_event(update(n), NOW, TODAY, builders.signature())
    audit = EventAudit("nurse-li", "SITE_STAFF", "NJ01", "follow-up", None, "digest")

    service.app.save(*people, audit=audit)

    assert verify(service.app) == Verification(True, 3, recorded + 4)
    for participant, head in heads.items():
        appended = log_rows(service, participant)[-2:]
        assert [row["previous_hash"] for row in appended] == [head, appended[0]["hash"]]


def test_chain_stays_whole_when_ten_writers_append_to_one_stream_at_once(
    service: Service,
) -> None:
    participant = enrol(service.app, "NJ01-007")

    def report(number: int) -> bool:
        try:
            service.app.report_adverse_event(
                participant, builders.ae_report(f"AE-{number:03d}"), staff()
            )
        except ConcurrencyConflict:
            return False
        return True

    with ThreadPoolExecutor(max_workers=10) as pool:
        accepted = sum(pool.map(report, range(1, 11)))

    assert accepted >= 1
    assert verify(service.app) == Verification(True, 1, 3 + accepted)


# ----- tampering in SQL -----

TAMPERING = {
    "an UPDATE of one event's state": (
        "UPDATE trial_events SET state = convert_to(replace(convert_from(state, 'UTF8'),"
        " 'CHT101-L0042', 'CHT101-L0043'), 'UTF8')"
        " WHERE originator_id = %s AND originator_version = 3",
        3,
        CONTENT,
    ),
    "a DELETE of a middle event": (
        "DELETE FROM trial_events WHERE originator_id = %s AND originator_version = 8",
        8,
        "the event is missing; its log row is there",
    ),
    "a DELETE of a middle event and its log row": (
        "WITH gone AS (DELETE FROM trial_events WHERE originator_id = %s"
        " AND originator_version = 8 RETURNING notification_id)"
        " DELETE FROM trial_event_log WHERE position IN (SELECT notification_id FROM gone)",
        8,
        "version 8 is missing",
    ),
    "an UPDATE of a log row's actor": (
        "UPDATE trial_event_log SET actor = 'mallory' WHERE participant_id = %s AND version = 12",
        12,
        CONTENT,
    ),
    "an UPDATE of a correction's reason": (
        "UPDATE trial_event_log SET reason = 'typo' WHERE participant_id = %s AND version = 9",
        9,
        CONTENT,
    ),
    "an UPDATE of a log row's recorded time": (
        "UPDATE trial_event_log SET recorded_at = recorded_at - interval '1 day'"
        " WHERE participant_id = %s AND version = 5",
        5,
        CONTENT,
    ),
    "a DELETE of an event's log row": (
        "DELETE FROM trial_event_log WHERE participant_id = %s AND version = 6",
        6,
        "the event has no log row",
    ),
    "an UPDATE of a log row's hash": (
        "UPDATE trial_event_log SET hash = md5(hash) WHERE participant_id = %s AND version = 2",
        2,
        CONTENT,
    ),
}


@pytest.mark.parametrize(
    ("statement", "version", "problem"), TAMPERING.values(), ids=list(TAMPERING)
)
def test_tampering_is_located_at_its_participant_and_version_when_made_in_sql(
    three: Service, statement: str, version: int, problem: str
) -> None:
    assert execute(three, statement, pid("NJ01-008")) == 1

    result = verify(three.app)

    assert not result.ok
    assert broken_at(result) == (pid("NJ01-008"), version)
    assert result.problem == problem
    assert result.events_checked >= 3 * STORY_LENGTH - 1


def test_first_broken_stream_is_the_one_recorded_first_when_two_are_broken(
    three: Service,
) -> None:
    execute(three, TAMPERING["an UPDATE of one event's state"][0], pid("NJ01-009"))
    execute(three, TAMPERING["an UPDATE of a log row's actor"][0], pid("NJ01-008"))

    result = verify(three.app)

    assert broken_at(result) == (pid("NJ01-008"), 12)


def test_newest_event_deletion_is_detected_when_a_seal_recorded_it(three: Service) -> None:
    seal(three.app)
    deleted = execute(
        three,
        "WITH gone AS (DELETE FROM trial_events WHERE originator_id = %s"
        " AND originator_version = 16 RETURNING originator_id)"
        " DELETE FROM trial_event_log WHERE participant_id IN (SELECT originator_id FROM gone)"
        " AND version = 16",
        pid("NJ01-008"),
    )

    result = verify(three.app)

    assert deleted == 1
    assert broken_at(result) == (pid("NJ01-008"), 16)
    assert result.problem == "version 16 is gone; a seal recorded version 16"


def test_newest_event_deletion_stays_detected_when_a_later_seal_records_the_shorter_stream(
    three: Service,
) -> None:
    seal(three.app)
    execute(three, "DELETE FROM trial_event_log WHERE participant_id = %s AND version = 16",
            pid("NJ01-009"))  # fmt: skip
    execute(three, "DELETE FROM trial_events WHERE originator_id = %s AND originator_version = 16",
            pid("NJ01-009"))  # fmt: skip

    later = seal(three.app)

    assert later.recorded
    assert broken_at(verify(three.app)) == (pid("NJ01-009"), 16)


def test_deleted_stream_is_detected_at_version_1_when_a_seal_recorded_it(three: Service) -> None:
    seal(three.app)
    execute(three, "DELETE FROM trial_event_log WHERE participant_id = %s", pid("NJ01-008"))
    execute(three, "DELETE FROM trial_events WHERE originator_id = %s", pid("NJ01-008"))

    result = verify(three.app)

    assert broken_at(result) == (pid("NJ01-008"), 1)
    assert (result.streams_checked, result.events_checked) == (3, 2 * STORY_LENGTH)


def test_newest_event_deletion_goes_unnoticed_when_no_seal_recorded_it(three: Service) -> None:
    execute(three, "DELETE FROM trial_event_log WHERE participant_id = %s AND version = 16",
            pid("NJ01-008"))  # fmt: skip
    execute(three, "DELETE FROM trial_events WHERE originator_id = %s AND originator_version = 16",
            pid("NJ01-008"))  # fmt: skip

    result = verify(three.app)

    # The guarantee's boundary: without a seal a truncated stream is still a valid chain.
    assert result.ok
    assert result.events_checked == 3 * STORY_LENGTH - 1


def test_rewritten_stream_is_detected_when_its_hashes_were_recomputed_after_a_seal(
    three: Service,
) -> None:
    seal(three.app)
    execute(three, TAMPERING["an UPDATE of one event's state"][0], pid("NJ01-008"))

    rechain(three, pid("NJ01-008"))

    # Every link is consistent again: only the seal of the head (version 16) tells.
    result = verify(three.app)
    assert broken_at(result) == (pid("NJ01-008"), 16)
    assert result.problem == "the hash differs from the one a seal recorded"


def test_event_is_broken_at_its_version_when_its_bytes_no_longer_decode(three: Service) -> None:
    execute(
        three,
        "UPDATE trial_events SET state = '\\x00ff'::bytea"
        " WHERE originator_id = %s AND originator_version = 7",
        pid("NJ01-008"),
    )

    rechain(three, pid("NJ01-008"))  # so that only the decoding can tell

    result = verify(three.app)
    assert broken_at(result) == (pid("NJ01-008"), 7)
    assert result.problem == "the stored event no longer decodes"


def test_chain_covers_the_ciphertext_when_payloads_are_encrypted(
    database_url: str, schema: str, tmp_path: Path
) -> None:
    settings = replace(settings_for(database_url, tmp_path), cipher_key=AESCipher.create_key(32))
    encrypted = bootstrap(settings, schema=schema)
    try:
        busy(encrypted.app, "NJ01-007")
        intact = verify(encrypted.app)
        flipped = execute(  # one bit of the ciphertext
            encrypted,
            "UPDATE trial_events SET state = set_byte(state, 40, get_byte(state, 40) # 1)"
            " WHERE originator_id = %s AND originator_version = 4",
            pid("NJ01-007"),
        )
        tampered = verify(encrypted.app)
    finally:
        encrypted.close()

    assert intact == Verification(ok=True, streams_checked=1, events_checked=STORY_LENGTH)
    assert flipped == 1
    assert broken_at(tampered) == (pid("NJ01-007"), 4)


def test_periodic_sealer_seals_the_heads_when_started(three: Service) -> None:
    sealer = PeriodicSealer(three.app, interval=0.05)

    sealer.start()
    try:
        deadline = time.monotonic() + 10
        while execute(three, "SELECT 1 FROM trial_seals") < 3:
            assert time.monotonic() < deadline, "no seal within 10 s"
            time.sleep(0.02)
    finally:
        sealer.stop()

    assert execute(three, "SELECT 1 FROM trial_seals WHERE id = 1 AND version = 16") == 3


# ----- seals and migration -----


def test_seal_records_nothing_when_no_stream_moved_since_the_last_one(three: Service) -> None:
    first = seal(three.app)

    again = seal(three.app)
    enrol(three.app, "NJ02-003", until="CONSENTED")
    moved = seal(three.app)

    assert (first.id, first.streams, first.recorded) == (1, 3, True)
    assert (again.id, again.recorded) == (1, False)
    assert (moved.id, moved.streams, moved.recorded) == (2, 4, True)


def test_history_is_chained_when_a_database_from_before_the_chain_starts(
    three: Service, database_url: str, schema: str, tmp_path: Path
) -> None:
    execute(three, "ALTER TABLE trial_event_log DROP COLUMN hash, DROP COLUMN previous_hash")

    upgraded = unprojected(database_url, schema, tmp_path)
    try:
        busy(upgraded.app, "NJ02-003")
        result = verify(upgraded.app)
    finally:
        upgraded.close()

    assert result == Verification(ok=True, streams_checked=4, events_checked=4 * STORY_LENGTH)


def test_event_without_hash_is_broken_not_adopted_when_the_database_was_chained(
    three: Service, database_url: str, schema: str, tmp_path: Path
) -> None:
    execute(three, "UPDATE trial_event_log SET hash = NULL WHERE participant_id = %s"
            " AND version = 4", pid("NJ01-007"))  # fmt: skip

    restarted = unprojected(database_url, schema, tmp_path)
    try:
        result = verify(restarted.app)
    finally:
        restarted.close()

    assert broken_at(result) == (pid("NJ01-007"), 4)


# ----- the command line -----


@pytest.fixture
def cli_env(
    service: Service, schema: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    monkeypatch.setenv("TRIAL_DATABASE_URL", service.database_url)
    monkeypatch.setenv("TRIAL_DATABASE_SCHEMA", schema)
    monkeypatch.setenv("TRIAL_DATA_DIR", str(tmp_path / "cli"))
    monkeypatch.setenv("TRIAL_JWT_SECRET", TEST_JWT_SECRET)
    monkeypatch.delenv("TRIAL_CIPHER_KEY", raising=False)
    yield


@pytest.mark.usefixtures("cli_env")
def test_trial_verify_exits_non_zero_naming_the_break_when_a_chain_is_broken(
    three: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify"]) == 0
    assert "ok: 3 streams, 48 events" in capsys.readouterr().out
    execute(three, TAMPERING["an UPDATE of one event's state"][0], pid("NJ01-009"))

    code = main(["verify"])

    assert code == 1
    assert f"BROKEN: participant {pid('NJ01-009')} at version 3" in capsys.readouterr().out


@pytest.mark.usefixtures("cli_env")
def test_trial_seal_records_the_heads_once_when_run_twice(
    three: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["seal"]) == 0
    assert main(["seal"]) == 0

    out = capsys.readouterr().out
    assert "seal 1 at " in out
    assert ": 3 streams" in out
    assert "no stream changed since seal 1" in out
    assert execute(three, "SELECT participant_id FROM trial_seals WHERE version = 16") == 3
