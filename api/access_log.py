"""Who read which participants: every answer with participant-level data is logged first.

``record_read`` appends one row per answered query or subscription push before the data leaves
the service; when the row cannot be written the answer is refused (SERVICE_UNAVAILABLE), since a
trial may not disclose data it has not logged. Refused reads (FORBIDDEN, BAD_INPUT) disclose
nothing and append nothing; an answer that finds no participant is still logged, with no ids.
``studySummary`` (counts only) and mutations (ids and positions only) are not logged.
``readAccessLog`` lists the rows to AUDITORs, and is logged itself.

Subscription pushes are logged through ``PushLog``: the rows of the pushes that are ready
together (one change pushed to many subscribers) are appended in one INSERT, each push waiting
for that commit before it is sent; when the INSERT fails, every one of those pushes is withheld.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import Enum
from typing import Any, cast
from uuid import UUID

import strawberry
from eventsourcing.persistence import PersistenceError
from strawberry.scalars import JSON

from api.auth import Principal
from api.context import Info
from api.inputs import parse_participant_id
from api.threads import blocking
from api.types import view_fields
from domain.errors import BadInput, TrialError
from domain.vocabulary import Role
from infra.access_log import LoggedRead, ReadRow
from infra.bootstrap import Service
from projections.safety_ledger import SafetyLedgerView

log = logging.getLogger("trial.api.access_log")

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

# The operations logged, by the name of the query or subscription that disclosed the data.
PARTICIPANT = "participant"
PARTICIPANT_BY_SUBJECT = "participantBySubject"
PARTICIPANTS = "participants"
SAFETY_LEDGER = "safetyLedger"
PARTICIPANT_CHANGED = "participantChanged"
SAFETY_LEDGER_CHANGED = "safetyLedgerChanged"
AUDIT_TRAIL = "auditTrail"
READ_ACCESS_LOG = "readAccessLog"


class ReadNotLogged(TrialError):
    """The read could not be written to the access log, so its answer is withheld."""

    code = "SERVICE_UNAVAILABLE"


def record_read(
    service: Service,
    principal: Principal,
    operation: str,
    participant_ids: Iterable[UUID],
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Log that ``principal`` was answered ``operation`` with these participants' data.

    Call it after reading and before returning; it raises ReadNotLogged when the row cannot be
    written. ``detail`` holds the arguments (asOf, atVersion, filters; None values dropped) and
    ``pii``: whether the caller's role is served PII unmasked. Blocking: call it from a worker
    thread.
    """
    row = read_row(principal, operation, participant_ids, detail)
    try:
        service.access_log.append_many([row])
    except PersistenceError as error:
        log.error("read of %s by %s not logged: %s", operation, principal.user_id, error)
        raise _not_logged() from error


def read_row(
    principal: Principal,
    operation: str,
    participant_ids: Iterable[UUID],
    detail: Mapping[str, Any] | None = None,
) -> ReadRow:
    """The row that logs ``record_read``'s arguments."""
    values = {key: _plain(value) for key, value in (detail or {}).items() if value is not None}
    values["pii"] = principal.sees_pii
    return ReadRow(principal.actor, operation, tuple(participant_ids), values)


def _not_logged() -> ReadNotLogged:
    return ReadNotLogged(
        "READ_LOG", "the read could not be recorded in the access log, so it is not served"
    )


def _refusal(error: Exception) -> Exception:
    """What a push whose row was not written raises: ReadNotLogged for a refused INSERT."""
    if not isinstance(error, PersistenceError):
        return error  # e.g. DatabaseUnavailable, as record_read would raise it
    refusal = _not_logged()
    refusal.__cause__ = error
    return refusal


class PushLog:
    """``record_read`` for subscription pushes, in the event loop: one INSERT per round of pushes.

    ``record`` returns once the push's row is committed. The rows recorded while an INSERT is
    in flight (or in the same turn of the event loop) go in the next INSERT together.
    """

    def __init__(self, service: Service) -> None:
        self.service = service
        self.inserts = 0  # how many INSERTs were sent
        self._pending: list[tuple[ReadRow, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(
        self,
        principal: Principal,
        operation: str,
        participant_ids: Iterable[UUID],
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Log the push; raises ReadNotLogged when its row cannot be written."""
        committed = asyncio.get_running_loop().create_future()
        self._pending.append((read_row(principal, operation, participant_ids, detail), committed))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="trial-push-log")
        await committed

    async def _write(self) -> None:
        while self._pending:
            await asyncio.sleep(0)  # the pushes woken with this one add their rows first
            batch, self._pending = self._pending, []
            waiting = [committed for _, committed in batch]
            self.inserts += 1
            try:
                await blocking(self.service.access_log.append_many, [row for row, _ in batch])
            except Exception as error:
                log.error("%d subscription pushes not logged: %s", len(batch), error)
                for committed in waiting:
                    if not committed.done():
                        committed.set_exception(_refusal(error))
            else:
                for committed in waiting:
                    if not committed.done():
                        committed.set_result(None)
            finally:
                for committed in waiting:
                    committed.cancel()  # only those still pending: this task was cancelled


def ledger_participants(view: SafetyLedgerView) -> list[UUID]:
    """The participants whose adverse events a safety ledger lists, in its order."""
    return list(dict.fromkeys(entry.participant_id for entry in view.entries))


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return value


@strawberry.type
class ReadAccess:
    """One answer that disclosed participant-level data: who, when, which operation."""

    id: int
    read_at: datetime
    actor: str
    actor_role: Role
    actor_site: str | None
    operation: str
    participant_ids: list[strawberry.ID]
    detail: JSON

    @classmethod
    def of(cls, row: LoggedRead) -> ReadAccess:
        return cls(**view_fields(
            row,
            actor_role=Role(row.actor_role),
            participant_ids=[strawberry.ID(str(pid)) for pid in row.participant_ids],
            detail=cast(JSON, row.detail),
        ))  # fmt: skip


@strawberry.type
class ReadAccessPage:
    entries: list[ReadAccess]
    next_after: int | None


def read_access_page(
    service: Service,
    principal: Principal,
    after: int | None,
    limit: int,
    participant_id: UUID | None,
) -> ReadAccessPage:
    """AUDITOR only: a page of the log, then this read appended to it."""
    principal.require_role(Role.AUDITOR)
    if not 1 <= limit <= MAX_LIMIT:
        raise BadInput("LIMIT", f"limit {limit} is not between 1 and {MAX_LIMIT}")
    if after is not None and after < 0:
        raise BadInput("AFTER", f"after {after} is negative")
    rows = service.access_log.page(after=after, limit=limit, participant_id=participant_id)
    detail = {"after": after, "limit": limit, "participantId": participant_id}
    record_read(service, principal, READ_ACCESS_LOG, [], detail)
    entries = [ReadAccess.of(row) for row in rows]
    next_after = entries[-1].id if len(entries) == limit else None
    return ReadAccessPage(entries=entries, next_after=next_after)


@strawberry.type
class AccessLogQuery:
    @strawberry.field
    async def read_access_log(
        self,
        info: Info,
        after: int | None = None,
        limit: int | None = DEFAULT_LIMIT,
        participant_id: strawberry.ID | None = None,
    ) -> ReadAccessPage:
        """AUDITOR only: who read which participants' data, oldest first."""
        principal = info.context.principal
        pid = None if participant_id is None else parse_participant_id(participant_id)
        size = DEFAULT_LIMIT if limit is None else limit
        return await blocking(read_access_page, info.context.service, principal, after, size, pid)
