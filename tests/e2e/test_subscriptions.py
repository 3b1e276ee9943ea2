"""Subscriptions over graphql-transport-ws: a real client subscribes, a mutation is made, and the
pushed payload shows the change, under the same role and site rules as the queries.

The clients are `websockets` speaking the protocol by hand (connection_init → connection_ack →
subscribe → next) and gql's WebsocketsTransport. The protocol has no "subscribed" message, so
after subscribing a test waits until the server's hub counts the subscriber. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from itertools import count
from typing import Any, TypeVar

import httpx
import psycopg
import pytest
from gql import Client, GraphQLRequest, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin, Subprotocol

from api.auth import issue_token
from api.notifications import ReadModelHub
from domain.vocabulary import Role
from tests.conftest import TEST_JWT_SECRET
from tests.e2e.conftest import GraphQLClient, RoleClient, RunningServer
from tests.e2e.documents import (
    CONSENT,
    REPORT_AE,
    SCREEN,
    ae_input,
    consent_input,
    enrol,
    screening_input,
)

pytestmark = pytest.mark.e2e

T = TypeVar("T")
WAIT_S = 10.0
PROTOCOL = Subprotocol("graphql-transport-ws")

PARTICIPANT_CHANGED = """
subscription($id: ID) {
  participantChanged(id: $id) { id subjectId site status version dateOfBirth initials }
}"""
LEDGER_CHANGED = """
subscription {
  safetyLedgerChanged {
    entries { subjectId site event { aeId category crsGrade ctcaeGrade } }
    totals { participantsWithAe crsAnyGrade }
  }
}"""
SUMMARY_CHANGED = "subscription { studySummaryChanged { consented eligible } }"
SUMMARY = "query { studySummary { consented } }"


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


async def bounded(awaitable: Awaitable[T]) -> T:
    return await asyncio.wait_for(awaitable, WAIT_S)


async def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"not within {WAIT_S:.0f} s: {what}"
        await asyncio.sleep(0.01)


def hub_of(server: RunningServer) -> ReadModelHub:
    hub: ReadModelHub = server.server.config.app.state.hub
    return hub


def ws_url(server: RunningServer) -> str:
    return server.url.replace("http://", "ws://")


async def mutate(writer: RoleClient, document: str, input: dict[str, Any]) -> dict[str, Any]:
    """The mutation's result, sent from a worker thread so the event loop keeps reading pushes."""
    data = await asyncio.to_thread(writer.data, document, {"input": input})
    result: dict[str, Any] = next(iter(data.values()))
    return result


async def settled(server: RunningServer) -> None:
    """Wait until every read model has applied every recorded event (GET /health)."""

    def lagging() -> bool:
        health = httpx.get(server.url.removesuffix("/graphql") + "/health", timeout=WAIT_S).json()
        return any(projection["lag"] for projection in health["projections"])

    deadline = time.monotonic() + WAIT_S
    while await asyncio.to_thread(lagging):
        assert time.monotonic() < deadline, "the read models did not catch up"
        await asyncio.sleep(0.02)


class Subscriber:
    """One graphql-transport-ws connection, spoken by hand over `websockets`."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.ids = count(1)

    async def subscribe(self, document: str, variables: dict[str, Any] | None = None) -> str:
        operation = str(next(self.ids))
        payload = {"query": document, "variables": variables or {}}
        await self.ws.send(json.dumps({"id": operation, "type": "subscribe", "payload": payload}))
        return operation

    async def message(self) -> dict[str, Any]:
        """The next message that is not a ping (answered) or pong."""
        while True:
            message: dict[str, Any] = json.loads(await bounded(self.ws.recv()))
            if message["type"] == "ping":
                await self.ws.send(json.dumps({"type": "pong"}))
            elif message["type"] != "pong":
                return message

    async def push(self) -> dict[str, Any]:
        """The next push's data (the test fails on an error or a completion instead)."""
        message = await self.message()
        assert message["type"] == "next", message
        assert not message["payload"].get("errors"), message["payload"]["errors"]
        data: dict[str, Any] = message["payload"]["data"]
        return next(iter(data.values()))  # type: ignore[no-any-return]


