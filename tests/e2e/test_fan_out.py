"""One change pushed to many subscribers of one process: each is pushed the participant as its
own role and sites allow, each push is logged in its own row, and the participant is read once
for all of them."""

from __future__ import annotations

import json
from contextlib import AsyncExitStack
from typing import Any

import psycopg
import pytest
from psycopg.sql import SQL, Identifier

from api import push_once
from api.subscriptions import fan_out
from domain.vocabulary import Role
from infra.access_log import TABLE
from infra.bootstrap import Service
from tests.e2e.conftest import GraphQLClient, RunningServer
from tests.e2e.documents import (
    CONSENT,
    INFUSE,
    SCREEN,
    consent_input,
    enrol,
    infusion_input,
    screening_input,
)
from tests.e2e.test_access_log_api import rows_of
from tests.e2e.test_subscriptions import (
    LEDGER_CHANGED,
    PARTICIPANT_CHANGED,
    Subscriber,
    hub_of,
    mutate,
    run,
    settled,
    staff,
    subscribed,
    subscriber,
)

pytestmark = pytest.mark.e2e

# Who watches NJ01-007 being screened: (role, site, by id), named after their token's subject.
WATCHERS: dict[str, tuple[Role, str | None, bool]] = {
    "monitor-1": (Role.MONITOR, "NJ01", True),
    "monitor-2": (Role.MONITOR, "NJ01", False),
    "sponsor-1": (Role.SPONSOR, None, True),
    "sponsor-2": (Role.SPONSOR, None, False),
    "reviewer-1": (Role.SAFETY_REVIEWER, None, True),
    "auditor-1": (Role.AUDITOR, None, False),
    "staff-nj02": (Role.SITE_STAFF, "NJ02", False),
}


async def watch(
    server: RunningServer, client: GraphQLClient, stack: AsyncExitStack, pid: str
) -> dict[str, Subscriber]:
    """Every watcher subscribed to participantChanged (by ``pid`` or to every participant)."""
    subscribers: dict[str, Subscriber] = {}
    for name, (role, site, by_id) in WATCHERS.items():
        token = client.token(role, site, sub=name)
        subscribers[name] = sub = await stack.enter_async_context(subscriber(server, token))
        await sub.subscribe(PARTICIPANT_CHANGED, {"id": pid} if by_id else {})
    await subscribed(server, len(WATCHERS))
    return subscribers


def test_participant_changed_pushes_each_role_its_own_masking_when_many_watch_one_change(
    server: RunningServer, client: GraphQLClient
) -> None:
    nj01, nj02 = staff(client, "NJ01"), staff(client, "NJ02")
    pid = enrol(nj01, "NJ01-007", until="CONSENTED")

    async def scenario() -> dict[str, dict[str, Any]]:
        await settled(server)
        async with AsyncExitStack() as stack:
            subscribers = await watch(server, client, stack, pid)
            await mutate(nj01, SCREEN, screening_input(pid))
            await mutate(nj02, CONSENT, consent_input("NJ02-003", "NJ02"))
            return {name: await sub.push() for name, sub in subscribers.items()}

    first = run(scenario())

    for name in ("monitor-1", "monitor-2", "auditor-1"):
        assert (first[name]["subjectId"], first[name]["version"]) == ("NJ01-007", 2), name
        assert (first[name]["dateOfBirth"], first[name]["initials"]) == ("1988-04-17", "LMW")
    for name in ("sponsor-1", "sponsor-2", "reviewer-1"):
        assert (first[name]["subjectId"], first[name]["version"]) == ("NJ01-007", 2), name
        assert (first[name]["dateOfBirth"], first[name]["initials"]) == (None, None), name
    assert (first["staff-nj02"]["subjectId"], first["staff-nj02"]["site"]) == ("NJ02-003", "NJ02")


def test_participant_changed_reads_the_participant_once_when_many_subscribers_are_pushed_it(
    server: RunningServer, client: GraphQLClient, service: Service
) -> None:
    writer = staff(client, "NJ01")
    pid = enrol(writer, "NJ01-007", until="CONSENTED")
    reads = fan_out(hub_of(server), service).reads

    async def scenario() -> tuple[int, list[dict[str, Any]]]:
        await settled(server)
        async with AsyncExitStack() as stack:
            subscribers = await watch(server, client, stack, pid)
            before = reads.reads
            await mutate(writer, SCREEN, screening_input(pid))
            pushed = [await subscribers[name].push() for name in WATCHERS if name != "staff-nj02"]
            return reads.reads - before, pushed

    read, pushed = run(scenario())

    assert [(p["subjectId"], p["version"]) for p in pushed] == [("NJ01-007", 2)] * 6
    assert read == 1


