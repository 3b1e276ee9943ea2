"""Every role × read path × site, beyond tests/e2e/test_access.py: point-in-time reads, the study
summary and the safety ledger, subscriptions, the audit trail, queries sent over the WebSocket,
and tokens that must not authenticate anywhere.

Two sites, each with data only its readers may see: NJ01-007 (infused, a serious CRS) and at NJ02
NJ02-003 (infused, herpes zoster) and NJ02-004 (consented). Each site's dates of birth, initials,
subject ids, participant ids and AE terms are searched for in every response body and every push:
a caller bound to the other site must find none of them, and SPONSOR and SAFETY_REVIEWER never
see a date of birth or initials, through any path, error messages included.
"""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import jwt
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from api.auth import issue_token
from domain.vocabulary import Role
from infra.bootstrap import bootstrap
from tests.conftest import TEST_JWT_SECRET, settings_for
from tests.e2e.conftest import GraphQLClient, RoleClient, RunningServer
from tests.e2e.documents import (
    BY_SUBJECT,
    CONSENT,
    INFUSE,
    PARTICIPANT,
    PARTICIPANT_FIELDS,
    PARTICIPANTS,
    REPORT_AE,
    SCORE,
    SCREEN,
    KeptAliveClient,
    ae_input,
    consent_input,
    enrol,
    error_code,
    infusion_input,
    leaks_internals,
    projected,
    scratch_schema,
    screening_input,
    stored_rows,
    visit_input,
)
from tests.e2e.test_subscriptions import (
    PROTOCOL,
    WAIT_S,
    hub_of,
    run,
    subscriber,
    until,
    ws_url,
)

pytestmark = pytest.mark.e2e

SITES = ("NJ01", "NJ02")
SITE_BOUND = (Role.SITE_STAFF, Role.INVESTIGATOR, Role.MONITOR)
PII_BY_SITE = {"NJ01": ("1988-04-17", "LMW"), "NJ02": ("1979-11-23", "QZX")}
TERMS = {"NJ01": "Cytokine release syndrome", "NJ02": "Herpes zoster"}


@dataclass(frozen=True)
class Caller:
    role: Role
    site: str | None = None

    def reads(self, site: str) -> bool:
        return self.role not in SITE_BOUND or self.site in (None, site)

    @property
    def sees_pii(self) -> bool:
        return self.role not in (Role.SPONSOR, Role.SAFETY_REVIEWER)

    @property
    def audits(self) -> bool:
        return self.role in (Role.AUDITOR, Role.MONITOR)


CALLERS = {
    f"{role.value}{'' if site is None else ' ' + site}": Caller(role, site)
    for role, site in [
        (Role.SITE_STAFF, "NJ01"), (Role.SITE_STAFF, "NJ02"),
        (Role.INVESTIGATOR, "NJ01"), (Role.INVESTIGATOR, "NJ02"),
        (Role.MONITOR, "NJ01"), (Role.MONITOR, "NJ02"), (Role.MONITOR, None),
        (Role.SPONSOR, None), (Role.SAFETY_REVIEWER, None), (Role.AUDITOR, None),
    ]
}  # fmt: skip
ALL_CALLERS = pytest.mark.parametrize("caller", CALLERS.values(), ids=CALLERS.keys())


def consent_at(site: str, subject: str) -> dict[str, Any]:
    """A consent carrying the site's own date of birth and initials (its PII markers)."""
    date_of_birth, initials = PII_BY_SITE[site]
    return consent_input(subject, site, dateOfBirth=date_of_birth, initials=initials)


def herpes_zoster(pid: str, ae_id: str = "AE-009") -> dict[str, Any]:
    return ae_input(
        pid, ae_id, term=TERMS["NJ02"], category="INFECTION", crs=None, relatedness="POSSIBLE"
    )


def serious_crs(pid: str, ae_id: str = "AE-001") -> dict[str, Any]:
    return ae_input(pid, ae_id, ctcaeGrade=3, serious=["HOSPITALISATION"])


