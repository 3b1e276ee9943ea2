"""Encryption at rest: with TRIAL_CIPHER_KEY set, the events table holds no PII or clinical value
in plaintext, the service (and its projector) still reads everything, and a wrong or missing key
stops the service at start-up with a message that names the key."""

from __future__ import annotations

import re
from base64 import b64encode
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from uuid import UUID

import psycopg
import pytest
from eventsourcing.cipher import AESCipher
from eventsourcing.persistence import MapperDeserialisationError
from psycopg.sql import SQL, Identifier

from api import readside
from domain.application import TrialApplication
from domain.vocabulary import Visit
from infra.bootstrap import ConfigurationError, Service, bootstrap
from infra.encryption import cipher_env
from projections.runner import rebuild
from tests.conftest import settings_for
from tests.integration.stories import (
    AUDITOR,
    READ_MODELS,
    enrol,
    staff,
    table_documents,
    wait_for_head,
)
from tests.unit import builders

pytestmark = pytest.mark.integration

KEY = AESCipher.create_key(32)
OTHER_KEY = AESCipher.create_key(32)
# What NJ01-007's events say: identity, PII, a visit's values (PGA 2.7, UPCR 4.81 g/g), an AE;
# and the payload's own field names, which would give the clinical meaning of any value away.
SECRETS = (
    "NJ01-007", "LMW", "1988-04-17", "2025-07-20", "4.81", "Cytokine release syndrome",
    "CHT101-L0042", "date_of_birth", "initials", "pga_tenths", "upcr_g_per_g",
)  # fmt: skip
TOPIC = re.compile(r"domain\.participant:Participant\.[A-Z][A-Za-z]+")


def start(database_url: str, schema: str, data_dir: Path, key: str | None) -> Service:
    settings = replace(settings_for(database_url, data_dir), cipher_key=key)
    return bootstrap(settings, schema=schema)


@pytest.fixture
def encrypted(database_url: str, schema: str, tmp_path: Path) -> Iterator[Service]:
    service = start(database_url, schema, tmp_path, KEY)
    service.start_projector()
    yield service
    service.close()


def record_story(app: TrialApplication) -> UUID:
    """NJ01-007 infused, scored at M1 with PGA 2.7 and UPCR 4.81 g/g, with a CRS reported."""
    pid = enrol(app, "NJ01-007")
    request = staff()
    app.score_visit(pid, builders.visit(Visit.M1, pga_tenths=27, upcr_g_per_g=4.81), request)
    app.report_adverse_event(pid, builders.ae_report(), request)
    return pid


def stored(database_url: str, schema: str) -> list[tuple[str, bytes]]:
    """(topic, state) of every row of the events table, as PostgreSQL holds them."""
    statement = SQL("SELECT topic, state FROM {}.trial_events ORDER BY notification_id").format(
        Identifier(schema)
    )
    with psycopg.connect(database_url) as conn:
        return [(topic, bytes(state)) for topic, state in conn.execute(statement).fetchall()]


def plaintext_found(rows: list[tuple[str, bytes]]) -> set[str]:
    return {secret for secret in SECRETS for _, state in rows if secret.encode() in state}


def test_events_table_shows_no_pii_or_clinical_value_when_a_cipher_key_is_set(
    encrypted: Service, database_url: str, schema: str
) -> None:
    record_story(encrypted.app)

    rows = stored(database_url, schema)

    assert len(rows) == 5
    assert plaintext_found(rows) == set()
    assert all(TOPIC.fullmatch(topic) for topic, _ in rows), [topic for topic, _ in rows]


def test_events_table_shows_the_pii_in_plaintext_when_no_cipher_key_is_set(
    database_url: str, schema: str, tmp_path: Path
) -> None:
    service = start(database_url, schema, tmp_path, None)
    try:
        record_story(service.app)
    finally:
        service.close()

    rows = stored(database_url, schema)

    assert plaintext_found(rows) == set(SECRETS)


def test_service_reads_back_every_value_and_projects_it_when_events_are_encrypted(
    encrypted: Service,
) -> None:
    pid = record_story(encrypted.app)

    wait_for_head(encrypted)
    participant = encrypted.app.participant(pid)
    view = readside.current_participant(encrypted, AUDITOR, pid, builders.NOW)
    ledger = readside.ledger(encrypted, AUDITOR, builders.NOW)

    assert participant is not None and view is not None
    assert (view.subject_id, view.initials, str(view.date_of_birth)) == (
        "NJ01-007", "LMW", "1988-04-17",
    )  # fmt: skip
    assert view.visits[-1].pga == 2.7
    assert participant.visits[Visit.M1].score.upcr_g_per_g == 4.81
    assert [entry.event.term for entry in ledger.entries] == ["Cytokine release syndrome"]


def test_rebuild_worker_processes_decrypt_with_the_services_key(encrypted: Service) -> None:
    record_story(encrypted.app)
    enrol(encrypted.app, "NJ01-008", until="SCREEN_FAILED")
    wait_for_head(encrypted)
    for name in READ_MODELS:
        live = table_documents(encrypted, name)
        rebuild(encrypted.app, name, workers=2)
        assert table_documents(encrypted, name) == live


def test_service_refuses_to_start_when_its_key_is_not_the_one_the_events_were_written_with(
    encrypted: Service, database_url: str, schema: str, tmp_path: Path
) -> None:
    record_story(encrypted.app)

    with pytest.raises(ConfigurationError) as refused:
        start(database_url, schema, tmp_path / "other", OTHER_KEY)

    assert "TRIAL_CIPHER_KEY does not decrypt the stored events" in str(refused.value)
    assert "MAC check failed" in str(refused.value)


def test_application_fails_with_a_clear_error_when_it_reads_events_with_another_key(
    encrypted: Service,
) -> None:
    pid = record_story(encrypted.app)
    wrong = TrialApplication({**encrypted.env, **cipher_env(OTHER_KEY)})

    try:
        with pytest.raises(MapperDeserialisationError) as failed:
            wrong.participant(pid)
    finally:
        wrong.close()

    assert "Cipher text is damaged: MAC check failed" in str(failed.value)


def test_service_refuses_to_start_without_a_key_when_the_events_are_encrypted(
    encrypted: Service, database_url: str, schema: str, tmp_path: Path
) -> None:
    record_story(encrypted.app)

    with pytest.raises(ConfigurationError, match="set it to that key"):
        start(database_url, schema, tmp_path / "other", None)


def test_service_refuses_to_start_with_a_key_when_the_events_were_written_in_plaintext(
    database_url: str, schema: str, tmp_path: Path
) -> None:
    plain = start(database_url, schema, tmp_path, None)
    try:
        record_story(plain.app)
    finally:
        plain.close()

    with pytest.raises(ConfigurationError, match="another key, or without one"):
        start(database_url, schema, tmp_path, KEY)


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("not base64!", "is not base64"),
        (b64encode(b"twenty bytes of key!").decode(), "decodes to 20 bytes"),
    ],
)
def test_service_refuses_to_start_when_the_key_is_malformed(
    database_url: str, schema: str, tmp_path: Path, key: str, problem: str
) -> None:
    with pytest.raises(ConfigurationError, match=problem) as refused:
        start(database_url, schema, tmp_path, key)

    assert "AESCipher.create_key(32)" in str(refused.value)
