"""The CDISC exports as use cases: who may export what, as of when, and the read it logs.

AUDITOR and SPONSOR export every site, a MONITOR the sites of its token; SPONSOR (and any role
without PII access) never receives date of birth or initials, not even as metadata. An export
reads the record up to the position recorded at ``asOf`` (else the head; ``infra.cdisc``),
writes the file, appends its read to the access log (every participant it discloses) and only
then hands the file over: a read that cannot be logged is not served.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from api.access_log import record_read
from api.auth import Principal
from api.queries import check_as_of
from domain.errors import BadInput, NotFound
from domain.vocabulary import Role
from infra.audit_trail import participant_sites
from infra.bootstrap import Service
from infra.cdisc import RecordReader, locations, participants_at, snapshot_of
from infra.export_worker import clinical_data, workers_for
from infra.resilience import Deadline, current_deadline, run_within
from projections.cdisc import ExportError
from projections.cdisc.datasets import dataset_json, file_name, write_dataset_json, write_xpt
from projections.cdisc.define_xml import define_xml
from projections.cdisc.odm import OdmDocument, write_head, write_tail
from projections.cdisc.sdtm import tabulate
from projections.cdisc.sdtm_spec import datasets

EXPORTERS = (Role.AUDITOR, Role.SPONSOR, Role.MONITOR)
EXPORT_ODM = "exportOdm"
EXPORT_SDTM = "exportSdtm"
FORMATS = {"dataset-json": "json", "xpt": "xpt"}


@dataclass(frozen=True)
class Scope:
    """What one export covers: the events up to ``stop``, of these participants (by site)."""

    stop: int
    as_of: datetime | None  # what the caller asked for
    reference: datetime  # the instant values are read at: asOf, else the export's time
    consented: dict[UUID, datetime]  # participant → when its consent was recorded
    sites: dict[UUID, str]
    everyone: bool  # no participant left out: the stream needs no filter

    @property
    def participants(self) -> list[UUID] | None:
        return None if self.everyone else list(self.consented)


@dataclass(frozen=True)
class Export:
    """A written ODM export: where, and which participants and how many events it holds."""

    path: Path
    participants: list[UUID]
    events: int


@dataclass(frozen=True)
class Tabulation:
    """Written SDTM files (datasets and define.xml), and the participants they hold."""

    files: list[Path]
    participants: list[UUID]
    records: dict[str, int]


def scope(
    service: Service,
    reader: RecordReader,
    principal: Principal,
    *,
    as_of: datetime | None,
    participant: UUID | None,
) -> Scope:
    """The participants ``principal`` may export as of ``as_of`` (one, when asked for)."""
    principal.require_role(*EXPORTERS)
    check_as_of(as_of)
    stop = reader.head() if as_of is None else reader.position_at(as_of)
    consented = reader.consented(stop)
    sites = participant_sites(service.app, list(consented))
    if missing := [pid for pid in consented if pid not in sites]:
        raise ExportError(f"participant {missing[0]} has no readable consent; run `trial verify`")
    everyone = participant is None and principal.sites is None
    if participant is not None:
        if participant not in consented:
            when = "yet" if as_of is None else f"at {as_of.isoformat()}"
            raise NotFound("PARTICIPANT_EXISTS", f"participant {participant} has no events {when}")
        principal.check_read(sites[participant])
        consented = {participant: consented[participant]}
    elif principal.sites is not None:
        consented = {pid: at for pid, at in consented.items() if principal.can_read(sites[pid])}
    reference = as_of or service.app.clock()
    return Scope(stop, as_of, reference, consented, sites, everyone)


def _log(service: Service, principal: Principal, operation: str, participants: list[UUID],
         detail: dict[str, Any]) -> None:  # fmt: skip
    """Log the read, with a fresh deadline for its one write: a request's deadline bounds its
    waits for the database, and a long export has used it up by the time its read is logged."""
    if current_deadline() is None:
        record_read(service, principal, operation, participants, detail)
    else:
        run_within(Deadline.from_now(), record_read, service, principal, operation,
                   participants, detail)  # fmt: skip


def _granularity(principal: Principal, participant: UUID | None) -> str | None:
    if participant is not None:
        return "SingleSubject"
    if principal.sites is None:
        return "All"
    return "SingleSite" if len(principal.sites) == 1 else None


def export_odm(
    service: Service,
    principal: Principal,
    path: Path,
    *,
    as_of: datetime | None = None,
    participant: UUID | None = None,
    snapshot: bool = False,
) -> Export:
    """Write the ODM 1.3.2 document to ``path`` (replaced whole, never left half-written) and
    log the read. Blocking."""
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        with snapshot_of(service.app) as reader:
            covered = scope(service, reader, principal, as_of=as_of, participant=participant)
            users = reader.users(covered.stop, covered.participants)
        document = OdmDocument(
            file_oid=f"CHT101.ODM.{uuid.uuid4()}",
            created=service.app.clock(),
            as_of=covered.reference,
            granularity=_granularity(principal, participant),
            snapshot=snapshot,
            pii=principal.sees_pii,
        )
        with partial.open("w", encoding="utf-8", newline="\n", buffering=1 << 20) as out:
            write_head(out, document, users, locations(covered.consented, covered.sites, users))
            events = clinical_data(
                service.app, out, document, stop=covered.stop,
                participants=covered.participants,
                workers=workers_for(covered.stop, covered.participants),
            )  # fmt: skip
            write_tail(out)
        disclosed = list(covered.consented)
        detail: dict[str, Any] = {"asOf": as_of, "participantId": participant,
                                  "snapshot": snapshot, "events": events}  # fmt: skip
        _log(service, principal, EXPORT_ODM, disclosed, detail)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return Export(path, disclosed, events)


def export_sdtm(
    service: Service,
    principal: Principal,
    folder: Path,
    *,
    as_of: datetime | None = None,
    file_format: str = "dataset-json",
    domains: list[str] | None = None,
) -> Tabulation:
    """Write the SDTM datasets (``domains``, else all) as Dataset-JSON 1.1 or SAS V5 transport
    files, with their define.xml, into ``folder``, and log the read. Blocking.

    The files are written under temporary names and renamed once the read is logged."""
    if file_format not in FORMATS:
        raise BadInput("FORMAT", f"format {file_format!r} is not one of {', '.join(FORMATS)}")
    specs = datasets(pii=principal.sees_pii)
    wanted = list(specs) if domains is None else domains
    if unknown := [name for name in wanted if name not in specs]:
        raise NotFound("DATASET", f"no SDTM dataset {unknown[0]}; there are {', '.join(specs)}")
    with snapshot_of(service.app) as reader:
        covered = scope(service, reader, principal, as_of=as_of, participant=None)
        participants = participants_at(reader, covered.stop, covered.participants)
        tables = tabulate(participants, pii=principal.sees_pii)
    created = service.app.clock()
    extension = FORMATS[file_format]
    chosen = {name: tables[name] for name in wanted}
    written: dict[Path, Path] = {}
    mark = uuid.uuid4().hex[:8]  # two exports into one folder never share a partial file
    try:
        for name, rows in chosen.items():
            final = folder / file_name(specs[name], extension)
            partial = folder / f".{final.name}.{mark}.partial"
            written[partial] = final
            if extension == "json":
                document = dataset_json(specs[name], rows, created=created, modified=None)
                write_dataset_json(partial, document)
            else:
                write_xpt(partial, specs[name], rows)
        final = folder / "define.xml"
        partial = folder / f".define.xml.{mark}.partial"
        written[partial] = final
        partial.write_text(define_xml(chosen, specs, created=created, extension=extension),
                           encoding="utf-8")  # fmt: skip
        disclosed = list(covered.consented)
        detail: dict[str, Any] = {"asOf": as_of, "format": file_format, "domains": wanted}
        _log(service, principal, EXPORT_SDTM, disclosed, detail)
        for partial, final in written.items():
            os.replace(partial, final)
    finally:
        for partial in written:
            partial.unlink(missing_ok=True)
    records = {name: len(rows) for name, rows in chosen.items()}
    return Tabulation(list(written.values()), disclosed, records)
