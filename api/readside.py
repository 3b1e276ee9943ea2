"""The queries' one call each into the read side: read models now, event replay as of T.

Current views come from the projections; ``asOf`` views run the same projection code over the
events recorded at or before that instant. Every function filters to the sites the caller may
read. These are blocking functions: resolvers run them in worker threads.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any
from uuid import UUID

from api.auth import Principal
from domain.errors import BadInput, TrialError
from domain.views import ParticipantView, participant_view
from domain.vocabulary import ParticipantStatus
from infra.bootstrap import Service
from projections import participant_status, safety_ledger, study_summary
from projections.replay import events_until, fold, participants_until, versions_until

WAIT_TIMEOUT_S = 10.0


class ReadModelBehind(TrialError):
    """A read model did not reach the position the caller asked for in time."""

    code = "SERVICE_UNAVAILABLE"


def wait_for(service: Service, projection: str, position: int | None) -> None:
    """Block until ``projection`` has applied the event at ``position`` (read-your-writes)."""
    if position is None:
        return
    head = service.app.recorder.max_notification_id() or 0
    if not 0 <= position <= head:
        raise BadInput(
            "MIN_POSITION", f"minPosition {position} is not a recorded position (0–{head})"
        )
    store = service.read_models[projection]
    deadline = time.monotonic() + WAIT_TIMEOUT_S
    pause = 0.002
    while store.position(service.app.name) < position:
        if time.monotonic() > deadline:
            raise ReadModelBehind(
                "MIN_POSITION",
                f"the {projection} read model has not reached position {position} "
                f"within {WAIT_TIMEOUT_S:.0f} s; retry later",
            )
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


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
    wait_for(service, name, min_position)
    sites = [site] if site is not None else _sites(principal)
    views = [
        participant_status.read_participant(document)
        for document in service.read_models[name].documents(key=participant_status.KEY, sites=sites)
    ]
    views = [view for view in views if status is None or view.status is status]
    return sorted(views, key=lambda view: (view.site, view.subject_id))


def _visible(principal: Principal, site: str) -> bool:
    return principal.can_read(site)


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
        rows = _summary_rows_until(service, principal, stop)
        return study_summary.study_summary(rows, as_of)
    wait_for(service, name, min_position)
    documents = service.read_models[name].documents(sites=_sites(principal))
    return study_summary.study_summary(documents, None)


def _summary_rows_until(service: Service, principal: Principal, stop: int) -> list[dict[str, Any]]:
    """Each visible participant's summary row as it stood after position ``stop``.

    A participant whose current row was derived from the very version it had at ``stop`` (no
    event of it since, and the read model has caught up with it) contributes that row; every
    other participant is replayed from its events up to ``stop``, so the answer is the same as
    a replay of the whole study, at the cost of only the participants that changed since.
    """
    versions = versions_until(service.app, stop)
    summaries = service.read_models[study_summary.StudySummaryProjection.name]
    current = summaries.by_participant(study_summary.KEY)
    rows: list[dict[str, Any]] = []
    stale = []
    for pid, version in versions.items():
        site, row = current.get(pid, ("", None))
        if row is not None and row.get("version") == version:
            if _visible(principal, site):
                rows.append(row)
        else:
            stale.append(pid)
    if stale:
        states, _ = fold(events_until(service.app, stop, participants=stale))
        visible = (p for p in states.values() if _visible(principal, p.site))
        rows += [study_summary.summary_row(p) for p in visible]
    return rows


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
        rows = [
            item
            for p in participants_until(service.app, stop).values()
            if _visible(principal, p.site)
            for item in safety_ledger.ledger_rows(p).items()
        ]
        return safety_ledger.safety_ledger(rows, as_of, serious_only=serious_only, as_of=as_of)
    name = safety_ledger.SafetyLedgerProjection.name
    wait_for(service, name, min_position)
    keyed = service.read_models[name].keyed_documents(sites=_sites(principal))
    return safety_ledger.safety_ledger(keyed, now, serious_only=serious_only)