@asynccontextmanager
async def subscriber(
    server: RunningServer,
    token: str | None,
    *,
    origin: str | None = None,
) -> AsyncIterator[Subscriber]:
    """A connection that has been acknowledged (connection_init with the bearer token)."""
    async with connect(
        ws_url(server),
        subprotocols=[PROTOCOL],
        origin=None if origin is None else Origin(origin),
    ) as ws:
        payload = {} if token is None else {"Authorization": f"Bearer {token}"}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        ack = json.loads(await bounded(ws.recv()))
        assert ack["type"] == "connection_ack", ack
        yield Subscriber(ws)


async def subscribed(server: RunningServer, expected: int) -> None:
    """Wait until the server's hub counts ``expected`` subscribers (then none can miss a push)."""
    hub = hub_of(server)
    await until(lambda: hub.subscribers == expected, f"{expected} subscribers")


def staff(client: GraphQLClient, site: str = "NJ01") -> RoleClient:
    return client.as_role(Role.SITE_STAFF, site, sub=f"staff-{site}")


# ----- what a push carries -----


def test_participant_changed_pushes_the_new_version_and_status_when_the_participant_is_screened(
    server: RunningServer, client: GraphQLClient
) -> None:
    writer = staff(client)
    pid = enrol(writer, "NJ01-007", until="CONSENTED")

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], float]:
        async with subscriber(server, writer.token) as sub:
            await sub.subscribe(PARTICIPANT_CHANGED, {"id": pid})
            await subscribed(server, 1)
            result = await mutate(writer, SCREEN, screening_input(pid))
            answered = time.perf_counter()
            pushed = await sub.push()
            return result, pushed, time.perf_counter() - answered

    result, pushed, latency = run(scenario())

    assert pushed["id"] == pid
    assert (
        (pushed["version"], pushed["status"]) == (result["version"], "ELIGIBLE") == (2, "ELIGIBLE")
    )
    assert (pushed["subjectId"], pushed["initials"], pushed["dateOfBirth"]) == (
        "NJ01-007", "LMW", "1988-04-17",
    )  # fmt: skip
    print(f"\nmutation response → push received: {latency * 1000:.1f} ms")


def test_safety_ledger_changed_pushes_the_adverse_event_with_its_crs_grade_when_it_is_reported(
    server: RunningServer, client: GraphQLClient
) -> None:
    writer = staff(client)
    pid = enrol(writer, "NJ01-007", until="INFUSED")
    reviewer = client.token(Role.SAFETY_REVIEWER, site=None, sub="reviewer-1")

    async def scenario() -> dict[str, Any]:
        await settled(server)
        async with subscriber(server, reviewer) as sub:
            await sub.subscribe(LEDGER_CHANGED)
            await subscribed(server, 1)
            await mutate(writer, REPORT_AE, ae_input(pid))
            return await sub.push()

    ledger = run(scenario())

    assert ledger["entries"] == [
        {
            "subjectId": "NJ01-007",
            "site": "NJ01",
            "event": {"aeId": "AE-001", "category": "CRS", "crsGrade": 2, "ctcaeGrade": 2},
        }
    ]
    assert ledger["totals"] == {"participantsWithAe": 1, "crsAnyGrade": 1}


