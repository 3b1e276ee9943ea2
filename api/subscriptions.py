"""The contract's subscriptions: after each committed change, the read model's current value.

Pushes are driven by the projector's NOTIFY through the process's ``ReadModelHub``, so each is
sent after the projection committed, and carries what the matching query returns now, under the
same role and site rules (PII masked, ledger and summary limited to the caller's sites). Changes
that arrive while a push is being read or sent are coalesced into one re-read; a participant is
pushed once per version, the ledger and the summary only when their value differs from the one
the subscriber has (read when it subscribed, or pushed last).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from functools import partial
from typing import Generic, TypeVar
from uuid import UUID

import strawberry

from api import readside
from api.access_log import (
    PARTICIPANT_CHANGED,
    SAFETY_LEDGER_CHANGED,
    ledger_participants,
    record_read,
)
from api.auth import Principal
from api.context import Context, Info
from api.inputs import parse_participant_id
from api.notifications import Batch, ReadModelHub
from api.safety import SafetyLedger
from api.study import StudySummary
from api.threads import blocking
from api.types import Participant
from domain.errors import Forbidden
from projections import participant_status, safety_ledger, study_summary

T = TypeVar("T")
V = TypeVar("V")

PARTICIPANTS = participant_status.ParticipantStatus.name


def _hub(context: Context) -> ReadModelHub:
    if context.hub is None:
        raise RuntimeError("subscriptions are served by the app, which gives the context a hub")
    return context.hub


async def _pushes(context: Context, read: Callable[[Batch], list[T]]) -> AsyncGenerator[T, None]:
    """Each batch of changes from the hub, read in a worker thread into zero or more pushes."""
    async with _hub(context).subscription() as inbox:
        while True:
            batch = await inbox.take()
            for value in await blocking(read, batch):
                yield value


# ----- participantChanged -----


def _participant(context: Context, principal: Principal, pid: UUID) -> Participant | None:
    view = readside.current_participant(context.service, principal, pid, context.now())
    return None if view is None else Participant.of(view, pii=principal.sees_pii)


class ParticipantPushes:
    """The participants a batch changed, as ``principal`` may see them, each version once."""

    def __init__(self, context: Context, principal: Principal, only: UUID | None) -> None:
        self.context = context
        self.principal = principal
        self.only = only
        self.pushed: dict[UUID, int] = {}  # the version last pushed of each participant

    def subscribe(self) -> None:
        """Check now that the caller may read ``only`` (FORBIDDEN if not); note its version."""
        if self.only is not None:
            current = _participant(self.context, self.principal, self.only)
            if current is not None:
                self.pushed[self.only] = current.version

    def __call__(self, batch: Batch) -> list[Participant]:
        if batch.resync and self.only is None:
            now = self.context.now()
            views = readside.participants(self.context.service, self.principal, now)
            current = [Participant.of(v, pii=self.principal.sees_pii) for v in views]
        else:
            current = [p for pid in self._changed(batch) if (p := self._read(pid)) is not None]
        pushes = [p for p in current if self._new(p)]
        if pushes:
            record_read(
                self.context.service, self.principal, PARTICIPANT_CHANGED,
                [UUID(str(p.id)) for p in pushes], {"id": self.only},
            )  # fmt: skip
        return pushes

    def _changed(self, batch: Batch) -> list[UUID]:
        if batch.resync:
            return [self.only] if self.only is not None else []
        changed = (
            change.participant_id
            for change in batch.changes
            if change.projection == PARTICIPANTS
            and self.principal.can_read(change.site)
            and self.only in (None, change.participant_id)
        )
        return list(dict.fromkeys(changed))

    def _read(self, pid: UUID) -> Participant | None:
        try:
            return _participant(self.context, self.principal, pid)
        except Forbidden:
            return None  # consented at a site the caller may not read

    def _new(self, participant: Participant) -> bool:
        pid = UUID(str(participant.id))
        if self.pushed.get(pid) == participant.version:
            return False
        self.pushed[pid] = participant.version
        return True


# ----- safetyLedgerChanged and studySummaryChanged -----


class ViewPushes(Generic[V, T]):
    """A whole view (ledger, summary), pushed when it differs from the one the caller has."""

    def __init__(
        self,
        principal: Principal,
        projection: str,
        read: Callable[[], V],
        present: Callable[[V], T],
        disclosed: Callable[[V], None] = lambda view: None,
    ) -> None:
        self.principal = principal
        self.projection = projection
        self.read = read
        self.present = present
        self.disclosed = disclosed  # logs a push before it is sent (participant-level views)
        self.last: V | None = None

    def subscribe(self) -> None:
        """Read the view the caller starts from (its own query would return it now)."""
        self.last = self.read()

    def __call__(self, batch: Batch) -> list[T]:
        touched = batch.resync or any(
            change.projection == self.projection and self.principal.can_read(change.site)
            for change in batch.changes
        )
        if not touched:
            return []
        view = self.read()
        if view == self.last:
            return []
        self.last = view
        self.disclosed(view)
        return [self.present(view)]


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def participant_changed(
        self, info: Info, id: strawberry.ID | None = None
    ) -> AsyncGenerator[Participant, None]:
        context = info.context
        only = None if id is None else parse_participant_id(id)
        pushes = ParticipantPushes(context, context.principal, only)
        # FORBIDDEN now for a participant of another site; one that does not exist yet is
        # pushed once it is consented, if the caller may read it then.
        await blocking(pushes.subscribe)
        return _pushes(context, pushes)

    @strawberry.subscription
    async def safety_ledger_changed(self, info: Info) -> AsyncGenerator[SafetyLedger, None]:
        context, principal = info.context, info.context.principal
        pushes = ViewPushes(
            principal,
            safety_ledger.SafetyLedger.name,
            lambda: readside.ledger(context.service, principal, context.now()),
            SafetyLedger.of,
            lambda view: record_read(
                context.service, principal, SAFETY_LEDGER_CHANGED, ledger_participants(view)
            ),
        )
        await blocking(pushes.subscribe)
        return _pushes(context, pushes)

    @strawberry.subscription
    async def study_summary_changed(self, info: Info) -> AsyncGenerator[StudySummary, None]:
        context, principal = info.context, info.context.principal
        pushes = ViewPushes(
            principal,
            study_summary.StudySummary.name,
            partial(readside.summary, context.service, principal),
            StudySummary.of,
        )
        await blocking(pushes.subscribe)
        return _pushes(context, pushes)
