"""ODM exports on real PostgreSQL: the command line, a read that cannot be logged, and a stored
record that cannot be exported as it stands."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from psycopg.sql import SQL, Identifier

from api.access_log import ReadNotLogged
from api.exports import export_odm
from infra.access_log import TABLE
from infra.bootstrap import Service
from infra.cli import main
from projections.cdisc import ExportError
from tests.conftest import TEST_JWT_SECRET
from tests.e2e.odm_files import OdmFile
from tests.integration.stories import AUDITOR, busy, pid

pytestmark = pytest.mark.integration


def configure(
    monkeypatch: pytest.MonkeyPatch, database_url: str, schema: str, data_dir: Path
) -> None:
    """The environment ``trial`` reads: the test's database, schema and secret."""
    monkeypatch.setenv("TRIAL_DATABASE_URL", database_url)
    monkeypatch.setenv("TRIAL_DATABASE_SCHEMA", schema)
    monkeypatch.setenv("TRIAL_DATA_DIR", str(data_dir))
    monkeypatch.setenv("TRIAL_JWT_SECRET", TEST_JWT_SECRET)


def test_odm_export_is_withheld_and_no_file_left_when_its_read_cannot_be_logged(
    service: Service, database_url: str, schema: str, tmp_path: Path
) -> None:
    busy(service.app, "NJ01-007")
    log = SQL("{}.{}").format(Identifier(schema), Identifier(TABLE))
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SQL("ALTER TABLE {} RENAME TO gone").format(log))

    with pytest.raises(ReadNotLogged):
        export_odm(service, AUDITOR, tmp_path / "odm.xml")

    assert list(tmp_path.iterdir()) == []


def test_odm_export_refuses_an_event_without_its_log_row_and_names_it(
    service: Service, database_url: str, schema: str, tmp_path: Path
) -> None:
    busy(service.app, "NJ01-007")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            SQL("DELETE FROM {}.trial_event_log WHERE participant_id = %s AND version = 6").format(
                Identifier(schema)
            ),
            (pid("NJ01-007"),),
        )

    with pytest.raises(ExportError, match=f"{pid('NJ01-007')} version 6 .*trial verify"):
        export_odm(service, AUDITOR, tmp_path / "odm.xml")

    assert list(tmp_path.iterdir()) == []


def test_trial_export_odm_writes_the_file_as_the_role_sees_it_and_logs_the_cli_user(
    service: Service, database_url: str, schema: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    busy(service.app, "NJ01-007")
    busy(service.app, "SH02-001")
    for name, value in {
        "TRIAL_DATABASE_URL": database_url,
        "TRIAL_DATABASE_SCHEMA": schema,
        "TRIAL_DATA_DIR": str(tmp_path),
        "TRIAL_JWT_SECRET": TEST_JWT_SECRET,
    }.items():
        monkeypatch.setenv(name, value)  # fmt: skip
    out = tmp_path / "monitor.xml"

    code = main(["export", "odm", "--role", "MONITOR", "--site", "SH02", "--user", "monitor.wu",
                 "--snapshot", "--out", str(out)])  # fmt: skip

    assert code == 0
    assert "1 participants, 16 events" in capsys.readouterr().out
    document = OdmFile.read(out)
    assert [subject.get("SubjectKey") for subject in document.subjects()] == ["SH02-001"]
    assert b"1988-04-17" in document.content  # a MONITOR reads PII
    [row] = [r for r in service.access_log.page() if r.operation == "exportOdm"]
    assert (row.actor, row.actor_role, row.participant_ids) == (
        "monitor.wu", "MONITOR", (pid("SH02-001"),))  # fmt: skip


def test_trial_export_odm_exits_1_and_writes_nothing_when_the_participant_does_not_exist(
    service: Service, database_url: str, schema: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    for name, value in {
        "TRIAL_DATABASE_URL": database_url,
        "TRIAL_DATABASE_SCHEMA": schema,
        "TRIAL_DATA_DIR": str(tmp_path),
        "TRIAL_JWT_SECRET": TEST_JWT_SECRET,
    }.items():
        monkeypatch.setenv(name, value)  # fmt: skip

    code = main(["export", "odm", "--participant", str(pid("NJ01-404")),
                 "--out", str(tmp_path / "x.xml")])  # fmt: skip

    assert code == 1
    assert f"PARTICIPANT_EXISTS: participant {pid('NJ01-404')}" in capsys.readouterr().err
    assert not (tmp_path / "x.xml").exists()