def test_study_summary_changed_pushes_one_more_consented_when_a_subject_consents_over_gql(
    server: RunningServer, client: GraphQLClient
) -> None:
    writer = staff(client)
    enrol(writer, "NJ01-007", until="ELIGIBLE")
    sponsor = client.as_role(Role.SPONSOR, site=None, sub="sponsor-1")

    async def scenario() -> tuple[int, dict[str, Any]]:
        await settled(server)
        before = (await asyncio.to_thread(sponsor.data, SUMMARY))["studySummary"]["consented"]
        transport = WebsocketsTransport(
            url=ws_url(server), init_payload={"Authorization": f"Bearer {sponsor.token}"}
        )
        async with Client(transport=transport) as session:
            pushes = session.subscribe(gql(SUMMARY_CHANGED))
            first = asyncio.ensure_future(anext(pushes))
            await subscribed(server, 1)
            await mutate(writer, CONSENT, consent_input("NJ01-008"))
            pushed: dict[str, Any] = await bounded(first)
            await pushes.aclose()
            assert transport.subprotocol == PROTOCOL
        return before, pushed["studySummaryChanged"]

    before, summary = run(scenario())

    assert (before, summary) == (1, {"consented": 2, "eligible": 1})


# ----- who gets which push -----


def test_participant_changed_skips_participant_b_when_the_subscriber_asked_for_participant_a(
    server: RunningServer, client: GraphQLClient
) -> None:
    writer = staff(client)
    a = enrol(writer, "NJ01-007", until="CONSENTED")
    b = enrol(writer, "NJ01-008", until="CONSENTED")

    async def scenario() -> dict[str, Any]:
        async with subscriber(server, writer.token) as sub:
            await sub.subscribe(PARTICIPANT_CHANGED, {"id": a})
            await subscribed(server, 1)
            await mutate(writer, SCREEN, screening_input(b))
            await mutate(writer, SCREEN, screening_input(a))
            return await sub.push()

    first = run(scenario())

    assert (first["id"], first["subjectId"], first["version"]) == (a, "NJ01-007", 2)


def test_participant_changed_masks_date_of_birth_and_initials_when_the_subscriber_is_a_sponsor(
    server: RunningServer, client: GraphQLClient
) -> None:
    writer = staff(client)
    sponsor = client.token(Role.SPONSOR, site=None, sub="sponsor-1")

    async def scenario() -> dict[str, Any]:
        async with subscriber(server, sponsor) as sub:
            await sub.subscribe(PARTICIPANT_CHANGED)
            await subscribed(server, 1)
            await mutate(writer, CONSENT, consent_input("NJ01-007"))
            return await sub.push()

    pushed = run(scenario())

    assert (pushed["subjectId"], pushed["status"]) == ("NJ01-007", "CONSENTED")
    assert (pushed["dateOfBirth"], pushed["initials"]) == (None, None)


def test_participant_changed_pushes_nothing_of_nj01_when_the_subscriber_is_staff_of_nj02(
    server: RunningServer, client: GraphQLClient
) -> None:
    nj01, nj02 = staff(client, "NJ01"), staff(client, "NJ02")

    async def scenario() -> dict[str, Any]:
        async with subscriber(server, nj02.token) as sub:
            await sub.subscribe(PARTICIPANT_CHANGED)
            await subscribed(server, 1)
            await mutate(nj01, CONSENT, consent_input("NJ01-007", "NJ01"))
            await mutate(nj02, CONSENT, consent_input("NJ02-003", "NJ02"))
            return await sub.push()

    first = run(scenario())

    assert (first["subjectId"], first["site"]) == ("NJ02-003", "NJ02")


def test_safety_ledger_changed_shows_only_nj02_when_the_subscriber_is_staff_of_nj02(
    server: RunningServer, client: GraphQLClient
) -> None:
    nj01, nj02 = staff(client, "NJ01"), staff(client, "NJ02")
    at_nj01 = enrol(nj01, "NJ01-007", "NJ01", until="INFUSED")
    at_nj02 = enrol(nj02, "NJ02-003", "NJ02", until="INFUSED")

    async def scenario() -> dict[str, Any]:
        await settled(server)
        async with subscriber(server, nj02.token) as sub:
            await sub.subscribe(LEDGER_CHANGED)
            await subscribed(server, 1)
            await mutate(nj01, REPORT_AE, ae_input(at_nj01))
            await mutate(nj02, REPORT_AE, ae_input(at_nj02, "AE-009"))
            return await sub.push()

    first = run(scenario())

    assert [(e["subjectId"], e["event"]["aeId"]) for e in first["entries"]] == [
        ("NJ02-003", "AE-009")
    ]
    assert first["totals"] == {"participantsWithAe": 1, "crsAnyGrade": 1}


