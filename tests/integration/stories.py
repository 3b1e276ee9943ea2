"""Participants recorded through the application, and the read side's tables as tests see them.

The inputs are NJ01-007's from tests/unit/builders.py (consent 2025-06-02, screening 2025-06-10,
infusion 2025-06-20, visits on their target days), under other subject ids and sites.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from psycopg.sql import SQL, Identifier

from api.auth import Principal
from domain.application import TrialApplication
from domain.commands import Actor, CommandResult, Request
from domain.participant import participant_id
from domain.rules.toxicity import IcansSigns
from domain.vocabulary import (
    AeCategory,
    Consciousness,
    Edema,
    Relatedness,
    Role,
    SeizureStatus,
    SeriousCriterion,
    Visit,
    WithdrawalReason,
)
from infra.bootstrap import Service, bootstrap
from projections.replay import participants_until
from projections.runner import PROJECTIONS, projection
from projections.store import table_name
from tests.conftest import settings_for
from tests.unit import builders

AUDITOR = Principal("auditor-1", Role.AUDITOR, None)
READ_MODELS = tuple(p.name for p in PROJECTIONS)
FOLLOW_UPS = (Visit.M1, Visit.M2, Visit.M3, Visit.M6, Visit.M9, Visit.M12)
# Documents keyed by (participant, key), each with its site.
Documents = dict[tuple[UUID, str], tuple[str, Any]]


def staff(site: str = "NJ01", key: str | None = None) -> Request:
    """A request signed by the site's coordinator."""
    return Request(Actor(f"nurse.{site.lower()}", Role.SITE_STAFF, site), idempotency_key=key)


def site_of(subject: str) -> str:
    return subject.split("-", 1)[0]


STAGES = ("CONSENTED", "SCREEN_FAILED", "ELIGIBLE", "INFUSED")


def enrol(app: TrialApplication, subject: str, until: str = "INFUSED") -> UUID:
    """Consent ``subject`` (site from its prefix) and bring it to the stage ``until``."""
    site = site_of(subject)
    request = staff(site)
    pid = app.consent(builders.consent(subject_id=subject, site=site), request).participant_id
    if until == "SCREEN_FAILED":
        app.screen(pid, builders.failed_screening(), request)
    elif until in ("ELIGIBLE", "INFUSED"):
        app.screen(pid, builders.screening(), request)
    if until == "INFUSED":
        app.record_infusion(pid, builders.infusion(), request)
    return pid


ICANS_GRADE_2 = IcansSigns(
    ice_score=5,
    consciousness=Consciousness.NORMAL,
    seizure=SeizureStatus.NONE,
    motor_weakness=False,
    edema=Edema.NONE,
)


def busy(app: TrialApplication, subject: str) -> CommandResult:
    """A whole year's story in 16 events: every visit, a correction, two AEs and their updates.

    Returns the last command's result.
    """
    site = site_of(subject)
    request = staff(site)
    pid = enrol(app, subject)
    app.score_visit(pid, builders.baseline(), request)
    for visit in FOLLOW_UPS[:4]:
        app.score_visit(pid, builders.visit(visit), request)
    app.correct_visit(
        pid, builders.visit(Visit.M2, pga_tenths=3), "PGA transcribed as 0.2; source says 0.3",
        request,
    )  # fmt: skip
    app.report_adverse_event(pid, builders.ae_report("AE-001"), request)
    app.report_adverse_event(
        pid,
        builders.ae_report(
            "AE-002",
            term="ICANS",
            category=AeCategory.ICANS,
            crs=None,
            icans=ICANS_GRADE_2,
            serious=frozenset({SeriousCriterion.HOSPITALISATION}),
            relatedness=Relatedness.PROBABLE,
        ),
        request,
    )
    app.update_adverse_event(pid, builders.ae_update("AE-001"), request)
    app.update_adverse_event(
        pid,
        builders.ae_update(
            "AE-002", reported_to_sponsor_at=datetime(2025, 6, 21, 20, 0, tzinfo=UTC)
        ),
        request,
    )
    for visit in FOLLOW_UPS[4:]:
        app.score_visit(pid, builders.visit(visit), request)
    return app.withdraw(
        pid, builders.withdrawal(date(2026, 7, 1), WithdrawalReason.CONSENT_WITHDRAWN), request
    )


def record_cohort(app: TrialApplication, size: int, site: str = "NJ01") -> int:
    """``size`` busy participants (16 events each) at ``site``; returns the head position."""
    for number in range(1, size + 1):
        busy(app, f"{site}-{number:03d}")
    return head(app)


def head(app: TrialApplication) -> int:
    return app.recorder.max_notification_id() or 0


def positions(service: Service) -> dict[str, int]:
    """Each read model's tracking position."""
    return {lag.projection: lag.position for lag in service.read_models.lags()}


def wait_for_head(service: Service, timeout: float = 30.0) -> int:
    """Block until every read model has applied the newest event; return its position."""
    deadline = time.monotonic() + timeout
    while True:
        lags = service.read_models.lags()
        if all(lag.lag == 0 for lag in lags):
            return lags[0].head
        if time.monotonic() > deadline:
            raise AssertionError(f"the read models did not reach the head in {timeout} s: {lags}")
        time.sleep(0.01)


def table_documents(service: Service, name: str, table: str | None = None) -> Documents:
    """Every document of the read model ``name`` as its table holds it."""
    datastore = service.app.factory.datastore  # type: ignore[attr-defined]
    statement = SQL("SELECT participant_id, key, site, doc FROM {}.{}").format(
        Identifier(datastore.schema), Identifier(table or table_name(name))
    )
    with datastore.get_connection() as conn, conn.cursor() as curs:
        curs.execute(statement)
        rows = curs.fetchall()
    return {(row["participant_id"], row["key"]): (row["site"], row["doc"]) for row in rows}


def replayed_documents(app: TrialApplication, name: str, stop: int | None = None) -> Documents:
    """The documents the read model ``name`` must hold after the event at ``stop`` (the head)."""
    rows = projection(name).rows
    documents: Documents = {}
    for participant in participants_until(app, head(app) if stop is None else stop).values():
        for key, doc in rows(participant).items():
            documents[participant.id, key] = (participant.site, json.loads(json.dumps(doc)))
    return documents


def all_documents(service: Service) -> dict[str, Documents]:
    return {name: table_documents(service, name) for name in READ_MODELS}


def all_replayed(app: TrialApplication, names: Iterable[str] = READ_MODELS) -> dict[str, Documents]:
    return {name: replayed_documents(app, name) for name in names}


def pid(subject: str) -> UUID:
    return participant_id(subject)


def unprojected(database_url: str, schema: str, data_dir: Path) -> Service:
    """A service on ``schema`` whose read models nobody projects until a test says so."""
    return bootstrap(settings_for(database_url, data_dir), schema=schema)


def drop_connections(database_url: str, application_name: str) -> int:
    """Terminate the server side of every connection named ``application_name`` (libpq's
    PGAPPNAME), as a database restart or an administrator would; how many there were."""
    with psycopg.connect(database_url, autocommit=True, application_name="admin") as admin:
        row = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = %s",
            (application_name,),
        ).fetchone()
    return 0 if row is None else int(row[0])
