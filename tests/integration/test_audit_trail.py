"""The audit trail read from real PostgreSQL, below the API: payloads, PII masking, sites."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from infra.audit_trail import UNREADABLE, audit_trail, participant_sites
from infra.bootstrap import Service
from tests.integration.stories import enrol, pid, unprojected

pytestmark = pytest.mark.integration


@pytest.fixture
def service(database_url: str, schema: str, tmp_path: Path) -> Iterator[Service]:
    """No projector: the read models never reach these participants."""
    built = unprojected(database_url, schema, tmp_path)
    yield built
    built.close()


def test_consent_payload_hides_date_of_birth_and_initials_when_the_reader_sees_no_pii(
    service: Service,
) -> None:
    enrol(service.app, "NJ01-007", until="CONSENTED")

    masked = audit_trail(service.app, after=None, limit=10, pii=False).entries[0].data
    shown = audit_trail(service.app, after=None, limit=10, pii=True).entries[0].data

    assert masked["consent"]["date_of_birth"] is None
    assert masked["consent"]["initials"] is None
    assert masked["consent"]["subject_id"] == "NJ01-007"
    assert (shown["consent"]["date_of_birth"], shown["consent"]["initials"]) == (
        "1988-04-17",
        "LMW",
    )
    assert datetime.fromisoformat(shown["submitted_at"]).utcoffset() is not None
    assert not {"originator_id", "originator_version", "timestamp"} & set(shown)


def test_participant_site_comes_from_the_consent_when_the_read_model_has_not_reached_it(
    service: Service,
) -> None:
    enrol(service.app, "NJ01-007", until="CONSENTED")
    enrol(service.app, "NJ02-003", until="CONSENTED")

    sites = participant_sites(service.app)

    assert sites == {pid("NJ01-007"): "NJ01", pid("NJ02-003"): "NJ02"}


def test_entry_says_its_payload_is_unreadable_when_its_bytes_no_longer_decode(
    service: Service,
) -> None:
    enrol(service.app, "NJ01-007", until="ELIGIBLE")
    schema = service.app.recorder.datastore.schema  # type: ignore[attr-defined]
    with psycopg.connect(service.database_url, autocommit=True) as conn:
        statement = "UPDATE {}.trial_events SET state = '\\x00'::bytea WHERE originator_version = 2"
        conn.execute(sql.SQL(statement).format(sql.Identifier(schema)))

    page = audit_trail(service.app, after=None, limit=10)

    assert [entry.data == UNREADABLE for entry in page.entries] == [False, True]
    assert page.entries[1].entry.event_type == "Screened"
