"""The demo cohort exports cleanly in every format: ODM transactions and snapshots, SDTM as
Dataset-JSON and as SAS V5 transport files, each with a define.xml, for an auditor and a
sponsor; and the command line writes SDTM as a role sees it."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from psycopg.sql import SQL, Identifier

from api.access_log import ReadNotLogged
from api.auth import Principal
from api.exports import export_odm, export_sdtm
from domain.vocabulary import Role
from infra.access_log import TABLE
from infra.bootstrap import Service
from infra.cli import main
from infra.demo import record_demo_study
from projections.cdisc.datasets import DatasetTooWide
from tests.e2e.odm_files import OdmFile, validation_errors
from tests.e2e.sdtm_files import cell_errors, define_errors, same_cells, schema_errors, xpt_rows
from tests.integration.stories import AUDITOR, enrol, head, staff
from tests.integration.test_odm_files import configure
from tests.unit import builders

pytestmark = pytest.mark.integration

SPONSOR = Principal("sponsor.chen", Role.SPONSOR, None)
DATASETS = ("dm", "ds", "ex", "ae", "suppae", "ie", "lb", "rs")


def test_demo_cohort_exports_valid_odm_transactions_and_snapshots_for_auditor_and_sponsor(
    service: Service, tmp_path: Path
) -> None:
    record_demo_study(service.app)

    for reader in (AUDITOR, SPONSOR):
        for snapshot in (False, True):
            path = tmp_path / f"{reader.role}-{snapshot}.xml"
            done = export_odm(service, reader, path, snapshot=snapshot)
            document = OdmFile.read(path)
            assert validation_errors(document.content) == ([], [])
            assert len(document.subjects()) == (17 if snapshot else done.events)
            assert len(done.participants) == 17
    assert done.events == head(service.app)  # every event recorded, each a transaction


def test_demo_cohort_exports_valid_sdtm_as_dataset_json_and_xpt_with_define_xml(
    service: Service, tmp_path: Path
) -> None:
    record_demo_study(service.app)

    for reader in (AUDITOR, SPONSOR):
        folder = tmp_path / str(reader.role)
        (folder / "json").mkdir(parents=True)
        (folder / "xpt").mkdir()
        as_json = export_sdtm(service, reader, folder / "json")
        export_sdtm(service, reader, folder / "xpt", file_format="xpt")
        for name in DATASETS:
            document = json.loads((folder / "json" / f"{name}.json").read_text())
            assert schema_errors(document) == [] and cell_errors(document) == []
            _, rows = xpt_rows(folder / "xpt" / f"{name}.xpt")
            assert same_cells(document["rows"], rows) == []
        for kind in ("json", "xpt"):
            assert define_errors((folder / kind / "define.xml").read_bytes()) == ([], [])
        assert as_json.records["DM"] == 17 and len(as_json.participants) == 17
        assert sorted(path.name for path in (folder / "json").iterdir()) == sorted(
            [f"{name}.json" for name in DATASETS] + ["define.xml"]
        )


def test_sdtm_export_is_withheld_and_no_file_left_when_its_read_cannot_be_logged(
    service: Service, database_url: str, schema: str, tmp_path: Path
) -> None:
    enrol(service.app, "NJ01-007")
    log = SQL("{}.{}").format(Identifier(schema), Identifier(TABLE))
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SQL("ALTER TABLE {} RENAME TO gone").format(log))

    with pytest.raises(ReadNotLogged):
        export_sdtm(service, AUDITOR, tmp_path)

    assert list(tmp_path.iterdir()) == []


def test_sdtm_xpt_refuses_a_value_over_200_bytes_that_dataset_json_carries(
    service: Service, tmp_path: Path
) -> None:
    pid = enrol(service.app, "NJ01-007")
    term = "Cytokine release syndrome, " + "with fever and hypotension " * 9
    service.app.report_adverse_event(pid, builders.ae_report(term=term), staff("NJ01"))

    with pytest.raises(DatasetTooWide, match=r"AE\.AETERM row 1 .* 200 bytes"):
        export_sdtm(service, AUDITOR, tmp_path, file_format="xpt")

    export_sdtm(service, AUDITOR, tmp_path)
    ae = json.loads((tmp_path / "ae.json").read_text())
    # the refused XPT export logged nothing: the one row is the Dataset-JSON export's
    assert [r.detail["format"] for r in service.access_log.page()] == ["dataset-json"]
    assert term in ae["rows"][0]
    assert not list(tmp_path.glob("*.xpt")) and not list(tmp_path.glob(".*"))


def test_trial_export_sdtm_writes_the_datasets_as_a_sponsor_sees_them(
    service: Service, database_url: str, schema: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    enrol(service.app, "NJ01-007")
    configure(monkeypatch, database_url, schema, tmp_path)
    out = tmp_path / "sdtm"

    code = main(["export", "sdtm", "--role", "SPONSOR", "--format", "xpt", "--out", str(out)])

    assert code == 0
    assert "DM 1" in capsys.readouterr().out
    names, [dm] = xpt_rows(out / "dm.xpt")
    assert "BRTHDTC" not in names and dm[names.index("USUBJID")] == "CHT101-NJ01-007"
    [row] = [r for r in service.access_log.page() if r.operation == "exportSdtm"]
    assert (row.actor_role, row.detail["format"], row.detail["pii"]) == ("SPONSOR", "xpt", False)
