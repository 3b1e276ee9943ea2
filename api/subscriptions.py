"""The contract's subscriptions: after each committed change, the read model's current value.

Pushes are driven by the projector's NOTIFY through the process's ``ReadModelHub``, so each is
sent after the projection committed, and carries what the matching query returns now, under the
same role and site rules (PII masked, ledger and summary limited to the caller's sites). Changes
that arrive while a push is being read or sent are coalesced into one re-read; a participant is
pushed once per version, the ledger and the summary only when their value differs from the one
the subscriber has (read when it subscribed, or pushed last).

A change to a participant is read once per process, not once per subscriber: every subscriber
whose latest news of the participant is that change is pushed the same read (``SharedReads``),
masked for its role, after its own site check.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncGenerator, Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, TypeVar, cast
from uuid import UUID
from weakref import WeakKeyDictionary, WeakSet

import strawberry

from api import readside
from api.access_log import (
    PARTICIPANT_CHANGED,
    SAFETY_LEDGER_CHANGED,
    PushLog,
    ledger_participants,
    record_read,
)
from api.auth import Principal
from api.context import Context, Info
from api.inputs import parse_participant_id
from api.notifications import Batch, Change, ReadModelHub
from api.push_once import share
from api.safety import SafetyLedger
from api.threads import blocking
from api.types import ParticipantType, StudySummaryView
from domain.errors import Forbidden
from domain.views import ParticipantView
from domain.vocabulary import Role
from infra.bootstrap import Service
from projections import participant_status, safety_ledger, study_summary

T = TypeVar("T")
V = TypeVar("V")

PARTICIPANTS = participant_status.ParticipantStatusProjection.name


def _hub(context: Context) -> ReadModelHub:
    if context.hub is None:
        raise RuntimeError("subscriptions are served by the app, which gives the context a hub")
    return context.hub


async def _pushes(
    context: Context, read: Callable[[Batch], Awaitable[list[T]]]
) -> AsyncGenerator[T, None]:
    """Each batch of changes from the hub, read into zero or more pushes."""
    async with _hub(context).subscription() as inbox:
        while True:
            batch = await inbox.take()
            for value in await read(batch):
                yield value


class SharedReads:
    """One blocking read per key for all the subscriptions of a process that ask for it.

    A key names a read and the change that prompted it: a read started after a change's
    notification arrived shows at least that change, so every subscriber whose latest news is
    that change may be pushed its result. The last ``size`` results are kept for subscribers
    that take their batch late; a read that failed is forgotten (the next asker reads again).
    """

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self.reads = 0  # how many reads were started
        self._results: OrderedDict[Hashable, asyncio.Future[Any]] = OrderedDict()

    async def get(self, key: Hashable, read: Callable[[], T]) -> T:
        # One subscriber leaving does not cancel the read the others wait for.
        return cast(T, await asyncio.shield(self.start(key, read)))

    def start(self, key: Hashable, read: Callable[[], Any]) -> asyncio.Future[Any]:
        """The read for ``key``, started now unless it was already."""
        result = self._results.get(key)
        if result is None:
            result = asyncio.ensure_future(blocking(read))
            result.add_done_callback(partial(self._forget_failure, key))
            self.reads += 1
            self._results[key] = result
            while len(self._results) > self.size:
                self._results.popitem(last=False)
        return result

    def _forget_failure(self, key: Hashable, result: asyncio.Future[Any]) -> None:
        if (result.cancelled() or result.exception()) and self._results.get(key) is result:
            del self._results[key]


class FanOut:
    """What the subscriptions served by one process (one hub) share: reads and log INSERTs.

    While anyone subscribes to participantChanged, a changed participant's read starts as soon
    as its notification arrives, before the subscribers are woken to ask for it."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.reads = SharedReads()
        self.log = PushLog(service)
        self.watchers: WeakSet[ParticipantPushes] = WeakSet()

    def prefetch(self, changes: Sequence[Change]) -> None:
        if not self.watchers:
            return
        for change in changes:
            if change.projection == PARTICIPANTS:
                self.reads.start(*SharedParticipant.reading(self.service, change))


_fan_outs: WeakKeyDictionary[ReadModelHub, FanOut] = WeakKeyDictionary()


def fan_out(hub: ReadModelHub, service: Service) -> FanOut:
    """The hub's shared reads and push log (made on first use)."""
    if hub not in _fan_outs:
        _fan_outs[hub] = FanOut(service)
        hub.listeners.append(_fan_outs[hub].prefetch)
    return _fan_outs[hub]


# ----- participantChanged -----


def _participant(context: Context, principal: Principal, pid: UUID) -> ParticipantType | None:
    now = context.now()
    view = readside.current_participant(context.service, principal, pid, now)
    return None if view is None else ParticipantType.of(view, pii=principal.sees_pii, read_at=now)


# Reads a participant for every subscriber at once; each subscriber's site check follows.
EVERY_SITE = Principal("participantChanged", Role.AUDITOR, None)


@dataclass(frozen=True)
class SharedParticipant:
    """One read of a participant, as each role may see it."""

    site: str
    with_pii: ParticipantType
    without_pii: ParticipantType

    @classmethod
    def reading(
        cls, service: Service, change: Change
    ) -> tuple[tuple[str, UUID, int], Callable[[], SharedParticipant | None]]:
        """The shared read of the participant ``change`` changed: its key, and the read."""
        key = (PARTICIPANTS, change.participant_id, change.position)
        return key, partial(cls.read, service, change.participant_id, change.position)

    @classmethod
    def read(cls, service: Service, pid: UUID, position: int) -> SharedParticipant | None:
        """The participant once the database read from holds the change at ``position`` (a
        hot standby applies it after the primary's NOTIFY)."""
        now = service.app.clock()
        view: ParticipantView | None = readside.current_participant(
            service, EVERY_SITE, pid, now, notified=position
        )
        if view is None:
            return None
        return cls(
            view.site,
            share(ParticipantType.of(view, pii=True, read_at=now)),
            share(ParticipantType.of(view, pii=False, read_at=now)),
        )

    def seen_by(self, principal: Principal) -> ParticipantType | None:
        if not principal.can_read(self.site):
            return None  # consented at a site the caller may not read
        return self.with_pii if principal.sees_pii else self.without_pii


