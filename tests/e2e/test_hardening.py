"""The API's guards against abusive or unlucky requests, seen over HTTP.

Documents past the depth, alias or token limits are refused before they run; bodies past
256 KiB are refused with 413 whether they declare their length or stream it in chunks;
introspection and GraphiQL follow TRIAL_ENV and TRIAL_INTROSPECTION; an unexpected fault is
answered INTERNAL without a detail of it. (Bad tokens are refused in test_access.py; WebSocket
origins are checked in test_subscriptions.py.)
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.limits import MAX_BODY_BYTES
from domain.vocabulary import Role
from infra.bootstrap import Service, bootstrap
from infra.config import Settings
from tests.conftest import TEST_JWT_SECRET, settings_for
from tests.e2e.conftest import GraphQLClient, RunningServer
from tests.e2e.documents import (
    CONSENT,
    PARTICIPANT,
    consent_input,
    error_code,
    leaks_internals,
    scratch_schema,
    stored_rows,
)

pytestmark = pytest.mark.e2e

INTROSPECTION = "{ __schema { queryType { name } } }"
PRODUCTION = {"TRIAL_ENV": "production"}
CONFIGURATIONS = {
    "development": {},
    "production": PRODUCTION,
    "production with TRIAL_INTROSPECTION=1": {**PRODUCTION, "TRIAL_INTROSPECTION": "1"},
}


@dataclass(frozen=True)
class Served:
    """One service on its own schema, served under each configuration of CONFIGURATIONS."""

    service: Service
    clients: dict[str, GraphQLClient]
    schema: str
    subjects: Iterator[int]

    def client(self, configuration: str = "development") -> GraphQLClient:
        return self.clients[configuration]

    def new_subject(self) -> str:
        return f"NJ01-{next(self.subjects):03d}"

    def rows(self) -> tuple[int, int]:
        return stored_rows(self.service.database_url, self.schema)


def configured(service: Service, data_dir: Path, env: dict[str, str]) -> Service:
    """The same service with the settings ``env`` gives; create_app reads them."""
    base = {"TRIAL_DATABASE_URL": service.database_url, "TRIAL_DATA_DIR": str(data_dir)}
    settings = Settings.from_env({**base, "TRIAL_JWT_SECRET": TEST_JWT_SECRET, **env})
    return dataclasses.replace(service, settings=settings)


@pytest.fixture(scope="module")
def served(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("hardening")
    with scratch_schema(database_url) as schema:
        service = bootstrap(settings_for(database_url, data_dir), schema=schema)
        servers = {
            name: RunningServer(configured(service, data_dir, env))
            for name, env in CONFIGURATIONS.items()
        }
        clients = {
            name: GraphQLClient(server.url, TEST_JWT_SECRET) for name, server in servers.items()
        }
        try:
            for server in servers.values():
                server.start()
            yield Served(service, clients, schema, count(401))
        finally:
            for client in clients.values():
                client.http.close()
            for server in servers.values():
                server.stop()
            service.close()


def post(client: GraphQLClient, body: bytes | Iterator[bytes]) -> httpx.Response:
    """POST a raw body (bytes, or chunks sent without a Content-Length) as staff of NJ01."""
    headers = {
        "Authorization": f"Bearer {client.token(Role.SITE_STAFF)}",
        "Content-Type": "application/json",
    }
    return client.http.post(client.url, content=body, headers=headers)


# ----- limits on the document -----


def nested(depth: int) -> str:
    """A query whose selections nest ``depth`` fields deep."""
    selection = "id"
    for level in range(depth - 1):
        selection = f"f{level} {{ {selection} }}"
    return f"{{ {selection} }}"


def consents(how_many: int) -> str:
    """One mutation consenting ``how_many`` subjects, each under an alias."""
    fields = " ".join(
        f'a{n}: consent(input: {{subjectId: "NJ01-{n:03d}", site: "NJ01", consentVersion: "v2.1",'
        f' signedOn: "2025-06-02", dateOfBirth: "1988-04-17", sex: FEMALE, initials: "LMW"}})'
        " { version }"
        for n in range(how_many)
    )
    return f"mutation {{ {fields} }}"


def cycle(turns: int) -> str:
    """An introspection query that turns ``turns`` times round types → fields → type."""
    inner = "name"
    for _ in range(turns):
        inner = f"name fields {{ name type {{ name fields {{ name type {{ {inner} }} }} }} }}"
    return f"{{ __schema {{ types {{ {inner} }} }} }}"


OVER_LIMITS = {
    "fields nested 13 below the root": (nested(14), "exceeds maximum operation depth of 12"),
    "31 aliases": (consents(31), "31 aliases found. Allowed: 30"),
    "more than 5000 tokens": ("{ " + "__typename " * 5001 + "}", "more than 5000 tokens"),
    "a cycle through the introspection types": (cycle(4), "Maximum introspection depth exceeded"),
}


@pytest.mark.parametrize(("document", "message"), OVER_LIMITS.values(), ids=OVER_LIMITS.keys())
def test_document_is_refused_unrun_and_records_nothing_when_it_has(
    served: Served, document: str, message: str
) -> None:
    staff = served.client().as_role(Role.SITE_STAFF)
    rows = served.rows()

    body = staff.post(document)

    assert body["data"] is None
    assert any(message in error["message"] for error in body["errors"]), body["errors"]
    assert served.rows() == rows


@pytest.mark.parametrize(("document", "message"), OVER_LIMITS.values(), ids=OVER_LIMITS.keys())
def test_document_is_refused_again_when_it_is_sent_a_second_time_and_its_parse_is_cached(
    served: Served, document: str, message: str
) -> None:
    staff = served.client().as_role(Role.SITE_STAFF)
    rows = served.rows()
    first = staff.post(document)

    again = staff.post(document)

    assert again == first
    assert any(message in error["message"] for error in again["errors"]), again["errors"]
    assert served.rows() == rows


def test_mutation_of_30_aliased_consents_is_served_when_30_is_the_limit(served: Served) -> None:
    staff = served.client().as_role(Role.SITE_STAFF)
    events, log = served.rows()

    data = staff.data(consents(30))

    assert {result["version"] for result in data.values()} == {1}
    assert served.rows() == (events + 30, log + 30)


# ----- the size of the body -----


def padded_consent(subject: str, size: int) -> bytes:
    """A consent mutation of ``subject`` whose JSON body is ``size`` bytes long (an unused
    variable carries the padding)."""
    document = {"query": CONSENT, "variables": {"input": consent_input(subject), "pad": ""}}
    bare = len(json.dumps(document).encode())
    document["variables"]["pad"] = "x" * (size - bare)
    body = json.dumps(document).encode()
    assert len(body) == size
    return body


def chunks(body: bytes, size: int = 16 * 1024) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


SENDINGS: dict[str, Callable[[bytes], bytes | Iterator[bytes]]] = {
    "with a Content-Length": lambda body: body,
    "in chunks without a Content-Length": chunks,
}


@pytest.mark.parametrize("send", SENDINGS.values(), ids=SENDINGS.keys())
def test_body_is_refused_413_with_a_json_error_and_nothing_recorded_when_it_is_one_byte_too_big(
    served: Served, send: Callable[[bytes], bytes | Iterator[bytes]]
) -> None:
    rows = served.rows()

    response = post(served.client(), send(padded_consent(served.new_subject(), MAX_BODY_BYTES + 1)))

    assert response.status_code == 413
    assert error_code(response.json()) == "BAD_INPUT"
    assert f"larger than {MAX_BODY_BYTES} bytes" in response.json()["errors"][0]["message"]
    assert served.rows() == rows


def test_body_of_exactly_256_kib_is_served_when_sent_in_chunks(served: Served) -> None:
    events, log = served.rows()

    response = post(served.client(), chunks(padded_consent(served.new_subject(), MAX_BODY_BYTES)))

    assert response.status_code == 200
    assert response.json()["data"]["consent"]["version"] == 1
    assert served.rows() == (events + 1, log + 1)


# ----- introspection and GraphiQL by configuration -----


@pytest.mark.parametrize(
    ("configuration", "served_introspection"),
    [("development", True), ("production", False), ("production with TRIAL_INTROSPECTION=1", True)],
)
def test_introspection_is_served_by_configuration_when_asked_over_http(
    served: Served, configuration: str, served_introspection: bool
) -> None:
    client = served.client(configuration)

    body = client.post(INTROSPECTION)

    if served_introspection:
        assert body == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
    else:
        assert body["data"] is None
        assert "introspection has been disabled" in body["errors"][0]["message"]


@pytest.mark.parametrize(("configuration", "status"), [("development", 200), ("production", 404)])
def test_graphiql_is_served_outside_production_only_when_a_browser_asks_for_it(
    served: Served, configuration: str, status: int
) -> None:
    client = served.client(configuration)

    response = client.http.get(client.url, headers={"Accept": "text/html"})

    assert response.status_code == status
    assert ("GraphiQL" in response.text) is (status == 200)


# ----- masking of unexpected faults -----

SECRET = "secret detail from /srv/trial/infra/recorder.py line 42"


def broken(*_: Any, **__: Any) -> Any:
    raise RuntimeError(SECRET)


Request = Callable[[str, str], tuple[str, dict[str, Any]]]  # (pid, new subject) → document
FAULTS: dict[str, tuple[str, str, Request]] = {
    "a mutation's command": (
        "consent", "consent", lambda _, subject: (CONSENT, {"input": consent_input(subject)})),
    "a query's event replay": (
        "participant", "participant", lambda pid, _: (PARTICIPANT, {"id": pid, "atVersion": 1})),
}  # fmt: skip


@pytest.mark.parametrize(("method", "field", "request_for"), FAULTS.values(), ids=FAULTS.keys())
def test_unexpected_fault_is_internal_without_its_detail_or_a_500_when_it_is_raised_in(
    served: Served,
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    field: str,
    request_for: Request,
) -> None:
    staff = served.client().as_role(Role.SITE_STAFF)
    consent = {"input": consent_input(served.new_subject())}
    pid = staff.data(CONSENT, consent)["consent"]["participantId"]
    document, variables = request_for(pid, served.new_subject())
    rows = served.rows()
    monkeypatch.setattr(served.service.app, method, broken)

    body = staff.post(document, variables)  # the client fails the test on a status other than 200

    assert body["data"] in (None, {field: None})
    assert error_code(body) == "INTERNAL"
    assert body["errors"][0]["message"] == "internal error"
    text = json.dumps(body)
    for detail in ("secret", "RuntimeError", "recorder", "/srv/", "line 42"):
        assert detail not in text
    assert not leaks_internals(body)
    assert served.rows() == rows
