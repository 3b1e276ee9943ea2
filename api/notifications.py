"""One listening connection per API process, fanned out to every subscription it serves.

The projector's transaction sends ``pg_notify('trial_read_models', …)``, one per participant it
changed naming the read models it wrote, and PostgreSQL delivers it only on commit, so a change
reaches a subscriber after the read models hold it; a subscriber is woken once for all of them.
Every API process listens, so a change projected anywhere reaches subscribers everywhere.
Services on one database may use different schemas (test runs do): notifications of another
schema are ignored. When the connection drops, the hub reconnects with backoff and asks every
subscriber to re-read, since what was committed meanwhile was never delivered.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from projections.store import CHANNEL

log = logging.getLogger("trial.api.notifications")

Connect = Callable[[], Awaitable[psycopg.AsyncConnection[Any]]]

FIRST_RETRY_S = 0.1
LAST_RETRY_S = 5.0
INBOX_LIMIT = 1000  # past this many unread changes, a subscriber re-reads everything instead


@dataclass(frozen=True)
class Change:
    """One participant's documents in one read model were replaced at ``position``."""

    projection: str
    participant_id: UUID
    site: str
    position: int


@dataclass(frozen=True)
class Batch:
    """What a subscriber has not read yet: changes, or ``resync`` when some may be missing."""

    changes: tuple[Change, ...]
    resync: bool


class Inbox:
    """A subscriber's unread changes; the hub puts, the subscription takes them all at once."""

    def __init__(self, limit: int = INBOX_LIMIT) -> None:
        self.limit = limit
        self._changes: list[Change] = []
        self._resync = False
        self._ready = asyncio.Event()

    def put(self, change: Change) -> None:
        if self._resync:
            return  # a re-read of everything is due; it covers this change
        if len(self._changes) >= self.limit:
            self.resync()
            return
        self._changes.append(change)
        self._ready.set()

    def resync(self) -> None:
        self._changes.clear()
        self._resync = True
        self._ready.set()

    async def take(self) -> Batch:
        """Wait for something unread and return all of it."""
        await self._ready.wait()
        batch = Batch(tuple(self._changes), self._resync)
        self._changes.clear()
        self._resync = False
        self._ready.clear()
        return batch


def parse_changes(payload: str, schema: str) -> list[Change]:
    """The changes a notification announces (one participant, one or more read models): none
    if it is another schema's or malformed. A payload names its read models in
    ``projections``; one naming a single ``projection`` is read too."""
    try:
        data = json.loads(payload)
        if data.get("schema") != schema:
            return []
        names = data["projections"] if "projections" in data else [data["projection"]]
        if not isinstance(names, list) or not names:
            raise ValueError("no read model named")
        return [
            Change(
                projection=str(name),
                participant_id=UUID(str(data["participant_id"])),
                site=str(data["site"]),
                position=int(data["position"]),
            )
            for name in names
        ]
    except (ValueError, KeyError, TypeError, AttributeError):
        log.warning("ignored a malformed notification on %s: %.200s", CHANNEL, payload)
        return []


class ReadModelHub:
    """LISTENs on one connection for this process and puts each change in every inbox."""

    def __init__(self, database_url: str, schema: str, *, connect: Connect | None = None) -> None:
        self.database_url = database_url
        self.schema = schema
        self.connect: Connect = connect or self._connect
        self.connections = 0  # listening connections open now: at most one
        self.listens = 0  # how many times a connection started listening
        self._inboxes: set[Inbox] = set()
        # Called with each notification's changes before any inbox gets them.
        self.listeners: list[Callable[[list[Change]], None]] = []
        self._task: asyncio.Task[None] | None = None
        self._listening: asyncio.Event | None = None

    @property
    def subscribers(self) -> int:
        return len(self._inboxes)

    @property
    def listening(self) -> bool:
        return self._listening is not None and self._listening.is_set()

    async def start(self, wait_s: float = 5.0) -> None:
        """Start listening; wait up to ``wait_s`` for the connection (it retries after that)."""
        self._ensure_started()
        assert self._listening is not None
        with suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), wait_s)

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    @asynccontextmanager
    async def subscription(self) -> AsyncIterator[Inbox]:
        """An inbox that receives every change of this schema until the block ends."""
        self._ensure_started()
        inbox = Inbox()
        self._inboxes.add(inbox)
        try:
            yield inbox
        finally:
            self._inboxes.discard(inbox)

    def _ensure_started(self) -> None:
        if self._task is None or self._task.done():
            self._listening = asyncio.Event()
            self._task = asyncio.create_task(self._run(), name="trial-read-model-hub")

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(
            self.database_url,
            autocommit=True,
            application_name=f"trial-listen {self.schema}"[:63],
            # A closed connection ends the wait at once; TCP keepalives notice a silent peer.
            keepalives=1,
            keepalives_idle=30,
            keepalives_interval=10,
            keepalives_count=3,
        )

    async def _run(self) -> None:
        retry = FIRST_RETRY_S
        while True:
            listens = self.listens
            try:
                await self._listen()
            except (psycopg.Error, OSError) as error:
                if self.listens > listens:
                    retry = FIRST_RETRY_S  # it was up: the outage has just begun
                log.warning("read-model notifications lost (%s); retrying in %.1f s", error, retry)
            except Exception:
                log.exception("read-model notifications failed; retrying in %.1f s", retry)
            await asyncio.sleep(retry)
            retry = min(retry * 2, LAST_RETRY_S)

    async def _listen(self) -> None:
        assert self._listening is not None
        conn = await self.connect()
        self.connections += 1
        try:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
            self.listens += 1
            self._listening.set()
            # Whoever subscribed while no connection listened may have missed changes.
            for inbox in list(self._inboxes):
                inbox.resync()
            async for notify in conn.notifies():
                self._dispatch(notify.payload)
        finally:
            self._listening.clear()
            self.connections -= 1
            with suppress(Exception):
                await conn.close()

    def _dispatch(self, payload: str) -> None:
        changes = parse_changes(payload, self.schema)
        if not changes:
            return
        for listener in self.listeners:
            listener(changes)
        for inbox in list(self._inboxes):
            for change in changes:
                inbox.put(change)