def test_participant_changed_logs_one_row_per_subscriber_when_one_change_is_pushed_to_many(
    server: RunningServer, client: GraphQLClient
) -> None:
    nj01 = staff(client, "NJ01")
    pid = enrol(nj01, "NJ01-007", until="CONSENTED")

    async def scenario() -> None:
        await settled(server)
        async with AsyncExitStack() as stack:
            subscribers = await watch(server, client, stack, pid)
            await mutate(nj01, SCREEN, screening_input(pid))
            for name, sub in subscribers.items():
                if name != "staff-nj02":
                    await sub.push()

    run(scenario())

    rows = {name: rows_of(client, name) for name in WATCHERS}
    assert rows.pop("staff-nj02") == []
    for name, logged in rows.items():
        role, _, by_id = WATCHERS[name]
        [row] = logged
        assert (row["operation"], row["participantIds"], row["actorRole"]) == (
            "participantChanged", [pid], role.value,
        ), name  # fmt: skip
        pii = role in (Role.MONITOR, Role.AUDITOR)
        assert row["detail"] == ({"id": pid, "pii": pii} if by_id else {"pii": pii}), name


def test_participant_changed_withholds_the_push_from_every_subscriber_when_the_log_fails(
    server: RunningServer, client: GraphQLClient, service: Service, schema: str
) -> None:
    nj01 = staff(client, "NJ01")
    pid = enrol(nj01, "NJ01-007", until="CONSENTED")
    log = SQL("{}.{}").format(Identifier(schema), Identifier(TABLE))

    async def scenario() -> dict[str, dict[str, Any]]:
        await settled(server)
        async with AsyncExitStack() as stack:
            subscribers = await watch(server, client, stack, pid)
            with psycopg.connect(service.database_url, autocommit=True) as conn:
                conn.execute(SQL("ALTER TABLE {} RENAME TO trial_read_log_away").format(log))
                try:
                    await mutate(nj01, SCREEN, screening_input(pid))
                    return {
                        name: await sub.message()
                        for name, sub in subscribers.items()
                        if name != "staff-nj02"
                    }
                finally:
                    conn.execute(
                        SQL("ALTER TABLE {}.trial_read_log_away RENAME TO {}").format(
                            Identifier(schema), Identifier(TABLE)
                        )
                    )

    messages = run(scenario())

    assert len(messages) == 6
    for name, message in messages.items():
        assert message["payload"]["data"] is None, name
        [error] = message["payload"]["errors"]
        assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE", name
        assert "LMW" not in json.dumps(message) and "1988-04-17" not in json.dumps(message)


def test_subscribers_with_the_same_document_variables_and_masking_share_one_execution(
    server: RunningServer, client: GraphQLClient
) -> None:
    writer = staff(client, "NJ01")
    pid = enrol(writer, "NJ01-007", until="CONSENTED")

    async def scenario() -> tuple[dict[str, int], dict[str, dict[str, Any]]]:
        await settled(server)
        async with AsyncExitStack() as stack:
            subscribers = await watch(server, client, stack, pid)
            before = dict(vars(push_once.counters))
            await mutate(writer, SCREEN, screening_input(pid))
            pushed = {n: await subscribers[n].push() for n in WATCHERS if n != "staff-nj02"}
            after = vars(push_once.counters)
            return {name: after[name] - before[name] for name in after}, pushed

    made, pushed = run(scenario())

    # Six subscribers, four kinds: (PII, by id) monitor-1; (PII, all) monitor-2 and auditor-1;
    # (no PII, by id) sponsor-1 and reviewer-1; (no PII, all) sponsor-2.
    assert made == {"executed": 4, "reused_executions": 2, "encoded": 4, "reused_encodings": 2}
    assert pushed["monitor-2"] == pushed["auditor-1"] and pushed["monitor-2"]["initials"] == "LMW"
    assert pushed["sponsor-1"] == pushed["reviewer-1"] and pushed["sponsor-1"]["initials"] is None


def test_a_change_is_read_for_participant_subscribers_only_while_there_are_any(
    server: RunningServer, client: GraphQLClient, service: Service
) -> None:
    writer = staff(client, "NJ01")
    pid = enrol(writer, "NJ01-007", until="CONSENTED")
    reads = fan_out(hub_of(server), service).reads
    reviewer = client.token(Role.SAFETY_REVIEWER, None, sub="reviewer-9")

    async def scenario() -> tuple[int, int]:
        await settled(server)
        async with subscriber(server, reviewer) as ledger:
            await ledger.subscribe(LEDGER_CHANGED, {})
            await subscribed(server, 1)
            before = reads.reads
            await mutate(writer, SCREEN, screening_input(pid))
            await settled(server)
            ledger_only = reads.reads - before
            async with subscriber(server, reviewer) as watcher:
                await watcher.subscribe(PARTICIPANT_CHANGED, {"id": pid})
                await subscribed(server, 2)
                before = reads.reads
                await mutate(writer, INFUSE, infusion_input(pid))
                await watcher.push()
                return ledger_only, reads.reads - before

    ledger_only, watched = run(scenario())

    assert (ledger_only, watched) == (0, 1)