def test_participant_changed_is_forbidden_at_subscription_when_the_participant_is_of_another_site(
    server: RunningServer, client: GraphQLClient
) -> None:
    pid = enrol(staff(client, "NJ01"), "NJ01-007", until="CONSENTED")

    async def scenario() -> dict[str, Any]:
        async with subscriber(server, staff(client, "NJ02").token) as sub:
            await sub.subscribe(PARTICIPANT_CHANGED, {"id": pid})
            return await sub.message()

    message = run(scenario())

    assert message["type"] == "error"
    assert [e["extensions"]["code"] for e in message["payload"]] == ["FORBIDDEN"]


def test_participant_changed_is_bad_input_over_gql_when_the_id_is_not_a_uuid(
    server: RunningServer, client: GraphQLClient
) -> None:
    token = staff(client).token

    async def scenario() -> TransportQueryError:
        transport = WebsocketsTransport(
            url=ws_url(server), init_payload={"Authorization": f"Bearer {token}"}
        )
        async with Client(transport=transport) as session:
            with pytest.raises(TransportQueryError) as refused:
                request = GraphQLRequest(PARTICIPANT_CHANGED, variable_values={"id": "NJ01-007"})
                await bounded(anext(session.subscribe(request)))
        return refused.value

    error = run(scenario())

    assert error.errors is not None
    assert [e["extensions"]["code"] for e in error.errors] == ["BAD_INPUT"]


# ----- who may connect -----


FORGED = issue_token("another-secret-0123456789abcdef-0123456789", Role.AUDITOR, subject="eve")
EXPIRED = issue_token(
    TEST_JWT_SECRET, Role.AUDITOR, subject="auditor-1", now=datetime(2025, 1, 1, tzinfo=UTC)
)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({}, id="no token"),
        pytest.param({"Authorization": "Bearer not-a-jwt"}, id="malformed token"),
        pytest.param({"Authorization": f"Bearer {FORGED}"}, id="signed with another secret"),
        pytest.param({"Authorization": f"Bearer {EXPIRED}"}, id="expired token"),
        pytest.param({"Authorization": "Basic c3RhZmY6c2VjcmV0"}, id="not a bearer token"),
    ],
)
def test_connection_is_closed_4403_when_connection_init_carries_no_valid_token(
    server: RunningServer, payload: dict[str, str]
) -> None:
    async def scenario() -> int | None:
        async with connect(ws_url(server), subprotocols=[PROTOCOL]) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
            with pytest.raises(ConnectionClosed) as closed:
                await bounded(ws.recv())
            return None if closed.value.rcvd is None else closed.value.rcvd.code

    code = run(scenario())

    assert code == 4403


def test_handshake_is_refused_when_the_origin_is_not_allowed(server: RunningServer) -> None:
    async def scenario() -> int:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(
                ws_url(server), subprotocols=[PROTOCOL], origin=Origin("https://evil.example")
            ):
                pass
        return refused.value.response.status_code

    assert run(scenario()) == 403


@pytest.mark.parametrize("origin", [None, "http://localhost"], ids=["no origin", "allowed"])
def test_handshake_is_acknowledged_when_the_origin_is_absent_or_allowed(
    server: RunningServer, client: GraphQLClient, origin: str | None
) -> None:
    async def scenario() -> str | None:
        async with subscriber(server, staff(client).token, origin=origin) as sub:
            return sub.ws.subprotocol

    assert run(scenario()) == PROTOCOL


def test_connection_is_closed_4406_when_the_client_speaks_the_legacy_graphql_ws_protocol(
    server: RunningServer,
) -> None:
    async def scenario() -> int | None:
        async with connect(ws_url(server), subprotocols=[Subprotocol("graphql-ws")]) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await bounded(ws.recv())
            return None if closed.value.rcvd is None else closed.value.rcvd.code

    assert run(scenario()) == 4406


