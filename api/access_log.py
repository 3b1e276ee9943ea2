"""Who read which participants: every answer with participant-level data is logged first.

``record_read`` appends one row per answered query or subscription push before the data leaves
the service; when the row cannot be written the answer is refused (SERVICE_UNAVAILABLE), since a
trial may not disclose data it has not logged. Refused reads (FORBIDDEN, BAD_INPUT) disclose
nothing and append nothing; an answer that finds no participant is still logged, with no ids.
``studySummary`` (counts only) and mutations (ids and positions only) are not logged.
``readAccessLog`` lists the rows to AUDITORs, and is logged itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import Any, cast
from uuid import UUID

import strawberry
from eventsourcing.persistence import PersistenceError
from strawberry.scalars import JSON

from api.auth import Principal
from api.context import Info
from api.enums import Role
from api.inputs import parse_participant_id
from api.threads import blocking
from domain.errors import BadInput, TrialError
from infra.access_log import ReadAccess as LoggedRead
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
    values = {key: _plain(value) for key, value in (detail or {}).items() if value is not None}
    values["pii"] = principal.sees_pii
    try:
        service.access_log.append(principal.actor, operation, participant_ids, values)
    except PersistenceError as error:
        log.error("read of %s by %s not logged: %s", operation, principal.user_id, error)
        raise ReadNotLogged(
            "READ_LOG", "the read could not be recorded in the access log, so it is not served"
        ) from error


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
        return cls(
            id=row.id,
            read_at=row.read_at.astimezone(UTC),
            actor=row.actor,
            actor_role=Role(row.actor_role),
            actor_site=row.actor_site,
            operation=row.operation,
            participant_ids=[strawberry.ID(str(pid)) for pid in row.participant_ids],
            detail=cast(JSON, row.detail),
        )


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
