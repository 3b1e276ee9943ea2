"""The queries' one call each into the read side: read models now, event replay as of T.

Current views come from the projections; ``asOf`` views run the same projection code over the
events recorded at or before that instant. Both read a hot standby when one is fit
(``infra.read_databases``), else the primary. Every function filters to the sites the caller
may read. These are blocking functions: resolvers run them in worker threads.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar
from uuid import UUID

from api.auth import Principal
from domain.participant import Participant
from domain.views import ParticipantView, participant_view
from domain.vocabulary import ParticipantStatus
from infra.bootstrap import Service
from projections import participant_status, safety_ledger, study_summary
from projections.store import ReadModelStore

T = TypeVar("T")


def _read(
    service: Service,
    projection: str,
    position: int | None,
    read: Callable[[ReadModelStore], T],
    notified: int | None = None,
) -> T:
    """``read`` on the database the read goes to (a hot standby, else the primary), once that
    database's copy of ``projection`` has applied the event at ``position``: read-your-writes,
    on a standby as on the primary (its tracking rows are replicated with its documents).
    ``notified``: a position the primary's NOTIFY announced, so applied there already; only a
    standby is waited for."""
    head = (service.app.recorder.max_notification_id() or 0) if position is not None else 0

    def waited(store: ReadModelStore) -> T:
        if position is not None:
            store.wait_for(service.app.name, position, head)
        elif notified is not None and store is not service.read_models[projection]:
            store.wait_for(service.app.name, notified, notified)
        return read(store)

    return service.reads.read(projection, waited)


def _sites(principal: Principal) -> list[str] | None:
    return None if principal.sites is None else sorted(principal.sites)


def current_participant(
    service: Service,
    principal: Principal,
    pid: UUID,
    now: datetime,
    notified: int | None = None,
) -> ParticipantView | None:
    """The participant now: its read-model document, or its stream when the model lags it."""
    documents = _read(
        service,
        participant_status.ParticipantStatusProjection.name,
        None,
        lambda store: store.documents(participant_id=pid, key=participant_status.KEY),
        notified,
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


def participant_at(
    service: Service,
    principal: Principal,
    pid: UUID,
    *,
    as_of: datetime | None,
    at_version: int | None,
) -> ParticipantView | None:
    """The participant after ``at_version`` events, or as recorded at ``as_of``."""
    participant: Participant | None = service.reads.replay(
        lambda app, _: app.participant(pid, at_version=at_version, as_of=as_of)
    )
    if participant is None:
        return None
    principal.check_read(participant.site)
    return participant_view(participant, as_of)


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
    sites = [site] if site is not None else _sites(principal)
    documents = _read(
        service,
        name,
        min_position,
        lambda store: store.documents(key=participant_status.KEY, sites=sites),
    )
    views = [participant_status.read_participant(document) for document in documents]
    views = [view for view in views if status is None or view.status is status]
    return sorted(views, key=lambda view: (view.site, view.subject_id))


def summary(
    service: Service,
    principal: Principal,
    *,
    as_of: datetime | None = None,
    min_position: int | None = None,
    notified: int | None = None,
) -> study_summary.StudySummaryView:
    name = study_summary.StudySummaryProjection.name
    if as_of is not None:
        when = as_of
        rows = service.reads.replay(
            lambda app, stores: study_summary.rows_until(
                app, stores[name], app.event_log.position_at(when), principal.can_read
            ),
        )
        return study_summary.study_summary(rows, as_of)
    sites = _sites(principal)
    documents = _read(
        service, name, min_position, lambda store: store.documents(sites=sites), notified
    )
    return study_summary.study_summary(documents, None)


def ledger(
    service: Service,
    principal: Principal,
    now: datetime,
    *,
    as_of: datetime | None = None,
    serious_only: bool = False,
    min_position: int | None = None,
    notified: int | None = None,
) -> safety_ledger.SafetyLedgerView:
    if as_of is not None:
        when = as_of
        rows = service.reads.replay(
            lambda app, _: safety_ledger.rows_until(
                app, app.event_log.position_at(when), principal.can_read
            ),
        )
        return safety_ledger.safety_ledger(rows, as_of, serious_only=serious_only, as_of=as_of)
    name = safety_ledger.SafetyLedgerProjection.name
    sites = _sites(principal)
    keyed = _read(
        service, name, min_position, lambda store: store.keyed_documents(sites=sites), notified
    )
    return safety_ledger.safety_ledger(keyed, now, serious_only=serious_only)