@dataclass
class World:
    """The served study and what each site's readers alone may see."""

    server: RunningServer
    client: KeptAliveClient
    database_url: str
    schema: str
    pids: dict[str, str]  # subject id → participant id
    screened_at: str  # NJ01-007's screening: NJ01-007 at version 2, nobody infused yet
    markers: dict[str, set[str]] = field(default_factory=dict)
    serial: Iterator[int] = field(default_factory=lambda: count(200))

    def as_caller(self, caller: Caller) -> RoleClient:
        return self.client.as_role(caller.role, caller.site, sub="user-under-test")

    def staff(self, site: str) -> RoleClient:
        return self.client.as_role(Role.SITE_STAFF, site, sub=f"staff-{site}")

    def site_of(self, pid: str) -> str:
        return next(s for s, p in self.pids.items() if p == pid)[:4]

    def note(self, site: str, *values: str) -> None:
        self.markers.setdefault(site, set()).update(values)


@pytest.fixture(scope="module")
def world(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with scratch_schema(database_url) as schema:
        service = bootstrap(settings_for(database_url, tmp_path_factory.mktemp("matrix")),
                            schema=schema)  # fmt: skip
        service.start_projector()
        server = RunningServer(service)
        client = KeptAliveClient(server.url, service.jwt_secret)
        try:
            server.start()
            yield populate(World(server, client, database_url, schema, {}, ""))
        finally:
            client.http.close()
            server.stop()
            service.close()


def populate(world: World) -> World:
    nj01, nj02 = world.staff("NJ01"), world.staff("NJ02")
    for writer, site, subject in [(nj01, "NJ01", "NJ01-007"), (nj02, "NJ02", "NJ02-003"),
                                  (nj02, "NJ02", "NJ02-004")]:  # fmt: skip
        pid = writer.data(CONSENT, {"input": consent_at(site, subject)})["consent"]
        world.pids[subject] = pid["participantId"]
        world.note(site, subject, pid["participantId"], *PII_BY_SITE[site], TERMS[site])
    a, b = world.pids["NJ01-007"], world.pids["NJ02-003"]
    world.screened_at = enrol_steps(nj01, a)
    enrol_steps(nj02, b)
    nj01.data(REPORT_AE, {"input": serious_crs(a)})
    nj02.data(REPORT_AE, {"input": herpes_zoster(b)})
    projected(world.client.url)
    return world


def enrol_steps(writer: RoleClient, pid: str) -> str:
    """Screen and infuse an already consented participant; the screening's recordedAt."""
    screened = writer.data(SCREEN, {"input": screening_input(pid)})["screen"]["recordedAt"]
    writer.data(INFUSE, {"input": infusion_input(pid)})
    return str(screened)


def strings_in(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return {s for v in value.values() for s in strings_in(v)}
    if isinstance(value, list):
        return {s for v in value for s in strings_in(v)}
    return set()


def shows_only_what_the_caller_may_see(
    world: World, caller: Caller, answer: Any, sent: Any = None
) -> None:
    """No marker of a site the caller may not read (except what it sent), and no PII unless
    the caller's role sees PII."""
    text = json.dumps(answer, ensure_ascii=False)
    asked = strings_in(sent)
    for site in SITES:
        if not caller.reads(site):
            leaked = sorted(m for m in world.markers[site] - asked if m in text)
            assert not leaked, f"{site} data shown to {caller}: {leaked}"
        if not caller.sees_pii:
            leaked = [m for m in PII_BY_SITE[site] if m in text]
            assert not leaked, f"PII shown to {caller.role.value}: {leaked}"
    assert not leaks_internals(answer)


# ----- point-in-time reads of one participant -----

Build = Callable[[World], dict[str, Any]]
# name → (document, variables, subject read, the version expected)
ONE_PARTICIPANT: dict[str, tuple[str, Build, str, int]] = {
    "participant atVersion 2": (
        PARTICIPANT, lambda w: {"id": w.pids["NJ01-007"], "atVersion": 2}, "NJ01-007", 2),
    "participant asOf its screening": (
        PARTICIPANT, lambda w: {"id": w.pids["NJ01-007"], "asOf": w.screened_at}, "NJ01-007", 2),
    "participantBySubject asOf its screening": (
        BY_SUBJECT, lambda w: {"subjectId": "NJ01-007", "asOf": w.screened_at}, "NJ01-007", 2),
    "participant of NJ02": (PARTICIPANT, lambda w: {"id": w.pids["NJ02-003"]}, "NJ02-003", 4),
    "participant of NJ02 atVersion 1": (
        PARTICIPANT, lambda w: {"id": w.pids["NJ02-003"], "atVersion": 1}, "NJ02-003", 1),
    "participant of NJ02 asOf now": (
        PARTICIPANT,
        lambda w: {"id": w.pids["NJ02-004"], "asOf": datetime.now(UTC).isoformat()},
        "NJ02-004", 1),
    "participantBySubject of NJ02 asOf now": (
        BY_SUBJECT,
        lambda w: {"subjectId": "NJ02-003", "asOf": datetime.now(UTC).isoformat()},
        "NJ02-003", 4),
}  # fmt: skip


@pytest.mark.parametrize("read", ONE_PARTICIPANT)
@ALL_CALLERS
def test_point_in_time_read_shows_the_participant_by_site_and_pii_by_role(
    caller: Caller, read: str, world: World
) -> None:
    document, build, subject, version = ONE_PARTICIPANT[read]
    variables = build(world)

    body = world.as_caller(caller).post(document, variables)

    shows_only_what_the_caller_may_see(world, caller, body, variables)
    participant = next(iter(body["data"].values()))
    site = subject[:4]
    if caller.reads(site):
        assert "errors" not in body
        assert (participant["subjectId"], participant["version"]) == (subject, version)
        pii = (participant["dateOfBirth"], participant["initials"])
        assert pii == (PII_BY_SITE[site] if caller.sees_pii else (None, None))
    else:
        assert error_code(body) == "FORBIDDEN"
        assert participant is None


# ----- the study summary and the safety ledger -----

SUMMARY = """query($asOf: DateTime) { studySummary(asOf: $asOf) {
  asOf consented screenFailed eligible infused withdrawn
  screenFailuresByCriterion { code count } endpoints { endpoint visit responders evaluable } } }"""
LEDGER = """query($asOf: DateTime, $seriousOnly: Boolean) {
  safetyLedger(asOf: $asOf, seriousOnly: $seriousOnly) {
    entries { participantId subjectId site event { aeId term category ctcaeGrade serious } }
    totals { participantsInfused participantsWithAe participantsWithSae crsAnyGrade deaths } } }"""

# name → (document, variables, the counts each site contributes)
AGGREGATES: dict[str, tuple[str, Build, dict[str, dict[str, int]]]] = {
    "studySummary": (SUMMARY, lambda w: {}, {
        "NJ01": {"consented": 1, "infused": 1}, "NJ02": {"consented": 2, "infused": 1}}),
    "studySummary asOf now": (SUMMARY, lambda w: {"asOf": datetime.now(UTC).isoformat()}, {
        "NJ01": {"consented": 1, "infused": 1}, "NJ02": {"consented": 2, "infused": 1}}),
    "studySummary asOf NJ01-007's screening": (SUMMARY, lambda w: {"asOf": w.screened_at}, {
        "NJ01": {"consented": 1, "eligible": 1, "infused": 0},
        "NJ02": {"consented": 2, "eligible": 0, "infused": 0}}),
    "safetyLedger": (LEDGER, lambda w: {}, {
        "NJ01": {"entries": 1, "participantsWithAe": 1, "participantsWithSae": 1},
        "NJ02": {"entries": 1, "participantsWithAe": 1, "participantsWithSae": 0}}),
    "safetyLedger asOf now": (LEDGER, lambda w: {"asOf": datetime.now(UTC).isoformat()}, {
        "NJ01": {"entries": 1, "participantsInfused": 1, "crsAnyGrade": 1},
        "NJ02": {"entries": 1, "participantsInfused": 1, "crsAnyGrade": 0}}),
    "safetyLedger seriousOnly": (LEDGER, lambda w: {"seriousOnly": True}, {
        "NJ01": {"entries": 1}, "NJ02": {"entries": 0}}),
    "safetyLedger asOf NJ01-007's screening": (LEDGER, lambda w: {"asOf": w.screened_at}, {
        "NJ01": {"entries": 0, "participantsInfused": 0},
        "NJ02": {"entries": 0, "participantsInfused": 0}}),
}  # fmt: skip


def counted(view: dict[str, Any]) -> dict[str, int]:
    """The view's counts, flattened: its own integers, its totals' and its number of entries."""
    numbers = {k: v for k, v in {**view, **view.get("totals", {})}.items() if isinstance(v, int)}
    if "entries" in view:
        numbers["entries"] = len(view["entries"])
    return numbers


@pytest.mark.parametrize("read", AGGREGATES)
@ALL_CALLERS
def test_aggregate_counts_only_the_sites_the_caller_may_read(
    caller: Caller, read: str, world: World
) -> None:
    document, build, by_site = AGGREGATES[read]
    variables = build(world)
    projected(world.client.url)

    body = world.as_caller(caller).post(document, variables)

    assert "errors" not in body, body["errors"]
    shows_only_what_the_caller_may_see(world, caller, body, variables)
    view = next(iter(body["data"].values()))
    expected = {
        name: sum(counts[name] for site, counts in by_site.items() if caller.reads(site))
        for name in by_site["NJ01"]
    }
    assert {name: counted(view)[name] for name in expected} == expected
    for entry in view.get("entries", []):
        assert caller.reads(entry["site"])


@ALL_CALLERS
def test_participants_of_a_status_lists_only_the_callers_sites_when_filtered(
    caller: Caller, world: World
) -> None:
    projected(world.client.url)

    body = world.as_caller(caller).post(PARTICIPANTS, {"status": "INFUSED"})

    shows_only_what_the_caller_may_see(world, caller, body)
    listed = sorted(p["subjectId"] for p in body["data"]["participants"])
    infused = [s for s in ("NJ01-007", "NJ02-003") if caller.reads(s[:4])]
    assert sorted(s for s in listed if s in ("NJ01-007", "NJ02-003")) == infused


# ----- errors say no more than the caller may know -----

ERRORS: dict[str, tuple[str, Build, str]] = {
    "an id that is not a UUID": (PARTICIPANT, lambda w: {"id": "NJ01-007"}, "BAD_INPUT"),
    "a negative atVersion": (
        PARTICIPANT, lambda w: {"id": w.pids["NJ01-007"], "atVersion": -1}, "BAD_INPUT"),
    "an asOf without an offset": (
        PARTICIPANT, lambda w: {"id": w.pids["NJ02-003"], "asOf": "2025-06-10T08:00:00"},
        "BAD_INPUT"),
    "a summary asOf without an offset": (SUMMARY, lambda w: {"asOf": "2025-06-10T08:00"},
                                         "BAD_INPUT"),
    "a score of NJ01-007 (a write)": (
        SCORE, lambda w: {"input": visit_input(w.pids["NJ01-007"], "M1", pgaScore=9.5)},
        "BAD_INPUT"),
}  # fmt: skip


@pytest.mark.parametrize("case", ERRORS)
@ALL_CALLERS
def test_error_message_shows_nothing_the_caller_may_not_see_when_a_read_is_refused(
    caller: Caller, case: str, world: World
) -> None:
    document, build, _ = ERRORS[case]
    variables = build(world)

    body = world.as_caller(caller).post(document, variables)

    assert body.get("errors"), body
    assert error_code(body) in (ERRORS[case][2], "FORBIDDEN")
    shows_only_what_the_caller_may_see(world, caller, body, variables)


# ----- the audit trail (AUDITOR everything, MONITOR its sites, everyone else FORBIDDEN) -----

AUDIT_TRAIL = """query($participantId: ID, $after: Int, $limit: Int) {
  auditTrail(participantId: $participantId, after: $after, limit: $limit) {
    entries { position participantId version eventType recordedAt actor actorRole actorSite
      reason data hash previousHash }
    nextAfter } }"""
VERIFY = """{ verifyAuditChain { ok streamsChecked eventsChecked firstBrokenParticipantId
  firstBrokenVersion } }"""


@ALL_CALLERS
def test_audit_trail_lists_the_events_of_the_monitors_sites_or_is_forbidden(
    caller: Caller, world: World
) -> None:
    body = world.as_caller(caller).post(AUDIT_TRAIL, {"limit": 1000})

    shows_only_what_the_caller_may_see(world, caller, body)
    if caller.audits:
        assert "errors" not in body, body["errors"]
        entries = body["data"]["auditTrail"]["entries"]
        sites = {world.site_of(e["participantId"]) for e in entries if e["participantId"]
                 in world.pids.values()}  # fmt: skip
        assert sites == {s for s in SITES if caller.reads(s)}
        positions = [e["position"] for e in entries]
        assert positions == sorted(set(positions))
    else:
        assert error_code(body) == "FORBIDDEN"
        assert body["data"] is None


@ALL_CALLERS
def test_audit_trail_of_nj01_007_shows_its_consent_with_pii_or_is_forbidden(
    caller: Caller, world: World
) -> None:
    pid = world.pids["NJ01-007"]

    body = world.as_caller(caller).post(AUDIT_TRAIL, {"participantId": pid})

    shows_only_what_the_caller_may_see(world, caller, body, {"participantId": pid})
    if caller.audits and caller.reads("NJ01"):
        entries = body["data"]["auditTrail"]["entries"]
        assert [e["version"] for e in entries] == [1, 2, 3, 4]
        assert [e["eventType"] for e in entries][:3] == ["Consented", "Screened", "Infused"]
        consent = json.dumps(entries[0]["data"])
        assert "1988-04-17" in consent and "LMW" in consent
        assert entries[0]["previousHash"] is None
        assert [e["previousHash"] for e in entries[1:]] == [e["hash"] for e in entries[:-1]]
    else:
        assert error_code(body) == "FORBIDDEN"
        assert body["data"] is None


@pytest.mark.parametrize(
    "caller", [CALLERS["MONITOR NJ02"], CALLERS["MONITOR NJ01"]], ids=["NJ02", "NJ01"]
)
def test_audit_trail_pages_hold_only_the_monitors_site_when_walked_one_entry_at_a_time(
    caller: Caller, world: World
) -> None:
    monitor = world.as_caller(caller)
    seen: list[dict[str, Any]] = []
    after: int | None = None

    for _ in range(50):
        body = monitor.post(AUDIT_TRAIL, {"after": after, "limit": 1})
        shows_only_what_the_caller_may_see(world, caller, body)
        page = body["data"]["auditTrail"]
        seen += page["entries"]
        after = page["nextAfter"]
        if after is None:
            break

    assert after is None
    assert seen, "the monitor's site has events"
    assert {world.site_of(e["participantId"]) for e in seen} == {caller.site}


@ALL_CALLERS
def test_verify_audit_chain_answers_only_the_auditor(caller: Caller, world: World) -> None:
    body = world.as_caller(caller).post(VERIFY)

    shows_only_what_the_caller_may_see(world, caller, body)
    if caller.role is Role.AUDITOR:
        verification = body["data"]["verifyAuditChain"]
        assert (verification["ok"], verification["firstBrokenParticipantId"]) == (True, None)
        assert verification["streamsChecked"] >= 3
    else:
        assert error_code(body) == "FORBIDDEN"
        assert body["data"] is None


READ_ACCESS_LOG = """{ readAccessLog(limit: 1000) { entries { id actor actorRole actorSite
  operation participantIds detail } nextAfter } }"""


@ALL_CALLERS
def test_read_access_log_answers_only_the_auditor(caller: Caller, world: World) -> None:
    pid = world.pids["NJ01-007"]
    world.as_caller(CALLERS["SPONSOR"]).data(PARTICIPANT, {"id": pid})

    body = world.as_caller(caller).post(READ_ACCESS_LOG)

    shows_only_what_the_caller_may_see(world, caller, body)
    if caller.role is Role.AUDITOR:
        entries = body["data"]["readAccessLog"]["entries"]
        assert any(pid in e["participantIds"] and e["actorRole"] == "SPONSOR" for e in entries)
    else:
        assert error_code(body) == "FORBIDDEN"
        assert body["data"] is None


# ----- subscriptions: what each caller is pushed -----

PARTICIPANT_CHANGED = f"subscription {{ participantChanged {{ {PARTICIPANT_FIELDS} }} }}"
ONE_CHANGED = "subscription($id: ID) { participantChanged(id: $id) { id version } }"
LEDGER_CHANGED = LEDGER.replace("query($asOf: DateTime, $seriousOnly: Boolean)", "subscription")
LEDGER_CHANGED = LEDGER_CHANGED.replace("(asOf: $asOf, seriousOnly: $seriousOnly)", "Changed")
SUMMARY_CHANGED = SUMMARY.replace("query($asOf: DateTime)", "subscription").replace(
    "studySummary(asOf: $asOf)", "studySummaryChanged"
)


@dataclass
class Pushes:
    """What one connection was pushed, per subscription."""

    participants: list[dict[str, Any]] = field(default_factory=list)
    ledgers: list[dict[str, Any]] = field(default_factory=list)
    summaries: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)


def changes_at_every_site(world: World, caller: Caller) -> dict[str, int]:
    """Consent a subject and report an AE at each site, the sites the caller may not read first;
    the participants (id → version) the caller may read that changed."""
    n = next(world.serial)
    changed: dict[str, int] = {}
    for site in sorted(SITES, key=caller.reads):
        writer = world.staff(site)
        subject = f"{site}-{n}"
        consented = writer.data(CONSENT, {"input": consent_at(site, subject)})["consent"]
        world.pids[subject] = consented["participantId"]
        world.note(site, subject, consented["participantId"])
        infused = world.pids["NJ01-007" if site == "NJ01" else "NJ02-003"]
        report = serious_crs if site == "NJ01" else herpes_zoster
        reported = writer.data(REPORT_AE, {"input": report(infused, f"AE-{n}")})
        if caller.reads(site):
            changed[consented["participantId"]] = 1
            changed[infused] = reported["reportAdverseEvent"]["version"]
    return changed


@ALL_CALLERS
def test_subscriptions_push_only_the_callers_sites_and_pii_by_role_when_both_sites_change(
    caller: Caller, world: World
) -> None:
    reader = world.as_caller(caller)
    hub = hub_of(world.server)

    async def scenario() -> tuple[Pushes, dict[str, int], dict[str, Any], dict[str, Any]]:
        pushes = Pushes()
        async with subscriber(world.server, reader.token) as sub:
            kinds = {
                await sub.subscribe(PARTICIPANT_CHANGED): pushes.participants,
                await sub.subscribe(LEDGER_CHANGED): pushes.ledgers,
                await sub.subscribe(SUMMARY_CHANGED): pushes.summaries,
            }
            await until(lambda: hub.subscribers == 3, "three subscriptions")
            changed = await asyncio.to_thread(changes_at_every_site, world, caller)
            await asyncio.to_thread(projected, world.client.url)
            ledger = (await asyncio.to_thread(reader.data, LEDGER))["safetyLedger"]
            summary = (await asyncio.to_thread(reader.data, SUMMARY))["studySummary"]

            def complete() -> bool:
                pushed = {p["id"]: p["version"] for p in pushes.participants}
                return (
                    all(pushed.get(pid) == version for pid, version in changed.items())
                    and bool(pushes.ledgers) and pushes.ledgers[-1] == ledger
                    and bool(pushes.summaries) and pushes.summaries[-1] == summary
                )  # fmt: skip

            deadline = asyncio.get_running_loop().time() + WAIT_S
            while not complete():
                assert asyncio.get_running_loop().time() < deadline, pushes
                message = await sub.message()
                pushes.messages.append(message)
                assert message["type"] == "next", message
                kinds[message["id"]].append(next(iter(message["payload"]["data"].values())))
        return pushes, changed, ledger, summary

    pushes, changed, ledger, summary = run(scenario())

    for message in pushes.messages:
        assert not message["payload"].get("errors"), message
        shows_only_what_the_caller_may_see(world, caller, message)
    for participant in pushes.participants:
        assert caller.reads(participant["site"])
        present = (participant["dateOfBirth"], participant["initials"]) != (None, None)
        assert present is caller.sees_pii
    assert (pushes.ledgers[-1], pushes.summaries[-1]) == (ledger, summary)
    assert {e["site"] for e in ledger["entries"]} == {s for s in SITES if caller.reads(s)}
    assert {p["id"] for p in pushes.participants} >= set(changed)


@pytest.mark.parametrize("subject", ["NJ01-007", "NJ02-003"])
@ALL_CALLERS
def test_participant_changed_of_one_participant_is_forbidden_unless_the_caller_reads_its_site(
    caller: Caller, subject: str, world: World
) -> None:
    reader = world.as_caller(caller)
    hub = hub_of(world.server)

    async def scenario() -> tuple[int, dict[str, Any] | None]:
        async with subscriber(world.server, reader.token) as sub:
            await until(lambda: hub.subscribers == 0, "no subscription left open")
            await sub.subscribe(ONE_CHANGED, {"id": world.pids[subject]})
            if caller.reads(subject[:4]):
                await until(lambda: hub.subscribers == 1, "the subscription")
                return hub.subscribers, None
            return hub.subscribers, await sub.message()

    subscribers, refusal = run(scenario())

    if caller.reads(subject[:4]):
        assert (subscribers, refusal) == (1, None)
    else:
        assert subscribers == 0
        assert refusal is not None and refusal["type"] == "error"
        assert [e["extensions"]["code"] for e in refusal["payload"]] == ["FORBIDDEN"]
        shows_only_what_the_caller_may_see(world, caller, refusal, world.pids[subject])


# ----- queries and mutations over the WebSocket obey the same rules -----


def over_websocket(world: World, token: str, document: str, variables: dict[str, Any]) -> Any:
    async def scenario() -> dict[str, Any]:
        async with subscriber(world.server, token) as sub:
            await sub.subscribe(document, variables)
            message: dict[str, Any] = await sub.message()
            return message

    return run(scenario())


@pytest.mark.parametrize(
    "caller", [CALLERS["SPONSOR"], CALLERS["SAFETY_REVIEWER"], CALLERS["SITE_STAFF NJ02"]],
    ids=["SPONSOR", "SAFETY_REVIEWER", "SITE_STAFF NJ02"],
)  # fmt: skip
def test_query_over_the_websocket_masks_pii_or_is_forbidden_like_over_http(
    caller: Caller, world: World
) -> None:
    token = world.as_caller(caller).token
    variables = {"id": world.pids["NJ01-007"], "atVersion": 2}

    message = over_websocket(world, token, PARTICIPANT, variables)

    shows_only_what_the_caller_may_see(world, caller, message, variables)
    if caller.reads("NJ01"):
        assert message["type"] == "next"
        participant = message["payload"]["data"]["participant"]
        assert (participant["version"], participant["dateOfBirth"]) == (2, None)
    else:
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert [e["extensions"]["code"] for e in errors] == ["FORBIDDEN"]


@pytest.mark.parametrize(
    "caller", [CALLERS["SPONSOR"], CALLERS["AUDITOR"], CALLERS["SITE_STAFF NJ02"]],
    ids=["SPONSOR", "AUDITOR", "SITE_STAFF NJ02"],
)  # fmt: skip
def test_mutation_over_the_websocket_is_forbidden_and_records_nothing_like_over_http(
    caller: Caller, world: World
) -> None:
    token = world.as_caller(caller).token
    variables = {"input": visit_input(world.pids["NJ01-007"], "M1")}
    rows = stored_rows(world.database_url, world.schema)

    message = over_websocket(world, token, SCORE, variables)

    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert [e["extensions"]["code"] for e in errors] == ["FORBIDDEN"]
    assert stored_rows(world.database_url, world.schema) == rows


# ----- a write cannot borrow another site's idempotency key -----


def test_command_reusing_another_sites_idempotency_key_learns_nothing_of_that_site(
    world: World,
) -> None:
    nj01, nj02 = world.staff("NJ01"), world.staff("NJ02")
    key = "nurse-zhou/AE-K/2025-06-21"
    nj01.data(REPORT_AE, {"input": {**serious_crs(world.pids["NJ01-007"], "AE-K"),
                                    "idempotencyKey": key}})  # fmt: skip
    rows = stored_rows(world.database_url, world.schema)
    borrowed = {**herpes_zoster(world.pids["NJ02-003"], "AE-K"), "idempotencyKey": key}
    same_input = {**serious_crs(world.pids["NJ01-007"], "AE-K"), "idempotencyKey": key}

    answers = [nj02.post(REPORT_AE, {"input": value}) for value in (borrowed, same_input)]

    assert [error_code(a) for a in answers] == ["IDEMPOTENCY_CONFLICT", "FORBIDDEN"]
    for answer, sent in zip(answers, (borrowed, same_input), strict=True):
        shows_only_what_the_caller_may_see(world, CALLERS["SITE_STAFF NJ02"], answer, sent)
        assert answer["data"] is None
    assert stored_rows(world.database_url, world.schema) == rows


# ----- tokens that must not authenticate, over HTTP and over the WebSocket -----


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(datetime.now(UTC).timestamp())
    return {"sub": "eve", "role": "AUDITOR", "exp": now + 3600, **changes}


def _hs512(claims: dict[str, Any]) -> str:
    """Signed with the server's own secret, but not with the algorithm it accepts."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.encode(claims, TEST_JWT_SECRET, algorithm="HS512")


def _edited() -> str:
    """A SPONSOR's valid token with its payload swapped for an AUDITOR's."""
    header, _, signature = issue_token(TEST_JWT_SECRET, Role.SPONSOR, subject="eve").split(".")
    payload = jwt.utils.base64url_encode(json.dumps(_claims()).encode()).decode()
    return f"{header}.{payload}.{signature}"


NOT_TOKENS: dict[str, Callable[[], str]] = {
    "signed with HS512": lambda: _hs512(_claims()),
    "not valid before an hour from now": lambda: jwt.encode(
        _claims(nbf=int((datetime.now(UTC) + timedelta(hours=1)).timestamp())), TEST_JWT_SECRET
    ),
    "with a lower-case role": lambda: jwt.encode(_claims(role="auditor"), TEST_JWT_SECRET),
    "of SITE_STAFF naming two sites": lambda: jwt.encode(
        _claims(role="SITE_STAFF", site="NJ01,NJ02"), TEST_JWT_SECRET
    ),
    "with a string expiry": lambda: jwt.encode(_claims(exp="tomorrow"), TEST_JWT_SECRET),
    "whose payload was edited after signing": _edited,
}


@pytest.mark.parametrize("make", NOT_TOKENS.values(), ids=NOT_TOKENS.keys())
def test_token_is_refused_over_http_and_websocket_when_it(
    make: Callable[[], str], world: World
) -> None:
    token = make()

    body = world.client.post(PARTICIPANT, {"id": world.pids["NJ01-007"]}, token=token)
    close_code = run(handshake_close_code(world, token))

    assert error_code(body) == "UNAUTHENTICATED"
    assert body["data"] == {"participant": None}
    shows_only_what_the_caller_may_see(world, Caller(Role.SPONSOR), body)
    assert close_code == 4403


async def handshake_close_code(world: World, token: str) -> int | None:
    """The code the server closes with after a connection_init carrying ``token``."""
    async with connect(ws_url(world.server), subprotocols=[PROTOCOL]) as ws:
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        await ws.send(json.dumps(init))
        try:
            await asyncio.wait_for(ws.recv(), WAIT_S)
        except ConnectionClosed as closed:
            return None if closed.rcvd is None else closed.rcvd.code
    return None


# ----- a signed token whose claims the store cannot hold -----

ODD_SUBJECTS = {
    "a NUL character": "nurse\x00li",
    "a lone surrogate": "nurse\ud800li",
    "a hundred thousand characters": "n" * 100_000,
}


@pytest.mark.parametrize("subject", ODD_SUBJECTS.values(), ids=ODD_SUBJECTS.keys())
def test_write_is_refused_whole_or_recorded_with_its_log_row_when_the_token_subject_holds(
    subject: str, client: GraphQLClient, database_url: str, schema: str
) -> None:
    site_staff = client.as_role(Role.SITE_STAFF, "NJ01")
    pid = enrol(site_staff, "NJ01-007", until="INFUSED")  # a service of its own: it may break
    token = issue_token(TEST_JWT_SECRET, Role.SITE_STAFF, subject=subject, site="NJ01")
    events, log = stored_rows(database_url, schema)

    body = client.post(SCORE, {"input": visit_input(pid, "M1")}, token=token)

    after = stored_rows(database_url, schema)
    version = site_staff.data(PARTICIPANT, {"id": pid})["participant"]["version"]
    recorded = 0 if body.get("errors") else 1
    assert (after[0] - events, after[1] - log, version) == (recorded, recorded, 3 + recorded), body
    assert error_code(body) in (None, "UNAUTHENTICATED", "BAD_INPUT"), body
