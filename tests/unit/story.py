"""One story that records every event type and payload shape, as a list of commands.

``on_aggregate`` runs it through the ``Participant``'s command methods, ``through`` through the
application's use cases: both sign as nurse.li of NJ01 at the builders' NOW, with the key
"consent" on the consent only, so both record the same events.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from domain.application import TrialApplication
from domain.commands import Actor, CommandResult, Request
from domain.participant import Participant
from domain.rules.toxicity import GvhdStages, IcansSigns
from domain.vocabulary import (
    AeCategory,
    Consciousness,
    Edema,
    Relatedness,
    Role,
    SdiItem,
    SeizureStatus,
    SeriousCriterion,
    Visit,
    WithdrawalReason,
)
from domain.vocabulary import SledaiDescriptor as D
from tests.unit.builders import (
    NOW,
    SITE,
    TIME_ZONE,
    TODAY,
    ae_report,
    ae_update,
    baseline,
    consent,
    failed_screening,
    infusion,
    screening,
    signature,
    visit,
    withdrawal,
)

NURSE = Actor("nurse.li", Role.SITE_STAFF, SITE)
CORRECTION = "transcription error: PGA is 0.7 on the source"

# (the application's method, its inputs after the participant id) in the order recorded.
STEPS: list[tuple[str, tuple[Any, ...]]] = [
    ("consent", (consent(),)),
    ("screen", (failed_screening(),)),
    ("screen", (screening(),)),
    ("score_visit", (baseline(),)),
    ("record_infusion", (infusion(),)),
    ("score_visit", (visit(Visit.M1, sledai=frozenset({D.RASH}), pga_tenths=9),)),
    ("correct_visit", (visit(Visit.M1, sledai=frozenset({D.RASH}), pga_tenths=7), CORRECTION)),
    ("report_adverse_event", (ae_report(),)),
    ("report_adverse_event", (ae_report(
        "AE-002", term="Immune effector cell-associated neurotoxicity syndrome",
        category=AeCategory.ICANS, ctcae_grade=3,
        serious=frozenset({SeriousCriterion.HOSPITALISATION}), relatedness=Relatedness.PROBABLE,
        crs=None, icans=IcansSigns(6, Consciousness.VOICE, SeizureStatus.NONE, False, Edema.NONE),
    ),)),
    ("report_adverse_event", (ae_report(
        "AE-003", term="Acute graft-versus-host disease", category=AeCategory.ACUTE_GVHD,
        crs=None, acute_gvhd=GvhdStages(skin=2, liver=0, upper_gi=1, lower_gi=0),
    ),)),
    ("update_adverse_event", (ae_update(
        "AE-002", reason="sponsor informed",
        reported_to_sponsor_at=datetime(2025, 6, 22, 1, 30, tzinfo=UTC),
    ),)),
    ("update_adverse_event", (ae_update("AE-001"),)),
    ("score_visit", (visit(
        Visit.M2, egfr=None, creatinine_mg_dl=0.9, sdi_items=frozenset({SdiItem.CATARACT})
    ),)),
    ("withdraw", (withdrawal(date(2025, 9, 1), WithdrawalReason.LOST_TO_FOLLOW_UP),)),
]  # fmt: skip

# How each command method of the aggregate takes its clock: "today", "now", the time zone.
_CLOCKS: dict[str, Callable[[], tuple[Any, ...]]] = {
    "screen": lambda: (TODAY,),
    "record_infusion": lambda: (NOW, TIME_ZONE),
    "score_visit": lambda: (TODAY,),
    "correct_visit": lambda: (TODAY,),
    "report_adverse_event": lambda: (NOW, TODAY),
    "update_adverse_event": lambda: (NOW, TODAY),
    "withdraw": lambda: (TODAY,),
}


def on_aggregate() -> Participant:
    """The story through the aggregate's command methods (its events still pending)."""
    (_, (details,)), *rest = STEPS
    participant = Participant.enrol(details, TODAY, signature("consent"))
    for method, inputs in rest:
        getattr(participant, method)(*inputs, *_CLOCKS[method](), signature())
    return participant


def through(app: TrialApplication) -> tuple[UUID, list[CommandResult]]:
    """The story through the application's use cases; the participant and each result."""
    (_, (details,)), *rest = STEPS
    first = app.consent(details, Request(NURSE, idempotency_key="consent"))
    pid = first.participant_id
    results = [first]
    for method, inputs in rest:
        results.append(getattr(app, method)(pid, *inputs, Request(NURSE)))
    return pid, results
