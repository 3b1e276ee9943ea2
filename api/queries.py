"""The contract's queries: current views from the read models, past ones from the events."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated
from uuid import UUID

import strawberry

from api import readside
from api.access_log import (
    PARTICIPANT,
    PARTICIPANT_BY_SUBJECT,
    PARTICIPANTS,
    SAFETY_LEDGER,
    ledger_participants,
    record_read,
)
from api.context import Info
from api.inputs import parse_participant_id
from api.safety import SafetyLedger
from api.threads import blocking
from api.types import ParticipantType, StudySummaryView
from domain.errors import EARLIEST, LATEST, BadInput, storable
from domain.participant import participant_id
from domain.vocabulary import ParticipantStatus

MinPosition = Annotated[
    int | None,
    strawberry.argument(
        description="A mutation result's position: wait until the read model includes it."
    ),
]


def check_as_of(as_of: datetime | None) -> None:
    """Refuse an asOf without a UTC offset or outside the calendar every record lies in."""
    if as_of is None:
        return
    if as_of.tzinfo is None:
        raise BadInput("AS_OF", "asOf needs a UTC offset")
    day = as_of.date()
    if not EARLIEST <= day <= LATEST:
        raise BadInput(
            "AS_OF", f"asOf {as_of.isoformat()} is outside {EARLIEST.year}–{LATEST.year}"
        )


def _participant(
    info: Info,
    pid: UUID,
    operation: str,
    asked: Mapping[str, object],
    *,
    as_of: datetime | None = None,
    at_version: int | None = None,
) -> ParticipantType | None:
    """The participant now, after ``at_version`` events or as of an instant; the read logged
    under ``operation`` with what the caller ``asked`` for."""
    principal = info.context.principal
    check_as_of(as_of)
    if at_version is not None and at_version < 0:
        raise BadInput("AT_VERSION", f"atVersion {at_version} is negative")
    now = info.context.now()
    if as_of is None and at_version is None:
        view = readside.current_participant(info.context.service, principal, pid, now)
    else:
        view = readside.participant_at(
            info.context.service, principal, pid, as_of=as_of, at_version=at_version
        )
    disclosed = [] if view is None else [view.id]
    record_read(info.context.service, principal, operation, disclosed, asked)
    if view is None:
        return None
    return ParticipantType.of(view, pii=principal.sees_pii, read_at=as_of or now)


def _participants(
    info: Info, site: str | None, status: ParticipantStatus | None, min_position: int | None
) -> list[ParticipantType]:
    principal, now = info.context.principal, info.context.now()
    views = readside.participants(
        info.context.service, principal, site=site, status=status, min_position=min_position
    )
    asked = {"site": site, "status": status, "minPosition": min_position}
    record_read(info.context.service, principal, PARTICIPANTS, [v.id for v in views], asked)
    return [ParticipantType.of(view, pii=principal.sees_pii, read_at=now) for view in views]


def _summary(info: Info, as_of: datetime | None, min_position: int | None) -> StudySummaryView:
    check_as_of(as_of)
    return readside.summary(
        info.context.service, info.context.principal, as_of=as_of, min_position=min_position
    )


def _ledger(
    info: Info, as_of: datetime | None, serious_only: bool | None, min_position: int | None
) -> SafetyLedger:
    check_as_of(as_of)
    service, principal = info.context.service, info.context.principal
    view = readside.ledger(
        service, principal, info.context.now(),
        as_of=as_of, serious_only=bool(serious_only), min_position=min_position,
    )  # fmt: skip
    asked = {"asOf": as_of, "seriousOnly": serious_only, "minPosition": min_position}
    record_read(service, principal, SAFETY_LEDGER, ledger_participants(view), asked)
    return SafetyLedger.of(view)


@strawberry.type
class Query:
    @strawberry.field
    async def participant(
        self,
        info: Info,
        id: strawberry.ID,
        as_of: datetime | None = None,
        at_version: int | None = None,
    ) -> ParticipantType | None:
        pid = parse_participant_id(id)
        asked = {"id": pid, "asOf": as_of, "atVersion": at_version}
        return await blocking(
            _participant, info, pid, PARTICIPANT, asked, as_of=as_of, at_version=at_version
        )

    @strawberry.field
    async def participant_by_subject(
        self, info: Info, subject_id: str, as_of: datetime | None = None
    ) -> ParticipantType | None:
        storable(subject_id, "SUBJECT_ID", "subject id")
        pid = participant_id(subject_id.strip())
        asked = {"subjectId": subject_id, "asOf": as_of}
        return await blocking(_participant, info, pid, PARTICIPANT_BY_SUBJECT, asked, as_of=as_of)

    @strawberry.field
    async def participants(
        self,
        info: Info,
        site: str | None = None,
        status: ParticipantStatus | None = None,
        min_position: MinPosition = None,
    ) -> list[ParticipantType]:
        return await blocking(_participants, info, site, status, min_position)

    @strawberry.field
    async def study_summary(
        self,
        info: Info,
        as_of: datetime | None = None,
        min_position: MinPosition = None,
    ) -> StudySummaryView:
        return await blocking(_summary, info, as_of, min_position)

    @strawberry.field
    async def safety_ledger(
        self,
        info: Info,
        as_of: datetime | None = None,
        serious_only: bool | None = None,
        min_position: MinPosition = None,
    ) -> SafetyLedger:
        return await blocking(_ledger, info, as_of, serious_only, min_position)
