"""The API process serving a subscriber is restarted: the client reconnects and misses nothing.

Two API processes share one database, as when scaled out: a writer (with the projector) that
stays up, and the subscriber's, which is stopped and replaced by a new one. The subscriber sees
its socket close, writes go on through the writer meanwhile, and after reconnecting and
subscribing again it finds every change in a query and is pushed the next ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from domain.vocabulary import Role
from infra.bootstrap import Service, bootstrap
from tests.conftest import TEST_JWT_SECRET, settings_for
from tests.e2e.conftest import GraphQLClient, RoleClient, RunningServer
from tests.e2e.documents import (
    CONSENT,
    INFUSE,
    SCREEN,
    consent_input,
    infusion_input,
    scratch_schema,
    screening_input,
    serving,
)
from tests.e2e.test_subscriptions import (
    PARTICIPANT_CHANGED,
    Subscriber,
    bounded,
    mutate,
    subscribed,
    subscriber,
)

pytestmark = pytest.mark.e2e

LISTED = "query($after: Int) { participants(minPosition: $after) { subjectId status version } }"


@dataclass
class ApiProcess:
    """A service without a projector (the writer projects), served over HTTP and WebSocket."""

    service: Service
    server: RunningServer
    client: GraphQLClient
    running: bool = True

    @classmethod
    def start(cls, database_url: str, schema: str, data_dir: Path) -> ApiProcess:
        service = bootstrap(settings_for(database_url, data_dir), schema=schema)
        server = RunningServer(service)
        server.start()
        return cls(service, server, GraphQLClient(server.url, TEST_JWT_SECRET))

    def stop(self) -> None:
        if self.running:
            self.running = False
            self.client.http.close()
            self.server.stop()
            self.service.close()


@dataclass(frozen=True)
class Restart:
    """What the subscriber saw across the restart of its API process."""

    first_push: dict[str, Any]  # NJ01-007's consent, pushed by the first process
    closed: ConnectionClosed | None  # how the socket ended when the first process stopped
    written_meanwhile: list[dict[str, Any]]  # results of the writes made while it was down
    requeried: list[dict[str, Any]]  # participants read from the second process afterwards
    next_push: dict[str, Any]  # the change written after subscribing again


async def closing(subscriber: Subscriber) -> ConnectionClosed | None:
    """Read until the server closes the socket; the close, or None if it never came."""
    try:
        while True:
            await subscriber.message()
    except ConnectionClosed as closed:
        return closed
    except TimeoutError:
        return None


async def restart_story(
    database_url: str, schema: str, data_dirs: Iterator[Path], writer: RoleClient
) -> Restart:
    token = writer.token  # the subscriber is staff of NJ01 too
    first = ApiProcess.start(database_url, schema, next(data_dirs))
    try:
        async with subscriber(first.server, token) as sub:
            await sub.subscribe(PARTICIPANT_CHANGED)
            await subscribed(first.server, 1)
            consent = await mutate(writer, CONSENT, consent_input("NJ01-007"))
            first_push = await sub.push()
            await asyncio.to_thread(first.stop)
            closed = await closing(sub)
    finally:
        first.stop()
    pid = consent["participantId"]
    written_meanwhile = [
        await mutate(writer, SCREEN, screening_input(pid)),
        await mutate(writer, CONSENT, consent_input("NJ01-008")),
    ]
    second = ApiProcess.start(database_url, schema, next(data_dirs))
    try:
        async with subscriber(second.server, token) as sub:
            await sub.subscribe(PARTICIPANT_CHANGED)
            await subscribed(second.server, 1)
            after = max(result["position"] for result in written_meanwhile)
            reader = RoleClient(second.client, token)
            listed = await asyncio.to_thread(reader.data, LISTED, {"after": after})
            await mutate(writer, INFUSE, infusion_input(pid))
            next_push = await bounded(sub.push())
    finally:
        second.stop()
    return Restart(first_push, closed, written_meanwhile, listed["participants"], next_push)


@pytest.fixture(scope="module")
def restart(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Restart]:
    data_dirs = (tmp_path_factory.mktemp(f"api-{n}") for n in range(3))
    with (
        scratch_schema(database_url) as schema,
        serving(database_url, schema, next(data_dirs)) as writer_client,
    ):
        writer = writer_client.as_role(Role.SITE_STAFF, "NJ01", sub="staff-NJ01")
        yield asyncio.run(restart_story(database_url, schema, data_dirs, writer))


def test_subscriber_sees_its_socket_close_when_its_api_process_stops(restart: Restart) -> None:
    assert restart.first_push["subjectId"] == "NJ01-007"
    assert restart.closed is not None
    assert restart.closed.rcvd is not None
    assert restart.closed.rcvd.code == 1012  # "service restart": uvicorn's close on shutdown


def test_every_change_made_while_the_subscriber_was_away_is_requeried_when_it_reconnects(
    restart: Restart,
) -> None:
    screened, consented = restart.written_meanwhile

    listed = {p["subjectId"]: (p["status"], p["version"]) for p in restart.requeried}

    assert (screened["version"], consented["version"]) == (2, 1)
    assert listed == {"NJ01-007": ("ELIGIBLE", 2), "NJ01-008": ("CONSENTED", 1)}


def test_new_change_is_pushed_by_the_new_process_when_the_subscriber_subscribed_again(
    restart: Restart,
) -> None:
    pushed = restart.next_push

    assert (pushed["subjectId"], pushed["status"], pushed["version"]) == ("NJ01-007", "INFUSED", 3)