# ----- one listening connection per process -----


def listening_backends(database_url: str, schema: str) -> int:
    """Backends of this API process (application_name names its schema) that LISTEN."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE application_name = %s AND query ILIKE 'LISTEN%%'",
            (f"trial-listen {schema}",),
        ).fetchone()
    return int(row[0]) if row else 0


def test_three_subscribers_share_one_listening_connection_when_served_by_one_process(
    server: RunningServer, client: GraphQLClient, database_url: str, schema: str
) -> None:
    writer = staff(client)
    tokens = [
        writer.token,
        client.token(Role.SPONSOR, site=None, sub="sponsor-1"),
        client.token(Role.SAFETY_REVIEWER, site=None, sub="reviewer-1"),
    ]

    async def scenario() -> tuple[int, int, list[str]]:
        async with (
            subscriber(server, tokens[0]) as one,
            subscriber(server, tokens[1]) as two,
            subscriber(server, tokens[2]) as three,
        ):
            for sub in (one, two, three):
                await sub.subscribe(PARTICIPANT_CHANGED)
            await subscribed(server, 3)
            backends = await asyncio.to_thread(listening_backends, database_url, schema)
            await mutate(writer, CONSENT, consent_input("NJ01-007"))
            pushes = [await sub.push() for sub in (one, two, three)]
            return hub_of(server).connections, backends, [p["subjectId"] for p in pushes]

    connections, backends, subjects = run(scenario())

    assert (connections, backends) == (1, 1)
    assert subjects == ["NJ01-007"] * 3


def test_subscriber_gets_the_change_made_while_the_listening_connection_was_down(
    server: RunningServer, client: GraphQLClient, database_url: str, schema: str
) -> None:
    writer = staff(client)
    pid = enrol(writer, "NJ01-007", until="CONSENTED")
    hub = hub_of(server)
    reconnect = threading.Event()
    connect_now = hub.connect

    async def gated_connect() -> psycopg.AsyncConnection[Any]:
        await asyncio.to_thread(reconnect.wait, WAIT_S)
        return await connect_now()

    async def scenario() -> dict[str, Any]:
        async with subscriber(server, writer.token) as sub:
            await sub.subscribe(PARTICIPANT_CHANGED, {"id": pid})
            await subscribed(server, 1)
            hub.connect = gated_connect
            await asyncio.to_thread(terminate_listener, database_url, schema)
            await until(lambda: not hub.listening, "the hub noticed the lost connection")
            await mutate(writer, SCREEN, screening_input(pid))
            reconnect.set()
            return await sub.push()

    pushed = run(scenario())

    assert (pushed["version"], pushed["status"]) == (2, "ELIGIBLE")
    assert (hub.connections, listening_backends(database_url, schema)) == (1, 1)


def terminate_listener(database_url: str, schema: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (f"trial-listen {schema}",),
        )


# ----- the hub on its own -----


def test_hub_ignores_a_notification_when_it_belongs_to_another_schema(
    database_url: str, schema: str
) -> None:
    def notify(owner: str, subject: str) -> None:
        payload = {
            "schema": owner,
            "projection": "participant_status",
            "participant_id": "00000000-0000-0000-0000-000000000007",
            "site": subject,
            "position": 7,
        }
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("SELECT pg_notify('trial_read_models', %s)", (json.dumps(payload),))

    async def scenario() -> list[str]:
        hub = ReadModelHub(database_url, schema)
        await hub.start()
        try:
            async with hub.subscription() as inbox:
                await asyncio.to_thread(notify, "another_schema", "NJ09")
                await asyncio.to_thread(notify, schema, "NJ01")
                batch = await bounded(inbox.take())
        finally:
            await hub.close()
        return [change.site for change in batch.changes]

    assert run(scenario()) == ["NJ01"]
