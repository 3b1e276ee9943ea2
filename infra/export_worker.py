"""Parallel ODM exports: the participants split between worker processes, joined in one file.

``clinical_data`` writes every participant's SubjectData: in this process for a small export,
else in one process per core (``python -m infra.export_worker FOLDER PART TARGET``, a fresh
interpreter with the application's settings in its environment and the export's job in
FOLDER/job.json). Each worker reads the participants of its part (split on the last byte of the
stream id) in a snapshot of its own; the first appends straight to the output, the others write
files that are copied after it, in part order, inside the kernel.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Collection
from datetime import datetime
from pathlib import Path
from typing import TextIO
from uuid import UUID

from domain.application import TrialApplication
from infra.cdisc import snapshot_of
from projections.cdisc import ExportError
from projections.cdisc.odm import OdmDocument, write_subjects

PARALLEL_FROM = 50_000  # events: below this, starting worker processes costs more than it saves
WORKER = "infra.export_worker"


def workers_for(stop: int, participants: Collection[UUID] | None) -> int:
    """One process per core (up to 4) for a large export, else this one."""
    cores = min(os.cpu_count() or 1, 4)
    if stop < PARALLEL_FROM or (participants is not None and len(participants) < 2 * cores):
        return 1
    return cores


def clinical_data(
    app: TrialApplication,
    out: TextIO,
    document: OdmDocument,
    *,
    stop: int,
    participants: Collection[UUID] | None,
    workers: int = 1,
) -> int:
    """Write every participant's SubjectData to ``out``: in this process, or split between
    ``workers`` processes (``python -m infra.export_worker``), each writing its part to a file
    of its own, joined here in part order. Returns the number of events written.

    Each process reads in a snapshot of its own: the events up to ``stop`` never change."""
    if workers <= 1:
        with snapshot_of(app) as reader:
            return write_subjects(out, reader.streams(stop, participants), document)
    out.flush()
    folder = Path(tempfile.mkdtemp(prefix=".odm-parts-", dir=Path(out.name).parent))
    try:
        job = {
            "stop": stop,
            "participants": None if participants is None else [str(p) for p in participants],
            "snapshot": document.snapshot,
            "pii": document.pii,
            "as_of": document.as_of.isoformat(),
            "parts": workers,
        }
        (folder / "job.json").write_text(json.dumps(job))
        env = {**os.environ, **app.env, "CREATE_TABLE": "no"}
        # The first part is appended to ``out`` itself (nothing else writes it meanwhile);
        # the others are written apart and copied after it in order.
        targets = [Path(out.name), *(folder / f"part-{k}.xml" for k in range(1, workers))]
        processes = [_start(folder, k, target, env) for k, target in enumerate(targets)]
        try:
            failed = _first_failure(processes)
        finally:
            for process in processes:  # interrupted, or one failed: stop the others too
                if process.poll() is None:
                    process.kill()
                    process.wait()
        if failed is not None:
            said = (folder / f"err-{failed}").read_text().strip().splitlines()
            why = said[-1] if said else f"exit status {processes[failed].returncode}"
            raise ExportError(f"an export worker failed: {why}")
        out.seek(0, os.SEEK_END)
        for target in targets[1:]:
            _append(target, out)
        out.seek(0, os.SEEK_END)
        return sum(int((folder / f"out-{k}").read_text()) for k in range(workers))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _start(folder: Path, part: int, target: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A worker for ``part``, its output and errors in files of the folder (a pipe could fill
    up and stall it)."""
    with (folder / f"out-{part}").open("w") as out, (folder / f"err-{part}").open("w") as err:
        return subprocess.Popen(
            [sys.executable, "-m", WORKER, str(folder), str(part), str(target)],
            env=env, stdout=out, stderr=err,
        )  # fmt: skip


def _first_failure(processes: list[subprocess.Popen[bytes]]) -> int | None:
    """Wait for every worker; the index of the first to fail (the others are left running)."""
    running = dict(enumerate(processes))
    while running:
        for k, process in list(running.items()):
            try:
                process.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                continue
            del running[k]
            if process.returncode != 0:
                return k
    return None


def _append(source: Path, out: TextIO) -> None:
    """Copy ``source`` to the end of ``out`` inside the kernel (copy_file_range)."""
    with source.open("rb") as part:
        left = source.stat().st_size
        while left > 0:
            copied = os.copy_file_range(part.fileno(), out.fileno(), left)
            if copied == 0:
                raise ExportError(f"{source} ended before its {left} last bytes were copied")
            left -= copied


def write_part(app: TrialApplication, folder: Path, part: int, target: Path) -> int:
    """One worker's share: the SubjectData of the participants in ``part``, appended to
    ``target``."""
    job = json.loads((folder / "job.json").read_text())
    wanted = job["participants"]
    as_of = datetime.fromisoformat(job["as_of"])
    document = OdmDocument("", as_of, as_of, None, job["snapshot"], job["pii"])
    with (
        snapshot_of(app) as reader,
        target.open("a", encoding="utf-8", buffering=1 << 20) as out,
    ):
        participants = None if wanted is None else [UUID(pid) for pid in wanted]
        streams = reader.streams(job["stop"], participants, (part, job["parts"]))
        return write_subjects(out, streams, document)


def main(argv: list[str]) -> int:
    folder, part, target = argv
    app = TrialApplication()
    try:
        print(write_part(app, Path(folder), int(part), Path(target)))
    finally:
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
