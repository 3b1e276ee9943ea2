"""graphql-commands: updateAdverseEvent over HTTP from 1, 4 and 16 concurrent clients, each on
its own participants, against the API in its own process; throughput, p50/p99, the API
process's CPU per mutation (its in-process projector included), peak memory.

At 16 clients, the peer (``bench/peer.py``: the minimal strawberry + starlette + stock
eventsourcing service a user would write for that command) runs beside ours, and the two are
measured in alternating blocks (ours, the peer, ours, …), so that the machine's background load
falls on both alike; our throughput is printed as a ratio of the peer's. The client's own CPU per
request is printed, so that one can see it does not decide the figures."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from api.auth import issue_token
from bench.common import (
    JWT_SECRET,
    ApiProcess,
    Figure,
    api_process,
    database_url,
    drop_schema,
    fresh_schema,
    percentile,
    postgres_cpu_seconds,
    read_models_rebuilt,
    service_in_fresh_schema,
)
from bench.http import GraphQLConnection
from bench.participants import Writable, update_ae_input, writable
from bench.peer import Safety
from bench.synthetic import load
from domain.vocabulary import Role
from infra.bootstrap import create_schema
from infra.database import eventsourcing_env

NAME = "graphql-commands"
UPDATE_AE = (
    "mutation($input: AeUpdateInput!) { updateAdverseEvent(input: $input) { version position } }"
)
CLIENTS = (1, 4)  # then 16, alternating with the peer
BLOCKS = 4
SIZES = {"quick": (40, 30), "full": (200, 400)}  # participants, mutations per client


@dataclass
class Level:
    """What a number of clients measured, over one or more blocks."""

    mutations: int = 0
    seconds: float = 0.0
    client_cpu: float = 0.0
    server_cpu: float = 0.0
    database_cpu: float = 0.0
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.mutations / self.seconds

    def per_mutation_ms(self, seconds: float) -> float:
        return seconds * 1000 / self.mutations

    def figures(self, label: str, target: bool = False) -> list[Figure]:
        p99 = percentile(self.latencies, 0.99)
        return [
            Figure(NAME, f"{label}: throughput", self.rate, "mutations/s",
                   target=">= 250" if target else None,
                   holds=self.rate >= 250 if target else None),
            Figure(NAME, f"{label}: p50", percentile(self.latencies, 0.5), "ms"),
            Figure(NAME, f"{label}: p99", p99, "ms", target="<= 100 ms" if target else None,
                   holds=p99 <= 100 if target else None),
        ]  # fmt: skip


def run(quick: bool) -> list[Figure]:
    participants, per_client = SIZES["quick" if quick else "full"]
    figures = []
    with service_in_fresh_schema() as service:
        load(service.app, participants)
        people = writable(service.app, participants)
        with api_process(service.env["POSTGRES_SCHEMA"]) as api, _peer(people) as peer:
            api.wait_settled()
            for clients in CLIENTS:
                level = Level()
                asyncio.run(_measure(level, api, people, clients, per_client, 0))
                figures += level.figures(f"{clients} clients")
            ours, theirs = Level(), Level()
            block = per_client // BLOCKS
            for number in range(BLOCKS):
                offset = per_client + number * block  # every update a change
                asyncio.run(_measure(ours, api, people, 16, block, offset))
                asyncio.run(_measure(theirs, peer, people, 16, block, offset))
            api_cpu = ours.per_mutation_ms(ours.server_cpu)
            figures += [
                *ours.figures("16 clients", target=True),
                Figure(NAME, "16 clients: API CPU per mutation", api_cpu, "ms",
                       target="<= 5 ms", holds=api_cpu <= 5,
                       note="the API process, its in-process projector included"),
                Figure(NAME, "16 clients: PostgreSQL CPU per mutation",
                       ours.per_mutation_ms(ours.database_cpu), "ms"),
                Figure(NAME, "16 clients: client CPU per request",
                       ours.per_mutation_ms(ours.client_cpu), "ms"),
                *theirs.figures("peer, 16 clients"),
                Figure(NAME, "peer, 16 clients: peer CPU per mutation",
                       theirs.per_mutation_ms(theirs.server_cpu), "ms"),
                Figure(NAME, "peer, 16 clients: PostgreSQL CPU per mutation",
                       theirs.per_mutation_ms(theirs.database_cpu), "ms"),
                Figure(NAME, "peer, 16 clients: client CPU per request",
                       theirs.per_mutation_ms(theirs.client_cpu), "ms"),
                Figure(NAME, "16 clients: ours / peer throughput", ours.rate / theirs.rate,
                       "ratio", baseline=theirs.rate, baseline_name="peer", target=">= 1.0",
                       holds=ours.rate >= theirs.rate,
                       note=f"{BLOCKS} alternating blocks of {block} mutations per client"),
            ]  # fmt: skip
            memory = api.peak_rss_mb()
            figures.append(Figure(NAME, "API process peak memory (VmHWM)", memory, "MB",
                                  target="<= 300 MB", holds=memory <= 300))  # fmt: skip
        # The same 16 clients when the projections run in a process of their own.
        with api_process(service.env["POSTGRES_SCHEMA"], projector=False) as api:
            api.wait_settled()
            apart = Level()
            asyncio.run(_measure(apart, api, people, 16, per_client, 2 * per_client))
            figures += [
                *apart.figures("16 clients, projector apart"),
                Figure(NAME, "projector apart: API CPU per mutation",
                       apart.per_mutation_ms(apart.server_cpu), "ms"),
                Figure(NAME, "projector apart: API peak memory", api.peak_rss_mb(), "MB"),
            ]  # fmt: skip
        figures.append(read_models_rebuilt(service, NAME))
    return figures


@contextmanager
def _peer(people: list[Writable]) -> Iterator[ApiProcess]:
    """The peer on the same PostgreSQL, in a schema of its own, its AEs recorded."""
    schema = fresh_schema()
    env = eventsourcing_env(database_url()) | {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_SCHEMA": schema,
        "CREATE_TABLE": "y",
    }
    create_schema(database_url(), schema)
    try:
        seeding = Safety(env)
        for who in people:
            seeding.seed(str(who.pid), "AE-001")
        seeding.close()
        peer = ApiProcess(schema, module="bench.peer", env=env)
        try:
            peer.wait_ready()
            yield peer
        finally:
            peer.stop()
    finally:
        drop_schema(schema)


async def _measure(
    level: Level,
    server: ApiProcess,
    people: list[Writable],
    clients: int,
    per_client: int,
    offset: int,
) -> None:
    """``clients`` clients each sending ``per_client`` mutations; added to ``level``."""
    tokens = {
        site: issue_token(JWT_SECRET, Role.SITE_STAFF, subject=f"{site.lower()}-bench", site=site)
        for site in {p.site for p in people}
    }
    shares = [people[c::clients] for c in range(clients)]

    async def client(own: list[Writable]) -> None:
        async with GraphQLConnection(server.url) as http:
            for n in range(offset, offset + per_client):
                who = own[n % len(own)]
                started = time.perf_counter()
                body = await http.post(
                    {"query": UPDATE_AE, "variables": {"input": update_ae_input(who, n)}},
                    {"Authorization": f"Bearer {tokens[who.site]}"},
                )
                level.latencies.append((time.perf_counter() - started) * 1000)
                assert not body.get("errors"), body["errors"]

    started, cpu, server_cpu = time.perf_counter(), time.process_time(), server.cpu_seconds()
    database_cpu = postgres_cpu_seconds()
    await asyncio.gather(*(client(share) for share in shares))
    level.seconds += time.perf_counter() - started
    level.client_cpu += time.process_time() - cpu
    level.server_cpu += server.cpu_seconds() - server_cpu
    level.database_cpu += postgres_cpu_seconds() - database_cpu
    level.mutations += clients * per_client
