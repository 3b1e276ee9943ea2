"""fan-out: websocket subscribers (graphql-transport-ws) to participantChanged(id) on one API
process; time from a mutation's commit (its HTTP response) to receipt at every subscriber."""

from __future__ import annotations

import asyncio
import gc
import json
import math
import time
from collections.abc import Callable
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from api.auth import issue_token
from bench.common import (
    JWT_SECRET,
    Figure,
    api_process,
    percentile,
    read_models_rebuilt,
    service_in_fresh_schema,
)
from bench.graphql_commands import UPDATE_AE
from bench.participants import Writable, update_ae_input, writable
from bench.synthetic import load
from domain.vocabulary import Role

NAME = "fan-out"
PROTOCOL = Subprotocol("graphql-transport-ws")
CHANGED = "subscription($id: ID) { participantChanged(id: $id) { id version status } }"
SIZES = {"quick": (20, 3), "full": (1_000, 5)}  # subscribers, measured mutations
WAIT_S = 60.0


def run(quick: bool) -> list[Figure]:
    subscribers, mutations = SIZES["quick" if quick else "full"]
    with service_in_fresh_schema() as service:
        load(service.app, 10)
        who = writable(service.app, 10)[0]
        with api_process(service.env["POSTGRES_SCHEMA"]) as api:
            api.wait_settled()
            token = issue_token(JWT_SECRET, Role.SITE_STAFF, subject="bench", site=who.site)
            variables = {"id": str(who.pid)}
            latencies, missed = asyncio.run(
                _fan_out(api.url, token, variables, update_ae_input, who, subscribers, mutations)
            )
            memory = api.peak_rss_mb()
        checked = read_models_rebuilt(service, NAME)
    p99 = percentile(latencies, 0.99)
    return [
        Figure(NAME, f"{subscribers} subscribers: p50", percentile(latencies, 0.5), "ms"),
        Figure(NAME, f"{subscribers} subscribers: p99", p99, "ms",
               target=None if quick else "<= 150 ms",  # the target is at 1,000 subscribers
               holds=None if quick else p99 <= 150 and not missed,
               note=f"{mutations} mutations"),
        Figure(NAME, f"{subscribers} subscribers: max", max(latencies, default=0.0), "ms"),
        Figure(NAME, "pushes missed", missed, "pushes"),
        Figure(NAME, "API process peak memory (VmHWM)", memory, "MB"),
        checked,
    ]  # fmt: skip


class Inbox:
    """One subscriber: the receipt time of each push."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.received: list[float] = []

    async def read(self) -> None:
        async for raw in self.ws:
            message = json.loads(raw)
            if message["type"] == "next":
                self.received.append(time.perf_counter())
            elif message["type"] == "ping":
                await self.ws.send(json.dumps({"type": "pong"}))
            elif message["type"] in ("error", "complete"):
                raise RuntimeError(f"subscription ended: {message}")


async def _subscribe(url: str, token: str, variables: dict[str, str]) -> Inbox:
    ws = await connect(url.replace("http://", "ws://"), subprotocols=[PROTOCOL],
                       open_timeout=WAIT_S, ping_interval=None)  # fmt: skip
    init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
    await ws.send(json.dumps(init))
    ack = json.loads(await asyncio.wait_for(ws.recv(), WAIT_S))
    assert ack["type"] == "connection_ack", ack
    payload = {"query": CHANGED, "variables": variables}
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
    return Inbox(ws)


async def _fan_out(
    url: str,
    token: str,
    variables: dict[str, str],
    build: Callable[[Writable, int], dict[str, Any]],
    who: Writable,
    subscribers: int,
    mutations: int,
) -> tuple[list[float], int]:
    gate = asyncio.Semaphore(50)

    async def one() -> Inbox:
        async with gate:
            return await _subscribe(url, token, variables)

    inboxes = await asyncio.gather(*(one() for _ in range(subscribers)))
    readers = [asyncio.create_task(inbox.read()) for inbox in inboxes]
    await asyncio.sleep(1.0 + subscribers / 500)  # the protocol has no "subscribed" message
    # The 1,000 connections are long-lived: keep this process's full collections (100 ms and
    # more) out of the receipt times, which should measure the API process.
    gc.collect()
    gc.freeze()
    latencies: list[float] = []
    missed = 0
    async with httpx.AsyncClient(timeout=WAIT_S) as http:
        for n in range(mutations + 1):  # the first one warms up and is not counted
            response = await http.post(
                url, json={"query": UPDATE_AE, "variables": {"input": build(who, n)}},
                headers={"Authorization": f"Bearer {token}"},
            )  # fmt: skip
            committed = time.perf_counter()
            assert not response.json().get("errors"), response.text
            deadline = committed + WAIT_S
            while any(len(i.received) <= n for i in inboxes) and time.perf_counter() < deadline:
                await asyncio.sleep(0.005)
            arrived = [i.received[n] for i in inboxes if len(i.received) > n]
            if n:
                missed += subscribers - len(arrived)
                latencies += [(t - committed) * 1000 for t in arrived]
            for inbox in inboxes:  # keep the push count aligned with the mutation count
                while len(inbox.received) <= n:
                    inbox.received.append(float("nan"))
            await asyncio.sleep(0.2)
    gc.unfreeze()
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*(inbox.ws.close() for inbox in inboxes), return_exceptions=True)
    return [x for x in latencies if not math.isnan(x)], missed
