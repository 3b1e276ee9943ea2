"""The queries' one call each into the read side: read models now, event replay as of T.

Current views come from the projections; ``asOf`` views run the same projection code over the
events recorded at or before that instant. Every function filters to the sites the caller may
read. These are blocking functions: resolvers run them in worker threads.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from api.auth import Principal
from domain.views import ParticipantView, participant_view
from domain.vocabulary import ParticipantStatus
from infra.bootstrap import Service
from projections import participant_status, safety_ledger, study_summary


def _wait(service: Service, projection: str, position: int | None) -> None:
    """Read-your-writes: wait until ``projection`` has applied the event at ``position``."""
    if position is not None:
        head = service.app.recorder.max_notification_id() or 0
        service.read_models[projection].wait_for(service.app.name, position, head)


def _sites(principal: Principal) -> list[str] | None:
    return None if principal.sites is None else sorted(principal.sites)


def current_participant(
    service: Service, principal: Principal, pid: UUID, now: datetime
) -> ParticipantView | None:
    """The participant now: its read-model document, or its stream when the model lags it."""
    documents = service.read_models[participant_status.ParticipantStatusProjection.name].documents(
        participant_id=pid, key=participant_status.KEY
    )
    view = participant_status.read_participant(documents[0]) if documents else None
    head = service.app.event_log.version_at(pid, now)
    if view is None or head is None or view.version < head:
        participant = service.app.participant(pid)
        if participant is None:
            return None
        view = participant_view(participant)
    principal.check_read(view.site)
    return view


def participants(
    service: Service,
    principal: Principal,
    *,
    site: str | None = None,
    status: ParticipantStatus | None = None,
    min_position: int | None = None,
) -> list[ParticipantView]:
    if site is not None:
        principal.check_read(site)
    name = participant_status.ParticipantStatusProjection.name
    _wait(service, name, min_position)
    sites = [site] if site is not None else _sites(principal)
    views = [
        participant_status.read_participant(document)
        for document in service.read_models[name].documents(key=participant_status.KEY, sites=sites)
    ]
    views = [view for view in views if status is None or view.status is status]
    return sorted(views, key=lambda view: (view.site, view.subject_id))


def summary(
    service: Service,
    principal: Principal,
    *,
    as_of: datetime | None = None,
    min_position: int | None = None,
) -> study_summary.StudySummaryView:
    name = study_summary.StudySummaryProjection.name
    if as_of is not None:
        stop = service.app.event_log.position_at(as_of)
        store = service.read_models[name]
        rows = study_summary.rows_until(service.app, store, stop, principal.can_read)
        return study_summary.study_summary(rows, as_of)
    _wait(service, name, min_position)
    documents = service.read_models[name].documents(sites=_sites(principal))
    return study_summary.study_summary(documents, None)


def ledger(
    service: Service,
    principal: Principal,
    now: datetime,
    *,
    as_of: datetime | None = None,
    serious_only: bool = False,
    min_position: int | None = None,
) -> safety_ledger.SafetyLedgerView:
    if as_of is not None:
        stop = service.app.event_log.position_at(as_of)
        rows = safety_ledger.rows_until(service.app, stop, principal.can_read)
        return safety_ledger.safety_ledger(rows, as_of, serious_only=serious_only, as_of=as_of)
    name = safety_ledger.SafetyLedgerProjection.name
    _wait(service, name, min_position)
    keyed = service.read_models[name].keyed_documents(sites=_sites(principal))
    return safety_ledger.safety_ledger(keyed, now, serious_only=serious_only)
