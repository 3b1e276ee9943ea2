"""Bad input over HTTP: generated variables, named attacks and a schemathesis run of /graphql.

Whatever is sent, the answer is never an HTTP 5xx, never INTERNAL, every error carries the
contract's ``extensions.code`` unless it is a parse or validation error of the document itself
(which has no ``path``), and the store stays whole: each request adds an event and its event-log
row together or adds nothing, and a refused command adds nothing. A command that is accepted is
also projected: the read models reach the head of the event store within a bounded wait.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql
from schemathesis import GenerationMode

from domain.vocabulary import Role
from tests.e2e.conftest import GraphQLClient
from tests.e2e.documents import (
    BY_SUBJECT,
    CONSENT,
    CORRECT,
    INFUSE,
    PARTICIPANT,
    REPORT_AE,
    SCORE,
    SCREEN,
    UPDATE_AE,
    WITHDRAW,
    Shared,
    ae_input,
    ae_update_input,
    consent_input,
    correction_input,
    enrol,
    infusion_input,
    leaks_internals,
    projected,
    screening_input,
    shared_service,
    visit_input,
    withdrawal_input,
)

pytestmark = pytest.mark.e2e

TIMEOUT_S = 10.0
PROJECTED_WITHIN_S = 3.0


class Store:
    """Counts the schema's events and event-log rows around each request, on one connection."""

    def __init__(self, database_url: str, schema: str) -> None:
        self.connection = psycopg.connect(database_url, autocommit=True)
        self.statement = sql.SQL(
            "SELECT (SELECT count(*) FROM {s}.trial_events),"
            " (SELECT count(*) FROM {s}.trial_event_log)"
        ).format(s=sql.Identifier(schema))

    def rows(self) -> tuple[int, int]:
        row = self.connection.execute(self.statement).fetchone()
        assert row is not None
        return int(row[0]), int(row[1])


