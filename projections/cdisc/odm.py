"""An ODM 1.3.2 document of the record: the whole history as transactions, or a snapshot.

``write_subjects`` is given the recorded events already grouped by participant, in version
order, each with its event-log row, and writes them as they come: memory holds one
participant's state at a time, whatever the size of the study. ``write_head`` and
``write_tail`` write what comes before and after, so that parts of the participants can be
written apart (in parallel) and joined in between.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, TextIO

from domain.participant import Participant
from projections.cdisc import ExportError
from projections.cdisc.odm_clinical import SubjectRecord, snapshot, transaction
from projections.cdisc.odm_metadata import METADATA_VERSION_OID, STUDY_OID
from projections.cdisc.odm_xml import (
    ROOT_CLOSE,
    Location,
    User,
    admin_data,
    instant,
    location_oid,
    root_open,
    study,
    user_oid,
)
from projections.cdisc.xml import attr, text

TRANSACTIONAL = "Transactional"
SNAPSHOT = "Snapshot"


class Recorded(NamedTuple):
    """A stored event with its row of the event log: who recorded it, when, why, where (a
    tuple: an export makes one per event)."""

    event: Participant.Event
    position: int
    recorded_at: datetime
    actor: str
    actor_role: str
    actor_site: str | None
    reason: str | None


@dataclass(frozen=True)
class OdmDocument:
    """What the document's root says of itself."""

    file_oid: str
    created: datetime
    as_of: datetime  # the instant the values are read at (asOf, else the export's time)
    granularity: str | None  # ODM Granularity; None for a subset it has no name for
    snapshot: bool
    pii: bool


def audit_record(recorded: Recorded, site: str) -> str:
    """The event's AuditRecord: user, location (the recording user's site, else the
    participant's), transaction time, reason and position (SourceID)."""
    reason = (
        ""
        if recorded.reason is None
        else f"<ReasonForChange>{text(recorded.reason)}</ReasonForChange>"
    )
    return (
        f"<AuditRecord><UserRef UserOID={attr(user_oid(recorded.actor))}/>"
        f"<LocationRef LocationOID={attr(location_oid(recorded.actor_site or site))}/>"
        f"<DateTimeStamp>{instant(recorded.recorded_at)}</DateTimeStamp>{reason}"
        f"<SourceID>{recorded.position}</SourceID></AuditRecord>"
    )


def write_head(
    out: TextIO, document: OdmDocument, users: Iterable[User], locations: Iterable[Location]
) -> None:
    """Everything before the participants: root, metadata, users and locations."""
    kind = SNAPSHOT if document.snapshot else TRANSACTIONAL
    out.write(root_open(file_type=kind, file_oid=document.file_oid, created=document.created,
                        as_of=document.as_of, granularity=document.granularity))  # fmt: skip
    out.write(study(pii=document.pii))
    out.write(admin_data(users, locations))
    version = attr(METADATA_VERSION_OID)
    out.write(f"<ClinicalData StudyOID={attr(STUDY_OID)} MetaDataVersionOID={version}>\n")


def write_subjects(
    out: TextIO, subjects: Iterable[Sequence[Recorded] | Iterable[Recorded]], document: OdmDocument
) -> int:
    """Each of ``subjects`` (one participant's events from its first, Consented, on) as
    SubjectData; returns the number of events written."""
    return sum(_write_subject(out, events, document) for events in subjects)


def write_tail(out: TextIO) -> None:
    out.write("</ClinicalData>\n")
    out.write(ROOT_CLOSE)


def _write_subject(out: TextIO, events: Iterable[Recorded], document: OdmDocument) -> int:
    record = SubjectRecord(pii=document.pii, reference=document.as_of)
    subject_key = site = ""
    count = 0
    for recorded in events:
        if count == 0:
            first = recorded.event
            if not isinstance(first, Participant.Consented):
                raise ExportError(
                    f"participant {first.originator_id} starts with {type(first).__name__}, "
                    "not Consented; run `trial verify`"
                )
            subject_key, site = first.subject_id, str(first.consent["site"])
        audit = audit_record(recorded, site)
        changes = record.apply(recorded.event, audit)
        if not document.snapshot:
            out.write(transaction(subject_key, location_oid(site), audit, changes,
                                  first=count == 0))  # fmt: skip
        count += 1
    if document.snapshot and count:
        out.write(snapshot(subject_key, location_oid(site), record))
    return count
