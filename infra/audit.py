"""Tamper evidence: verify every participant's hash chain, and seal the heads of the streams.

``verify`` recomputes each stream's chain from the stored rows (``infra.chain``) and decodes
every event. A stream is broken at the first version where: a version is missing, an events row
has no log row or the other way round, a row's position differs between the two, the recorded
previous hash is not the stored hash of the version before, the recomputed hash differs from the
stored one, or the event no longer decodes. Seals cover what a recomputed chain cannot: every
(version, hash) any seal recorded must still be in the stream, so deleting a stream's newest
events, or rewriting a stream and its hashes, is detected for everything recorded before the
last seal. Anyone who can write the database can also rewrite the seals: keep a copy of
``trial seal``'s output (or of the trial_seals table) where the database's users cannot write.

``seal`` records the current head of every stream in ``trial_seals`` under the next seal id,
unless no head moved since the last seal. ``trial seal`` seals once; ``trial serve`` seals every
TRIAL_SEAL_INTERVAL_S seconds (``PeriodicSealer``).
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any, cast
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from psycopg.sql import SQL

from domain.application import TrialApplication
from domain.event_log import LogEntry
from infra.chain import chain_hash
from infra.recorder import LOG_TABLE, SEALS_TABLE, TrialRecorder

log = logging.getLogger("trial.audit")

StoredRow = Mapping[str, Any]
Decode = Callable[[StoredEvent], object]
FETCH = 2_000


@dataclass(frozen=True)
class Verification:
    ok: bool
    streams_checked: int
    events_checked: int
    first_broken_participant_id: UUID | None = None
    first_broken_version: int | None = None
    problem: str | None = None  # what is wrong at the first broken version


@dataclass(frozen=True)
class Seal:
    id: int | None  # None: there is no stream to seal yet
    sealed_at: datetime | None
    streams: int
    recorded: bool  # False: no head moved since seal ``id``, nothing was written


@dataclass(frozen=True)
class _Break:
    version: int
    problem: str


def _recorder(app: TrialApplication) -> TrialRecorder:
    return cast(TrialRecorder, app.recorder)


# ----- verification -----


def verify(app: TrialApplication) -> Verification:
    """Recompute every stream's chain, check it against every seal; report the first break,
    streams ordered by the position of their first event."""
    recorder = _recorder(app)
    decode: Decode = app.mapper.to_domain_event
    seals = recorder.table(SEALS_TABLE)
    links = recorder.select_links + SQL(
        " ORDER BY coalesce(e.originator_id, l.participant_id),"
        " coalesce(e.originator_version, l.version)"
    )
    streams = events = 0
    first: tuple[float, UUID, _Break] | None = None
    with recorder.datastore.get_connection() as conn, conn.transaction():
        # One snapshot for the seals and the events, so that a write or a seal committed while
        # this runs is either wholly seen or not at all.
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        sealed = _sealed_heads(
            conn.execute(SQL("SELECT DISTINCT participant_id, version, hash FROM {}").format(seals))
        )
        with conn.cursor(name="trial_verify") as curs:
            curs.itersize = FETCH
            curs.execute(links)
            for participant_id, group in groupby(curs, key=_stream):
                rows = list(group)
                streams += 1
                events += len(rows)
                broken = _check_stream(rows, sealed.pop(participant_id, {}), decode)
                start = min(_positions(rows), default=math.inf)
                if broken is not None and (first is None or start < first[0]):
                    first = (start, participant_id, broken)
    for participant_id, heads in sorted(sealed.items()):  # sealed streams that are gone
        streams += 1
        if first is None:
            version = min(heads)
            first = (math.inf, participant_id, _Break(1, f"sealed version {version} is gone"))
    if first is None:
        return Verification(True, streams, events)
    _, participant_id, broken = first
    return Verification(False, streams, events, participant_id, broken.version, broken.problem)


def _sealed_heads(rows: Iterable[StoredRow]) -> dict[UUID, dict[int, set[str | None]]]:
    """Every (version, hash) any seal recorded, by stream."""
    sealed: dict[UUID, dict[int, set[str | None]]] = {}
    for row in rows:
        sealed.setdefault(row["participant_id"], {}).setdefault(row["version"], set()).add(
            row["hash"]
        )
    return sealed


def _stream(row: StoredRow) -> UUID:
    return cast(UUID, row["originator_id"] or row["participant_id"])


def _positions(rows: Iterable[StoredRow]) -> Iterator[int]:
    for row in rows:
        for column in ("notification_id", "position"):
            if row[column] is not None:
                yield int(row[column])


def _check_stream(
    rows: Sequence[StoredRow], sealed: Mapping[int, set[str | None]], decode: Decode
) -> _Break | None:
    """The first version at which the stream's rows, ordered by version, are broken."""
    stored: dict[int, str | None] = {}
    broken: _Break | None = None
    for expected, row in enumerate(rows, start=1):
        broken = _check_row(row, expected, stored.get(expected - 1), decode)
        if broken is not None:
            break
        stored[expected] = row["hash"]
    for version in sorted(sealed):
        if broken is not None and broken.version <= version:
            break
        if version not in stored:
            gone = len(stored) + 1
            return _Break(gone, f"version {gone} is gone; a seal recorded version {version}")
        if stored[version] not in sealed[version]:
            return _Break(version, "the hash differs from the one a seal recorded")
    return broken


