"""The audit trail: every stored event with who recorded it, when, why, its payload and its link
in the hash chain, in position order, a page at a time.

Reads the event log joined with the events (the API's one other path to the event store besides
point-in-time views). A participant's site, which a MONITOR's pages are filtered by, is taken
from the participant_status read model, or, for a participant that model has not reached yet,
from its Consented event.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any, cast
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from psycopg.sql import SQL

from domain.application import TrialApplication
from domain.event_log import LogEntry
from infra.recorder import LOG_TABLE, TrialRecorder
from projections.participant_status import KEY, ParticipantStatusProjection
from projections.store import table_name

# Attributes every stored event has that say nothing the entry does not say already.
ENVELOPE = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic"})
# PII inside the Consented payload, hidden from roles without PII access.
PII_FIELDS = ("date_of_birth", "initials")
UNREADABLE = {"unreadable": "the stored event is missing or no longer decodes"}


@dataclass(frozen=True)
class TrailEntry:
    """An event's log row, and its decoded payload."""

    entry: LogEntry
    data: dict[str, Any]


@dataclass(frozen=True)
class TrailPage:
    entries: list[TrailEntry]
    next_after: int | None  # the last entry's position when more may follow, else None


def audit_trail(
    app: TrialApplication,
    *,
    after: int | None,
    limit: int,
    participant_ids: Collection[UUID] | None = None,
    pii: bool = True,
) -> TrailPage:
    """The entries after position ``after`` (exclusive), at most ``limit``, of the given
    participants only (None: all); Consented payloads without PII unless ``pii``."""
    recorder = cast(TrialRecorder, app.recorder)
    statement = SQL(
        "SELECT l.*, e.originator_id, e.topic, e.state FROM {log} AS l"
        " LEFT JOIN {events} AS e"
        " ON e.originator_id = l.participant_id AND e.originator_version = l.version"
        " WHERE l.position > %s"
    ).format(log=recorder.table(LOG_TABLE), events=recorder.table(recorder.events_table_name))
    params: list[Any] = [after or 0]
    if participant_ids is not None:
        statement += SQL(" AND l.participant_id = ANY(%s)")
        params.append(list(participant_ids))
    statement += SQL(" ORDER BY l.position LIMIT %s")
    params.append(limit + 1)
    with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
        curs.execute(statement, params)
        rows = curs.fetchall()
    entries = [_entry(app, row, pii) for row in rows[:limit]]
    more = len(rows) > limit
    return TrailPage(entries, entries[-1].entry.position if more else None)


def _entry(app: TrialApplication, row: Mapping[str, Any], pii: bool) -> TrailEntry:
    return TrailEntry(LogEntry.from_row(row), _payload(app, row, pii))


def _payload(app: TrialApplication, row: Mapping[str, Any], pii: bool) -> dict[str, Any]:
    """The decoded event's own attributes as JSON values."""
    if row["originator_id"] is None:
        return dict(UNREADABLE)
    stored = StoredEvent(row["participant_id"], row["version"], row["topic"], bytes(row["state"]))
    try:
        event = app.mapper.to_domain_event(stored)
    except Exception:  # corrupt or tampered bytes: verifyAuditChain reports where
        return dict(UNREADABLE)
    data = {key: _json(value) for key, value in vars(event).items() if key not in ENVELOPE}
    consent = data.get("consent")
    if not pii and isinstance(consent, dict):
        data["consent"] = {**consent, **dict.fromkeys(PII_FIELDS)}
    return data


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(key): _json(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_json(item) for item in value]
    return value


# ----- sites -----


def participant_sites(
    app: TrialApplication, participant_ids: Iterable[UUID] | None = None
) -> dict[UUID, str]:
    """The site of every participant (or of those given) that has consented and decodes."""
    recorder = cast(TrialRecorder, app.recorder)
    statement = SQL(
        "SELECT l.participant_id, rm.site FROM {log} AS l LEFT JOIN {rm} AS rm"
        " ON rm.participant_id = l.participant_id AND rm.key = %s WHERE l.version = 1"
    ).format(
        log=recorder.table(LOG_TABLE),
        rm=recorder.table(table_name(ParticipantStatusProjection.name)),
    )
    params: list[Any] = [KEY]
    if participant_ids is not None:
        statement += SQL(" AND l.participant_id = ANY(%s)")
        params.append(list(participant_ids))
    with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
        curs.execute(statement, params)
        rows = curs.fetchall()
    sites = {row["participant_id"]: row["site"] for row in rows if row["site"] is not None}
    unprojected = [row["participant_id"] for row in rows if row["site"] is None]
    if unprojected:
        sites.update(_consented_sites(app, unprojected))
    return sites


def _consented_sites(app: TrialApplication, participant_ids: list[UUID]) -> dict[UUID, str]:
    """Sites from the participants' Consented events (for those the read model lags)."""
    recorder = cast(TrialRecorder, app.recorder)
    statement = SQL(
        "SELECT originator_id, originator_version, topic, state FROM {} "
        " WHERE originator_id = ANY(%s) AND originator_version = 1"
    ).format(recorder.table(recorder.events_table_name))
    with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
        curs.execute(statement, (participant_ids,))
        rows = curs.fetchall()
    sites: dict[UUID, str] = {}
    for row in rows:
        stored = StoredEvent(row["originator_id"], 1, row["topic"], bytes(row["state"]))
        try:
            consented = app.mapper.to_domain_event(stored)
            sites[row["originator_id"]] = str(consented.consent["site"])  # type: ignore[attr-defined]
        except Exception:  # a stream whose first event does not decode has no known site
            continue
    return sites
