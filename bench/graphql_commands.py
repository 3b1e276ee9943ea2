"""graphql-commands: updateAdverseEvent over HTTP from 1, 4 and 16 concurrent clients, each on
its own participants, against the API in its own process; throughput, p50/p99, peak memory.

In the same run, the same 16 clients against the peer (``bench/peer.py``: the minimal
strawberry + starlette + stock eventsourcing service a user would write for that command), and
our throughput as a ratio of the peer's. The client's own CPU per request is printed, so that
one can see it does not decide the figures."""

from __future__ import annotations

import asyncio
import time

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
CLIENTS = (1, 4, 16)
SIZES = {"quick": (40, 30), "full": (200, 400)}  # participants, mutations per client


def run(quick: bool) -> list[Figure]:
    participants, per_client = SIZES["quick" if quick else "full"]
    figures = []
    with service_in_fresh_schema() as service:
        load(service.app, participants)
        people = writable(service.app, participants)
        with api_process(service.env["POSTGRES_SCHEMA"]) as api:
            api.wait_settled()
            for clients in CLIENTS:
                rate, latencies, cpu_ms = asyncio.run(_level(api.url, people, clients, per_client))
                p99 = percentile(latencies, 0.99)
                target = clients == 16
                figures += [
                    Figure(NAME, f"{clients} clients: throughput", rate, "mutations/s",
                           target=">= 250" if target else None,
                           holds=rate >= 250 if target else None),
                    Figure(NAME, f"{clients} clients: p50", percentile(latencies, 0.5), "ms"),
                    Figure(NAME, f"{clients} clients: p99", p99, "ms",
                           target="<= 100 ms" if target else None,
                           holds=p99 <= 100 if target else None),
                ]  # fmt: skip
                if target:
                    ours = rate
                    figures.append(Figure(NAME, "16 clients: client CPU per request", cpu_ms, "ms"))
            memory = api.peak_rss_mb()
            figures.append(Figure(NAME, "API process peak memory (VmHWM)", memory, "MB",
                                  target="<= 300 MB", holds=memory <= 300))  # fmt: skip
        figures += _peer(people, per_client, ours)
        # The same 16 clients when the projections run in a process of their own.
        with api_process(service.env["POSTGRES_SCHEMA"], projector=False) as api:
            api.wait_settled()
            rate, latencies, _ = asyncio.run(_level(api.url, people, 16, per_client))
            figures += [
                Figure(NAME, "16 clients, projector apart: throughput", rate, "mutations/s"),
                Figure(NAME, "16 clients, projector apart: p50", percentile(latencies, 0.5), "ms"),
                Figure(NAME, "16 clients, projector apart: p99", percentile(latencies, 0.99), "ms"),
                Figure(NAME, "projector apart: API peak memory", api.peak_rss_mb(), "MB"),
            ]
        figures.append(read_models_rebuilt(service, NAME))
    return figures


def _peer(people: list[Writable], per_client: int, ours: float) -> list[Figure]:
    """The same 16 clients against the peer, on the same PostgreSQL, in a schema of its own."""
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
            rate, latencies, cpu_ms = asyncio.run(_level(peer.url, people, 16, per_client))
        finally:
            peer.stop()
    finally:
        drop_schema(schema)
    return [
        Figure(NAME, "peer, 16 clients: throughput", rate, "mutations/s"),
        Figure(NAME, "peer, 16 clients: p50", percentile(latencies, 0.5), "ms"),
        Figure(NAME, "peer, 16 clients: p99", percentile(latencies, 0.99), "ms"),
        Figure(NAME, "peer, 16 clients: client CPU per request", cpu_ms, "ms"),
        Figure(NAME, "16 clients: ours / peer throughput", ours / rate, "ratio",
               baseline=rate, baseline_name="peer", target=">= 1.0", holds=ours >= rate),
    ]  # fmt: skip


async def _level(
    url: str, people: list[Writable], clients: int, per_client: int
) -> tuple[float, list[float], float]:
    """Throughput, latencies (ms) and the client's own CPU per request (ms)."""
    tokens = {
        site: issue_token(JWT_SECRET, Role.SITE_STAFF, subject=f"{site.lower()}-bench", site=site)
        for site in {p.site for p in people}
    }
    shares = [people[c::clients] for c in range(clients)]
    latencies: list[float] = []

    async def client(own: list[Writable]) -> None:
        async with GraphQLConnection(url) as http:
            for n in range(per_client):
                who = own[n % len(own)]
                started = time.perf_counter()
                body = await http.post(
                    {"query": UPDATE_AE, "variables": {"input": update_ae_input(who, n)}},
                    {"Authorization": f"Bearer {tokens[who.site]}"},
                )
                latencies.append((time.perf_counter() - started) * 1000)
                assert not body.get("errors"), body["errors"]

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(client(share) for share in shares))
    requests = clients * per_client
    cpu_ms = (time.process_time() - cpu) * 1000 / requests
    return requests / (time.perf_counter() - started), latencies, cpu_ms