@pytest.fixture(scope="module")
def shared(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    """One service for the checks that do not wait for the read models."""
    with shared_service(database_url, tmp_path_factory.mktemp("fuzz")) as service:
        yield service


@pytest.fixture(scope="module")
def store(shared: Shared) -> Iterator[Store]:
    counting = Store(shared.database_url, shared.schema)
    yield counting
    counting.connection.close()


@pytest.fixture
def own_store(client: GraphQLClient, database_url: str, schema: str) -> Iterator[Store]:
    """The store of the test's own service (``client`` first: its tables exist then)."""
    counting = Store(database_url, schema)
    yield counting
    counting.connection.close()


def answered_well(
    response: httpx.Response, before: tuple[int, int], after: tuple[int, int]
) -> None:
    """The contract's promises for any request: see the module's docstring."""
    assert response.status_code < 500, response.text
    added = (after[0] - before[0], after[1] - before[1])
    assert added[0] == added[1], f"events and log rows added apart: {added}; {response.text}"
    if response.status_code != 200:
        assert added == (0, 0)
        return  # a malformed HTTP request (not JSON, no query): refused before GraphQL
    body = response.json()
    assert not leaks_internals(body)
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code not in ("INTERNAL", "SERVICE_UNAVAILABLE"), body
        assert code is not None or "path" not in error, f"an execution error without a code: {body}"
    if body.get("errors"):
        assert added == (0, 0), f"a refused command wrote {added}: {body}"


def post(
    client: GraphQLClient,
    token: str,
    document: str,
    variables: Any,
    timeout: float = TIMEOUT_S,
) -> httpx.Response:
    """POST with the variables encoded as given: NaN and lone surrogates pass through."""
    content = json.dumps({"query": document, "variables": variables}).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return client.http.post(client.url, content=content, headers=headers, timeout=timeout)


def accepted(response: httpx.Response) -> bool:
    return response.status_code == 200 and not response.json().get("errors")


# ----- generated variables for every mutation -----

Build = Callable[[str], dict[str, Any]]
# mutation → (the stage its participant is brought to (None: a new subject), the document,
# a valid input)
MUTATIONS: dict[str, tuple[str | None, str, Build]] = {
    "consent": (None, CONSENT, consent_input),
    "screen": ("CONSENTED", SCREEN, screening_input),
    "recordInfusion": ("ELIGIBLE", INFUSE, infusion_input),
    "scoreVisit": ("INFUSED", SCORE, lambda p: visit_input(p, "M1")),
    "correctVisit": ("M1_SCORED", CORRECT,
                     lambda p: correction_input(p, "M1", "typo", sdiItems=["CATARACT"])),
    "reportAdverseEvent": ("INFUSED", REPORT_AE, lambda p: ae_input(p, "AE-002")),
    "updateAdverseEvent": ("AE_REPORTED", UPDATE_AE, lambda p: ae_update_input(p, ctcaeGrade=1)),
    "withdraw": ("INFUSED", WITHDRAW, withdrawal_input),
}  # fmt: skip
OPTIONAL_KEYS = ("idempotencyKey", "expectedVersion", "note", "initials", "unknownField")
NASTY_TEXT = [
    "",
    " ",
    "\x00",
    "NJ01-\x00007",
    "\ud800",
    "' OR 1=1; --",
    "𝔑𝔍01",
    "\u202e",
    "a" * 3000,
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=16),
    st.sampled_from(NASTY_TEXT),
    st.sampled_from(["2025-02-30", "2025-06-20T02:00:00", "9999-12-31T23:59:59-14:00", "M13"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                  max_size=3),
    max_leaves=6,
)  # fmt: skip


def like(current: Any) -> st.SearchStrategy[Any]:
    """A value near ``current`` (same type, odd content) or any JSON value at all."""
    if isinstance(current, str):
        near: st.SearchStrategy[Any] = st.text(max_size=24) | st.sampled_from(NASTY_TEXT)
    elif isinstance(current, bool):
        near = st.none()
    elif isinstance(current, int | float):
        near = st.sampled_from([-1, 0, 0.05, 2**31, 1e308, -1e-308, 3.5, 11])
    elif isinstance(current, list):
        near = st.lists(st.sampled_from(current) if current else scalars, max_size=6)
    else:
        near = scalars
    return near | json_values


def mangle(data: st.DataObject, value: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """``value`` with a few of its keys removed, replaced or (nested once) mangled."""
    keys = sorted(set(value) | (set(OPTIONAL_KEYS) if depth == 0 else set()))
    chosen = data.draw(st.lists(st.sampled_from(keys), min_size=1, max_size=3, unique=True))
    mangled = dict(value)
    for key in chosen:
        current = value.get(key)
        action = data.draw(st.sampled_from(["replace", "replace", "drop", "nest"]))
        if action == "nest" and isinstance(current, dict) and depth == 0:
            mangled[key] = mangle(data, current, depth + 1)
        elif action == "drop":
            mangled.pop(key, None)
        else:
            mangled[key] = data.draw(like(current))
    return mangled


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_mutation_answers_with_a_code_and_writes_all_or_nothing_when_its_variables_are_generated(
    mutation: str, shared: Shared, store: Store
) -> None:
    stage, document, build = MUTATIONS[mutation]
    client = shared.client
    staff = client.as_role(Role.SITE_STAFF, "NJ01")
    subject = shared.new_subject()
    valid = build(subject if stage is None else enrol(staff, subject, until=stage))

    @settings(max_examples=30, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(data=st.data())
    def answers_well(data: st.DataObject) -> None:
        variables = {"input": mangle(data, valid)}
        before = store.rows()

        response = post(client, staff.token, document, variables)

        answered_well(response, before, store.rows())

    answers_well()


# ----- named attacks -----


@dataclass(frozen=True)
class Attack:
    stage: str | None  # None: the input names a new subject, which ``build`` is given
    document: str
    build: Build


# Commands the store must refuse or record whole; the service is shared, so nothing here waits
# for the read models.
ATTACKS: dict[str, Attack] = {
    "a NUL in a correction's reason": Attack(
        "M1_SCORED", CORRECT,
        lambda p: correction_input(p, "M1", "typo\x00", sdiItems=["CATARACT"])),
    "a NUL in an AE update's reason": Attack(
        "AE_REPORTED", UPDATE_AE, lambda p: ae_update_input(p, ctcaeGrade=1, reason="call\x00")),
    "a NUL in an idempotency key": Attack(
        "INFUSED", SCORE, lambda p: {**visit_input(p, "M1"), "idempotencyKey": "M1\x00"}),
    "a lone surrogate in a subject id": Attack(
        None, CONSENT, lambda s: consent_input(s + "\ud800")),
    "a lone surrogate in an AE term": Attack(
        "INFUSED", REPORT_AE, lambda p: ae_input(p, term="\udfff")),
    "a lone surrogate in an idempotency key": Attack(
        "INFUSED", REPORT_AE, lambda p: {**ae_input(p), "idempotencyKey": "\ud800"}),
    "an idempotency key of 16 000 random characters": Attack(
        "INFUSED", SCORE, lambda p: {**visit_input(p, "M1"),
                                     "idempotencyKey": secrets.token_hex(8000)}),
    "a reason of one megabyte": Attack(
        "AE_REPORTED", UPDATE_AE, lambda p: ae_update_input(p, ctcaeGrade=1,
                                                           reason="r" * 1_000_000)),
    "NaN for a PGA": Attack(
        "INFUSED", SCORE, lambda p: visit_input(p, "M1", pgaScore=float("nan"))),
    "Infinity for an eGFR": Attack(
        "INFUSED", SCORE, lambda p: visit_input(p, "M1", egfr=float("inf"))),
    "a 64-bit integer for an ICE score": Attack(
        "INFUSED", REPORT_AE, lambda p: ae_input(p, "AE-002", category="ICANS", crs=None, icans={
            "iceScore": 2**40, "consciousness": "NORMAL", "seizure": "NONE",
            "motorWeakness": False, "edema": "NONE"})),
    "an infusion at 9999-12-31T23:59:59-14:00": Attack(
        "ELIGIBLE", INFUSE, lambda p: infusion_input(p, infusedAt="9999-12-31T23:59:59-14:00")),
    "an infusion at 0001-01-01T00:00:00+14:00": Attack(
        "ELIGIBLE", INFUSE, lambda p: infusion_input(p, infusedAt="0001-01-01T00:00:00+14:00")),
    "an expected version of 2^31 - 1": Attack(
        "INFUSED", WITHDRAW, lambda p: withdrawal_input(p, expectedVersion=2**31 - 1)),
}  # fmt: skip


@pytest.mark.parametrize("name", ATTACKS)
def test_command_is_refused_or_recorded_whole_when_it_carries(
    name: str, shared: Shared, store: Store
) -> None:
    attack = ATTACKS[name]
    staff = shared.client.as_role(Role.SITE_STAFF, "NJ01")
    subject = shared.new_subject()
    target = subject if attack.stage is None else enrol(staff, subject, until=attack.stage)
    before = store.rows()

    response = post(shared.client, staff.token, attack.document, {"input": attack.build(target)})

    answered_well(response, before, store.rows())


# Commands that may be accepted: then every read model must reach them, on a service of its own.
ACCEPTABLE: dict[str, Attack] = {
    "SQL in a subject id": Attack(
        None, CONSENT, lambda s: consent_input(s + "'; DROP TABLE trial_events; --")),
    "a NUL in a subject id": Attack(None, CONSENT, lambda s: consent_input(s + "\x00")),
    "a NUL in the initials": Attack(None, CONSENT, lambda s: consent_input(s, initials="L\x00W")),
    "a NUL in an AE term": Attack("INFUSED", REPORT_AE, lambda p: ae_input(p, term="CRS\x00")),
    "a NUL in a withdrawal note": Attack(
        "INFUSED", WITHDRAW, lambda p: withdrawal_input(p, note="moved\x00away")),
    "an AE aware at 0001-01-01T00:00:00+14:00": Attack(
        "INFUSED", REPORT_AE, lambda p: ae_input(p, "AE-002", awareAt="0001-01-01T00:00:00+14:00")),
}  # fmt: skip


@pytest.mark.parametrize("name", ACCEPTABLE)
def test_command_is_refused_or_recorded_and_projected_when_it_carries(
    name: str, client: GraphQLClient, own_store: Store
) -> None:
    attack = ACCEPTABLE[name]
    staff = client.as_role(Role.SITE_STAFF, "NJ01")
    target = "NJ01-008" if attack.stage is None else enrol(staff, "NJ01-007", until=attack.stage)
    before = own_store.rows()

    response = post(client, staff.token, attack.document, {"input": attack.build(target)})

    answered_well(response, before, own_store.rows())
    if accepted(response):
        projected(client.url, timeout=PROJECTED_WITHIN_S)


QUERY_ATTACKS: dict[str, tuple[str, Build]] = {
    "a lone surrogate as a subject id": (BY_SUBJECT, lambda s: {"subjectId": s + "\ud800"}),
    "a NUL in a subject id": (BY_SUBJECT, lambda s: {"subjectId": s + "\x00"}),
    "asOf at 0001-01-01T00:00:00+14:00": (
        BY_SUBJECT, lambda s: {"subjectId": s, "asOf": "0001-01-01T00:00:00+14:00"}),
    "asOf at 9999-12-31T23:59:59-14:00": (
        BY_SUBJECT, lambda s: {"subjectId": s, "asOf": "9999-12-31T23:59:59-14:00"}),
    "an atVersion of 2^31 - 1": (
        PARTICIPANT, lambda _: {"id": "00000000-0000-4000-8000-000000000404",
                                "atVersion": 2**31 - 1}),
    "an id of a million characters": (PARTICIPANT, lambda _: {"id": "7" * 1_000_000}),
}  # fmt: skip


@pytest.mark.parametrize("name", QUERY_ATTACKS)
def test_query_answers_with_a_code_when_it_carries(name: str, shared: Shared, store: Store) -> None:
    document, build = QUERY_ATTACKS[name]
    client = shared.client
    subject = shared.new_subject()
    enrol(client.as_role(Role.SITE_STAFF, "NJ01"), subject, until="INFUSED")
    before = store.rows()

    response = post(client, client.token(Role.AUDITOR, None), document, build(subject))

    answered_well(response, before, store.rows())


REQUESTS: dict[str, dict[str, Any]] = {
    "a body that is not JSON": {"content": b'{"query": ', "headers": {"Content-Type":
                                                                    "application/json"}},
    "a batch of two operations": {"json": [{"query": "{ studySummary { consented } }"}] * 2},
    "variables that are a string": {"json": {"query": "{ __typename }", "variables": "{}"}},
    "no query at all": {"json": {"variables": {}}},
    "a query nested 300 deep": {"json": {"query": "{" + "a {" * 300 + "b" + "}" * 301}},
    "a form post": {"data": {"query": "{ __typename }"}},
    "a mutation over GET": {"params": {"query": 'mutation { withdraw(input: {participantId: '
                                                 '"x", withdrawnOn: "2025-09-01", reason: OTHER})'
                                                 " { version } }"}},
}  # fmt: skip


@pytest.mark.parametrize("name", REQUESTS)
def test_request_is_refused_without_a_server_error_when_it_is(
    name: str, shared: Shared, store: Store
) -> None:
    client = shared.client
    before = store.rows()
    token = client.token(Role.SITE_STAFF, "NJ01")
    method = "GET" if "params" in REQUESTS[name] else "POST"
    headers = {"Authorization": f"Bearer {token}", **REQUESTS[name].get("headers", {})}
    options = {k: v for k, v in REQUESTS[name].items() if k != "headers"}

    response = client.http.request(
        method, client.url, headers=headers, timeout=TIMEOUT_S, **options
    )

    answered_well(response, before, store.rows())
    assert response.status_code == 400 or response.json().get("errors")


# ----- read-your-writes past the head of the event store -----


def test_read_is_refused_at_once_when_min_position_is_past_the_head(
    shared: Shared, store: Store
) -> None:
    client = shared.client
    summary = "{ studySummary(minPosition: 1000000) { consented } }"
    before = store.rows()

    response = post(client, client.token(Role.SPONSOR, None), summary, {}, timeout=30)

    answered_well(response, before, store.rows())
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_INPUT"


# ----- schemathesis over every operation of the served schema -----

EXAMPLES = {GenerationMode.POSITIVE: 8, GenerationMode.NEGATIVE: 5}
# A read waits up to 10 s for a minPosition its read model has not reached; the fuzz run asks
# for one that is reached (the test above asks for one past the head).
REACHED = re.compile(r"minPosition: \d+")


def test_graphql_endpoint_never_fails_with_a_server_error_when_fuzzed_by_schemathesis(
    shared: Shared, store: Store
) -> None:
    client = shared.client
    staff = client.as_role(Role.SITE_STAFF, "NJ01")
    enrol(staff, shared.new_subject(), until="AE_REPORTED")
    headers = {"Authorization": f"Bearer {staff.token}"}
    loaded = schemathesis.graphql.from_url(client.url, headers=headers)
    operations = [result.ok() for result in loaded.get_all_operations()]
    failures: list[str] = []
    sent = 0
    started = time.monotonic()

    for operation in operations:
        for mode, examples in EXAMPLES.items():

            @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))  # fmt: skip
            @given(case=operation.as_strategy(generation_mode=mode))
            def answers_well(case: Any) -> None:
                nonlocal sent
                before = store.rows()
                query = REACHED.sub("minPosition: 1", case.body)
                response = client.http.post(
                    client.url, json={"query": query}, headers=headers, timeout=TIMEOUT_S
                )
                sent += 1
                answered_well(response, before, store.rows())

            try:
                answers_well()
            except AssertionError as failure:
                failures.append(f"{operation.label} ({mode.value}): {failure}")

    assert {o.label for o in operations} >= {"Mutation.consent", "Query.participant"}
    assert sent >= len(operations) * 2
    assert not failures, "\n".join(failures)
    print(f"\nschemathesis: {sent} requests in {time.monotonic() - started:.1f} s")
