"""An ODM export split between worker processes writes what one process writes: the same
SubjectData, each participant's whole and in order, in one file that validates."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from infra import export_worker
from infra.bootstrap import Service
from infra.export_worker import clinical_data
from projections.cdisc import ExportError
from projections.cdisc.odm import OdmDocument, write_head, write_tail
from tests.e2e.odm_files import OdmFile, validation_errors
from tests.integration.stories import busy, enrol, head

pytestmark = pytest.mark.integration

SUBJECTS = ("NJ01-001", "NJ01-002", "SH02-003", "SH02-004", "NJ01-005", "NJ01-006")


def written(service: Service, path: Path, workers: int, participants: list[str] | None) -> str:
    moment = datetime(2026, 11, 25, tzinfo=UTC)
    document = OdmDocument("F.TEST", moment, moment, "All", False, True)
    with path.open("w", encoding="utf-8") as out:
        write_head(out, document, [], [])
        count = clinical_data(service.app, out, document, stop=head(service.app),
                              participants=participants, workers=workers)  # fmt: skip
        write_tail(out)
    assert count == head(service.app)
    return path.read_text()


def subjects(content: str) -> list[str]:
    return re.findall(r"<SubjectData .*?</SubjectData>", content, flags=re.DOTALL)


def test_odm_written_by_two_workers_holds_what_one_process_writes(
    service: Service, tmp_path: Path
) -> None:
    for subject in SUBJECTS[:4]:
        busy(service.app, subject)
    for subject in SUBJECTS[4:]:
        enrol(service.app, subject, until="ELIGIBLE")

    alone = written(service, tmp_path / "one.xml", 1, None)
    split = written(service, tmp_path / "two.xml", 2, None)

    assert sorted(subjects(split)) == sorted(subjects(alone))
    assert len(subjects(split)) == head(service.app)
    assert validation_errors(split.encode()) == ([], [])
    order = [tx.subject for tx in OdmFile(split.encode()).transactions()]
    assert [s for n, s in enumerate(order) if n == 0 or order[n - 1] != s] == sorted(
        set(order), key=order.index
    )  # each participant's transactions together, once
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.xml", "two.xml"]


def test_odm_export_fails_with_the_workers_error_and_leaves_no_part_files(
    service: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    busy(service.app, "NJ01-001")
    monkeypatch.setattr(export_worker, "WORKER", "infra.no_such_worker")

    with pytest.raises(ExportError, match=r"an export worker failed: .*no_such_worker"):
        written(service, tmp_path / "two.xml", 2, None)

    assert [p.name for p in tmp_path.iterdir()] == ["two.xml"]
