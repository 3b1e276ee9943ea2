"""The audit queries: the trail of every recorded event, and the verification of its chains.

``auditTrail`` is for AUDITORs (every site) and MONITORs (the sites in their token, or every
site when it names none); each answer is logged in the read-access log like any other read of
participant data. ``verifyAuditChain`` is for AUDITORs only.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from api.access_log import AUDIT_TRAIL, record_read
from api.auth import Principal
from api.context import Info
from api.inputs import parse_participant_id
from api.threads import blocking
from api.types import view_fields
from domain.errors import BadInput
from domain.vocabulary import Role
from infra.audit import verify
from infra.audit_trail import TrailEntry, audit_trail, participant_sites
from infra.bootstrap import Service

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
READERS = (Role.AUDITOR, Role.MONITOR)


@strawberry.type
class AuditEntry:
    position: int
    participant_id: strawberry.ID
    version: int
    event_type: str
    recorded_at: datetime
    actor: str
    actor_role: Role
    actor_site: str | None
    reason: str | None
    data: JSON
    hash: str
    previous_hash: str | None


@strawberry.type
class AuditPage:
    entries: list[AuditEntry]
    next_after: int | None


@strawberry.type
class ChainVerification:
    ok: bool
    streams_checked: int
    events_checked: int
    first_broken_participant_id: strawberry.ID | None
    first_broken_version: int | None


def audit_page(
    service: Service,
    principal: Principal,
    participant_id: str | None,
    after: int | None,
    limit: int,
) -> AuditPage:
    principal.require_role(*READERS)
    if not 1 <= limit <= MAX_LIMIT:
        raise BadInput("LIMIT", f"limit {limit} is not between 1 and {MAX_LIMIT}")
    if after is not None and after < 0:
        raise BadInput("AFTER", f"after {after} is negative")
    pid = None if participant_id is None else parse_participant_id(participant_id)
    page = audit_trail(
        service.app,
        after=after,
        limit=limit,
        participant_ids=_readable(service, principal, pid),
        pii=principal.sees_pii,
    )
    disclosed = list(dict.fromkeys(trail.entry.participant_id for trail in page.entries))
    detail = {"participantId": pid, "after": after, "limit": limit}
    record_read(service, principal, AUDIT_TRAIL, disclosed, detail)
    return AuditPage(entries=[_entry(entry) for entry in page.entries], next_after=page.next_after)


def _readable(service: Service, principal: Principal, pid: UUID | None) -> list[UUID] | None:
    """The participants whose events the caller asked for and may read (None: all)."""
    if principal.sites is None:
        return None if pid is None else [pid]
    sites = participant_sites(service.app, None if pid is None else [pid])
    if pid is not None:
        if pid in sites:
            principal.check_read(sites[pid])  # FORBIDDEN, as participant(id) is
        return [pid] if pid in sites else []
    return [participant for participant, site in sites.items() if principal.can_read(site)]


def _entry(trail: TrailEntry) -> AuditEntry:
    entry, audit = trail.entry, trail.entry.audit
    who = view_fields(audit, without=("idempotency_key", "command_digest"))
    return AuditEntry(**view_fields(
        entry,
        without=("audit",),
        participant_id=strawberry.ID(str(entry.participant_id)),
        hash=entry.hash or "",
        data=cast(JSON, trail.data),
        **who | {"actor_role": Role(audit.actor_role)},
    ))  # fmt: skip


def verify_chains(service: Service, principal: Principal) -> ChainVerification:
    principal.require_role(Role.AUDITOR)
    result = verify(service.app)
    broken = result.first_broken_participant_id
    return ChainVerification(
        ok=result.ok,
        streams_checked=result.streams_checked,
        events_checked=result.events_checked,
        first_broken_participant_id=None if broken is None else strawberry.ID(str(broken)),
        first_broken_version=result.first_broken_version,
    )


@strawberry.type
class AuditQuery:
    @strawberry.field
    async def audit_trail(
        self,
        info: Info,
        participant_id: strawberry.ID | None = None,
        after: int | None = None,
        limit: int | None = DEFAULT_LIMIT,
    ) -> AuditPage:
        """AUDITOR, MONITOR (own sites): every recorded event after ``after``, oldest first."""
        principal = info.context.principal
        return await blocking(
            audit_page, info.context.service, principal, participant_id, after,
            DEFAULT_LIMIT if limit is None else limit,
        )  # fmt: skip

    @strawberry.field
    async def verify_audit_chain(self, info: Info) -> ChainVerification:
        """AUDITOR only: recompute every participant's hash chain and check it against the
        seals; a stored event that no longer decodes counts as broken at its version."""
        principal = info.context.principal
        return await blocking(verify_chains, info.context.service, principal)