class ParticipantPushes:
    """The participants a batch changed, as ``principal`` may see them, each version once."""

    def __init__(self, context: Context, principal: Principal, only: UUID | None) -> None:
        self.context = context
        self.principal = principal
        self.only = only
        self.pushed: dict[UUID, int] = {}  # the version last pushed of each participant

    def subscribe(self) -> None:
        """Check now that the caller may read ``only`` (FORBIDDEN if not); note its version."""
        self._fan_out().watchers.add(self)
        if self.only is not None:
            current = _participant(self.context, self.principal, self.only)
            if current is not None:
                self.pushed[self.only] = current.version

    async def __call__(self, batch: Batch) -> list[ParticipantType]:
        if batch.resync:
            current = await blocking(self._reread)
        else:
            seen = [await self._seen(change) for change in self._changed(batch)]
            current = [p for p in seen if p is not None]
        pushes = [p for p in current if self._new(p)]
        if pushes:
            await self._fan_out().log.record(
                self.principal, PARTICIPANT_CHANGED, [UUID(str(p.id)) for p in pushes],
                {"id": self.only},
            )  # fmt: skip
        return pushes

    def _reread(self) -> list[ParticipantType]:
        """After a reconnection: this subscriber's participants as they are now, read anew."""
        if self.only is not None:
            return [p for p in [self._read(self.only)] if p is not None]
        now = self.context.now()
        views = readside.participants(self.context.service, self.principal)
        return [ParticipantType.of(v, pii=self.principal.sees_pii, read_at=now) for v in views]

    def _changed(self, batch: Batch) -> list[Change]:
        """The latest change of each participant the batch changed that this subscriber sees."""
        latest: dict[UUID, Change] = {}
        for change in batch.changes:
            if (
                change.projection == PARTICIPANTS
                and self.principal.can_read(change.site)
                and self.only in (None, change.participant_id)
            ):
                seen = latest.get(change.participant_id)
                if seen is None or change.position > seen.position:
                    latest[change.participant_id] = change
        return list(latest.values())

    async def _seen(self, change: Change) -> ParticipantType | None:
        """The participant after ``change``, read once for every subscriber, as this one sees it."""
        key, read = SharedParticipant.reading(self.context.service, change)
        shared = await self._fan_out().reads.get(key, read)
        return None if shared is None else shared.seen_by(self.principal)

    def _fan_out(self) -> FanOut:
        return fan_out(_hub(self.context), self.context.service)

    def _read(self, pid: UUID) -> ParticipantType | None:
        try:
            return _participant(self.context, self.principal, pid)
        except Forbidden:
            return None  # consented at a site the caller may not read

    def _new(self, participant: ParticipantType) -> bool:
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
        read: Callable[[int | None], V],  # the view once the database holds a position
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
        self.last = self.read(None)

    async def __call__(self, batch: Batch) -> list[T]:
        return await blocking(self._read, batch)

    def _read(self, batch: Batch) -> list[T]:
        positions = [
            change.position
            for change in batch.changes
            if change.projection == self.projection and self.principal.can_read(change.site)
        ]
        if not batch.resync and not positions:
            return []
        # Once the database read from (a hot standby) has applied the change.
        view = self.read(max(positions, default=None))
        if view == self.last:
            return []
        self.last = view
        self.disclosed(view)
        return [self.present(view)]


async def _start(
    context: Context, pushes: ParticipantPushes | ViewPushes[Any, T]
) -> AsyncGenerator[Any, None]:
    """Subscribe (the access check and the starting value, now), then push each batch's news."""
    await blocking(pushes.subscribe)
    return _pushes(context, pushes)


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def participant_changed(
        self, info: Info, id: strawberry.ID | None = None
    ) -> AsyncGenerator[ParticipantType, None]:
        context = info.context
        only = None if id is None else parse_participant_id(id)
        # FORBIDDEN now for a participant of another site; one that does not exist yet is
        # pushed once it is consented, if the caller may read it then.
        return await _start(context, ParticipantPushes(context, context.principal, only))

    @strawberry.subscription
    async def safety_ledger_changed(self, info: Info) -> AsyncGenerator[SafetyLedger, None]:
        context, principal = info.context, info.context.principal
        pushes = ViewPushes(
            principal,
            safety_ledger.SafetyLedgerProjection.name,
            lambda position: readside.ledger(
                context.service, principal, context.now(), notified=position
            ),
            SafetyLedger.of,
            lambda view: record_read(
                context.service, principal, SAFETY_LEDGER_CHANGED, ledger_participants(view)
            ),
        )
        return await _start(context, pushes)

    @strawberry.subscription
    async def study_summary_changed(self, info: Info) -> AsyncGenerator[StudySummaryView, None]:
        context, principal = info.context, info.context.principal

        def read(position: int | None) -> StudySummaryView:
            return readside.summary(context.service, principal, notified=position)

        name = study_summary.StudySummaryProjection.name
        return await _start(context, ViewPushes(principal, name, read, lambda view: view))
