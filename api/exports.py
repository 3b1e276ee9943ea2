"""The CDISC exports as use cases: who may export what, as of when, and the read it logs.

AUDITOR and SPONSOR export every site, a MONITOR the sites of its token; SPONSOR (and any role
without PII access) never receives date of birth or initials, not even as metadata. An export
reads one snapshot of the database up to the position recorded at ``asOf`` (else the head),
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
from domain.errors import NotFound
from domain.vocabulary import Role
from infra.audit_trail import participant_sites
from infra.bootstrap import Service
from infra.cdisc import ExportError, RecordReader, locations, snapshot_of
from projections.cdisc.odm import OdmFile, write_odm

EXPORTERS = (Role.AUDITOR, Role.SPONSOR, Role.MONITOR)
EXPORT_ODM = "exportOdm"


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
    """A written export: where, and which participants and how many events it holds."""

    path: Path
    participants: list[UUID]
    events: int


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
            document = OdmFile(
                file_oid=f"CHT101.ODM.{uuid.uuid4()}",
                created=service.app.clock(),
                as_of=covered.reference,
                granularity=_granularity(principal, participant),
                snapshot=snapshot,
                pii=principal.sees_pii,
            )
            with partial.open("w", encoding="utf-8", newline="\n", buffering=1 << 20) as out:
                events = write_odm(
                    out,
                    reader.streams(covered.stop, covered.participants),
                    document,
                    users,
                    locations(covered.consented, covered.sites, users),
                )
        disclosed = list(covered.consented)
        detail: dict[str, Any] = {"asOf": as_of, "participantId": participant,
                                  "snapshot": snapshot, "events": events}  # fmt: skip
        record_read(service, principal, EXPORT_ODM, disclosed, detail)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return Export(path, disclosed, events)
