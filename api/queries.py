"""The contract's queries: current views from the read models, past ones from the events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import strawberry

from api import readside
from api.context import Info
from api.enums import ParticipantStatus
from api.inputs import parse_participant_id
from api.safety import SafetyLedger
from api.study import StudySummary
from api.threads import blocking
from api.types import Participant
from domain.errors import BadInput
from domain.participant import participant_id
from domain.views import participant_view

MinPosition = Annotated[
    int | None,
    strawberry.argument(
        description="A mutation result's position: wait until the read model includes it."
    ),
]


def _instant(as_of: datetime | None) -> None:
    if as_of is not None and as_of.tzinfo is None:
        raise BadInput("AS_OF", "asOf needs a UTC offset")


def _participant(
    info: Info, pid: UUID, *, as_of: datetime | None = None, at_version: int | None = None
) -> Participant | None:
    principal = info.context.principal
    _instant(as_of)
    if at_version is not None and at_version < 0:
        raise BadInput("AT_VERSION", f"atVersion {at_version} is negative")
    now = info.context.now()
    if as_of is None and at_version is None:
        view = readside.current_participant(info.context.service, principal, pid, now)
    else:
        participant = info.context.app.participant(pid, at_version=at_version, as_of=as_of)
        if participant is None:
            return None
        principal.check_read(participant.site)
        view = participant_view(participant, as_of or now, as_of)
    return None if view is None else Participant.of(view, pii=principal.sees_pii)


def _participants(
    info: Info, site: str | None, status: ParticipantStatus | None, min_position: int | None
) -> list[Participant]:
    principal = info.context.principal
    views = readside.participants(
        info.context.service, principal, info.context.now(),
        site=site, status=status, min_position=min_position,
    )  # fmt: skip
    return [Participant.of(view, pii=principal.sees_pii) for view in views]


def _summary(info: Info, as_of: datetime | None, min_position: int | None) -> StudySummary:
    _instant(as_of)
    view = readside.summary(
        info.context.service, info.context.principal, as_of=as_of, min_position=min_position
    )
    return StudySummary.of(view)


def _ledger(
    info: Info, as_of: datetime | None, serious_only: bool | None, min_position: int | None
) -> SafetyLedger:
    _instant(as_of)
    view = readside.ledger(
        info.context.service, info.context.principal, info.context.now(),
        as_of=as_of, serious_only=bool(serious_only), min_position=min_position,
    )  # fmt: skip
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
    ) -> Participant | None:
        pid = parse_participant_id(id)
        return await blocking(_participant, info, pid, as_of=as_of, at_version=at_version)

    @strawberry.field
    async def participant_by_subject(
        self, info: Info, subject_id: str, as_of: datetime | None = None
    ) -> Participant | None:
        pid = participant_id(subject_id.strip())
        return await blocking(_participant, info, pid, as_of=as_of)

    @strawberry.field
    async def participants(
        self,
        info: Info,
        site: str | None = None,
        status: ParticipantStatus | None = None,
        min_position: MinPosition = None,
    ) -> list[Participant]:
        return await blocking(_participants, info, site, status, min_position)

    @strawberry.field
    async def study_summary(
        self,
        info: Info,
        as_of: datetime | None = None,
        min_position: MinPosition = None,
    ) -> StudySummary:
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
