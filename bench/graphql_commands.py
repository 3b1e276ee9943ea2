"""graphql-commands: updateAdverseEvent over HTTP from 1, 4 and 16 concurrent clients, each on
its own participants, against the API in its own process; throughput, p50/p99, peak memory."""

from __future__ import annotations

import asyncio
import time

import httpx

from api.auth import issue_token
from bench.common import JWT_SECRET, Figure, api_process, percentile, service_in_fresh_schema
from bench.participants import Writable, update_ae_input, writable
from bench.synthetic import load
from domain.vocabulary import Role

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
                rate, latencies = asyncio.run(_level(api.url, people, clients, per_client))
                p99 = percentile(latencies, 0.99)
                target = clients == 16
                figures += [
                    Figure(NAME, f"{clients} clients: throughput", rate, "mutations/s",
                           target=">= 400" if target else None,
                           holds=rate >= 400 if target else None),
                    Figure(NAME, f"{clients} clients: p50", percentile(latencies, 0.5), "ms"),
                    Figure(NAME, f"{clients} clients: p99", p99, "ms",
                           target="<= 100 ms" if target else None,
                           holds=p99 <= 100 if target else None),
                ]  # fmt: skip
            memory = api.peak_rss_mb()
            figures.append(Figure(NAME, "API process peak memory (VmHWM)", memory, "MB",
                                  target="<= 300 MB", holds=memory <= 300))  # fmt: skip
        # The same 16 clients when the projections run in a process of their own.
        with api_process(service.env["POSTGRES_SCHEMA"], projector=False) as api:
            api.wait_settled()
            rate, latencies = asyncio.run(_level(api.url, people, 16, per_client))
            figures += [
                Figure(NAME, "16 clients, projector apart: throughput", rate, "mutations/s"),
                Figure(NAME, "16 clients, projector apart: p50", percentile(latencies, 0.5), "ms"),
                Figure(NAME, "16 clients, projector apart: p99", percentile(latencies, 0.99), "ms"),
                Figure(NAME, "projector apart: API peak memory", api.peak_rss_mb(), "MB"),
            ]
    return figures


async def _level(
    url: str, people: list[Writable], clients: int, per_client: int
) -> tuple[float, list[float]]:
    tokens = {
        site: issue_token(JWT_SECRET, Role.SITE_STAFF, subject=f"{site.lower()}-bench", site=site)
        for site in {p.site for p in people}
    }
    shares = [people[c::clients] for c in range(clients)]
    latencies: list[float] = []

    async def client(own: list[Writable]) -> None:
        async with httpx.AsyncClient(timeout=60) as http:
            for n in range(per_client):
                who = own[n % len(own)]
                started = time.perf_counter()
                response = await http.post(
                    url,
                    json={"query": UPDATE_AE, "variables": {"input": update_ae_input(who, n)}},
                    headers={"Authorization": f"Bearer {tokens[who.site]}"},
                )
                latencies.append((time.perf_counter() - started) * 1000)
                body = response.json()
                assert not body.get("errors"), body["errors"]

    started = time.perf_counter()
    await asyncio.gather(*(client(share) for share in shares))
    return clients * per_client / (time.perf_counter() - started), latencies
