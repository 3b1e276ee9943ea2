"""``trial demo``: record the synthetic NJ01 cohort through the application's command path.

Every fact goes through the same ``TrialApplication`` methods the GraphQL mutations call, signed
by the site coordinator or the investigator, under an idempotency key made of (seed, subject,
step). Running the demo again therefore replays every command and records nothing; a subject
consented outside this demo (by hand, or by another seed) is left alone and named in the summary.
"""

from __future__ import annotations

from collections import Counter
from typing import assert_never
from uuid import UUID

from domain import inputs
from domain.application import TrialApplication
from domain.commands import CommandResult, Request
from domain.participant import participant_id
from infra.demo.cast import SITE, Correction, Fact, SubjectPlan
from infra.demo.plan import plan_cohort


def record_demo_study(app: TrialApplication, seed: int = 101) -> str:
    """Record the synthetic NJ01 study through the application's commands; return a summary."""
    before = app.recorder.max_notification_id() or 0
    today = app.today(app.clock())
    recorded: list[UUID] = []
    skipped: list[str] = []
    new_events = 0
    for plan in plan_cohort(seed, app.time_zone):
        pid = participant_id(plan.subject_id)
        if not _new_or_ours(app, pid, _key(seed, plan, plan.steps[0].name)):
            skipped.append(plan.subject_id)
            continue
        for step in plan.steps:
            # Facts up to yesterday (so no time of day is in the future); later steps build on
            # this one, so the subject stops here.
            if step.on >= today:
                break
            request = Request(step.by, idempotency_key=_key(seed, plan, step.name))
            new_events += _send(app, pid, step.fact, request).position > before
        recorded.append(pid)
    return _summary(app, seed, recorded, skipped, new_events)


def _send(app: TrialApplication, pid: UUID, fact: Fact, request: Request) -> CommandResult:
    """The application command that records ``fact``."""
    match fact:
        case inputs.ConsentDetails():
            return app.consent(fact, request)
        case inputs.ScreeningDetails():
            return app.screen(pid, fact, request)
        case inputs.InfusionDetails():
            return app.record_infusion(pid, fact, request)
        case inputs.VisitScore():
            return app.score_visit(pid, fact, request)
        case Correction():
            return app.correct_visit(pid, fact.score, fact.reason, request)
        case inputs.AdverseEventReport():
            return app.report_adverse_event(pid, fact, request)
        case inputs.AdverseEventUpdate():
            return app.update_adverse_event(pid, fact, request)
        case inputs.Withdrawal():
            return app.withdraw(pid, fact, request)
        case _:
            assert_never(fact)


def _key(seed: int, plan: SubjectPlan, step: str) -> str:
    return f"demo-{seed}-{plan.subject_id}-{step}"


def _new_or_ours(app: TrialApplication, pid: UUID, consent_key: str) -> bool:
    """A subject not yet consented, or one this demo consented with this seed (it replays)."""
    if app.participant(pid) is None:
        return True
    receipt = app.event_log.find_command(consent_key)
    return receipt is not None and receipt.participant_id == pid


def _summary(
    app: TrialApplication, seed: int, recorded: list[UUID], skipped: list[str], new_events: int
) -> str:
    participants = [p for pid in recorded if (p := app.participant(pid)) is not None]
    statuses = Counter(p.status.value for p in participants)
    by_status = ", ".join(f"{status} {n}" for status, n in sorted(statuses.items())) or "none"
    events = sum(p.version for p in participants)
    lines = [
        f"CHT101 demo study (seed {seed}) at site {SITE}: {len(participants)} participants, "
        f"{sum(p.infusion is not None for p in participants)} infused.",
        f"By status: {by_status}.",
        f"Events: {events} in their streams, "
        + (f"{new_events} recorded now." if new_events else "none new: already recorded."),
    ]
    if skipped:
        lines.append(
            f"Skipped {len(skipped)} subjects already consented outside this demo's seed "
            f"{seed}: {', '.join(skipped)}."
        )
    return "\n".join(lines)