def _check_row(
    row: StoredRow, expected: int, previous_hash: str | None, decode: Decode
) -> _Break | None:
    version = int(row["originator_version"] or row["version"])
    if version != expected:
        return _Break(expected, f"version {expected} is missing")
    if row["notification_id"] is None:
        return _Break(version, "the event is missing; its log row is there")
    if row["position"] is None:
        return _Break(version, "the event has no log row")
    if row["notification_id"] != row["position"]:
        return _Break(version, "the event's position differs from its log row's")
    if row["hash"] is None:
        return _Break(version, "the event has no hash")
    if row["previous_hash"] != previous_hash:
        return _Break(version, "its previous hash is not the hash of the version before")
    if chain_hash(LogEntry.from_row(row), row["topic"], bytes(row["state"])) != row["hash"]:
        return _Break(version, "its content does not match its hash")
    stored = StoredEvent(row["originator_id"], version, row["topic"], bytes(row["state"]))
    try:
        decode(stored)
    except Exception:  # any failure to decode: a wrong key, corrupt bytes, an unknown topic
        return _Break(version, "the stored event no longer decodes")
    return None


# ----- seals -----


def seal(app: TrialApplication) -> Seal:
    """Record the head (version, hash) of every stream, unless none moved since the last seal."""
    recorder = _recorder(app)
    seals = recorder.table(SEALS_TABLE)
    event_log = recorder.table(LOG_TABLE)
    with recorder.datastore.transaction(commit=True) as curs:
        curs.execute(SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(seals))  # one sealer at a time
        curs.execute(
            SQL(
                "SELECT DISTINCT ON (participant_id) participant_id, version, hash FROM {}"
                " ORDER BY participant_id, version DESC"
            ).format(event_log)
        )
        heads = {row["participant_id"]: (row["version"], row["hash"]) for row in curs.fetchall()}
        curs.execute(
            SQL(
                "SELECT id, sealed_at, participant_id, version, hash FROM {0}"
                " WHERE id = (SELECT max(id) FROM {0})"
            ).format(seals)
        )
        last = curs.fetchall()
        last_heads = {row["participant_id"]: (row["version"], row["hash"]) for row in last}
        last_id = last[0]["id"] if last else None
        if heads == last_heads:
            sealed_at = last[0]["sealed_at"] if last else None
            return Seal(last_id, sealed_at, len(heads), recorded=False)
        seal_id = (last_id or 0) + 1
        curs.execute(
            SQL(
                "INSERT INTO {} (id, sealed_at, participant_id, version, hash)"
                " SELECT %s::bigint, clock_timestamp(), *"
                " FROM unnest(%s::uuid[], %s::bigint[], %s::text[])"
                " RETURNING sealed_at"
            ).format(seals),
            (seal_id, list(heads), [v for v, _ in heads.values()], [h for _, h in heads.values()]),
        )
        row = curs.fetchone()
    assert row is not None
    return Seal(seal_id, row["sealed_at"], len(heads), recorded=True)


class PeriodicSealer:
    """Seals every ``interval`` seconds in a daemon thread until ``stop``."""

    def __init__(self, app: TrialApplication, interval: float) -> None:
        self.app = app
        self.interval = interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="trial-sealer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                done = seal(self.app)
                if done.recorded:
                    log.info("seal %s: the heads of %s streams", done.id, done.streams)
            except Exception:  # the database may be down: seal again at the next tick
                log.exception("sealing failed; retrying in %s s", self.interval)
            self._stopped.wait(self.interval)
