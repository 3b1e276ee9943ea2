"""What a query returned live at instant T equals what it returns later with ``asOf: T``.

Hypothesis draws a history of commands that the workflow accepts, for three participants at two
sites: consents, screenings (failed or eligible), infusions, visits with random activity,
corrections, adverse events (some made aware of 24 h less a second or two ago, so that their SAE
reporting clock runs out while the history is recorded), AE updates and withdrawals. At random
points the test waits for the read models to reach the head and keeps the live study summary,
safety ledger (its SAE clocks read at T) and participants, with the instant T just after. At
the end, after every later event and correction, each is asked for again as of its T.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from api import readside
from domain.inputs import AdverseEventReport, AdverseEventUpdate, VisitScore, Withdrawal
from domain.participant import participant_id
from domain.rules.toxicity import CrsSigns, GvhdStages
from domain.views import participant_view
from domain.vocabulary import (
    AeCategory,
    Oxygen,
    Relatedness,
    SeriousCriterion,
    Visit,
    WithdrawalReason,
)
from domain.vocabulary import SledaiDescriptor as D
from infra.bootstrap import Service
from tests.integration.stories import (
    AUDITOR,
    FOLLOW_UPS,
    ICANS_GRADE_2,
    site_of,
    staff,
    unprojected,
    wait_for_head,
)
from tests.unit import builders

pytestmark = pytest.mark.integration

Draw = Callable[[st.SearchStrategy[Any]], Any]
SUBJECTS = ("NJ01-007", "NJ01-008", "NJ02-003")
DESCRIPTORS = (D.PROTEINURIA, D.ARTHRITIS, D.RASH, D.LOW_COMPLEMENT, D.FEVER, D.PLEURISY)
GRADE_3_CRS = CrsSigns(39.2, False, True, 1, False, Oxygen.LOW_FLOW)
SIGNS: dict[AeCategory, dict[str, Any]] = {
    AeCategory.CRS: {"crs": GRADE_3_CRS},
    AeCategory.ICANS: {"crs": None, "icans": ICANS_GRADE_2},
    AeCategory.ACUTE_GVHD: {"crs": None, "acute_gvhd": GvhdStages(3, 1, 0, 0)},
    AeCategory.OTHER: {"crs": None},
}


@dataclass
class Known:
    """What the test knows of one participant: enough to draw only commands it accepts."""

    consented: bool = False
    eligible: bool | None = None  # the latest screening's decision
    infused: bool = False
    withdrawn: bool = False
    visits: set[Visit] = field(default_factory=set)
    aes: dict[str, datetime] = field(default_factory=dict)  # AE id -> awareness time

    def commands(self) -> list[str]:
        """The commands the participant accepts now, those that move the story on repeated."""
        if not self.consented:
            return ["consent"]
        possible = ["report_ae", "withdraw"] if not self.withdrawn else ["report_ae"]
        if not self.withdrawn and not self.infused and self.eligible is not True:
            possible += ["screen"] * 3
        if not self.withdrawn and self.eligible and not self.infused:
            possible += ["infuse"] * 3
        if not self.withdrawn and self.eligible and Visit.BASELINE not in self.visits:
            possible += ["baseline"] * 2
        if not self.withdrawn and self.infused and set(FOLLOW_UPS) - self.visits:
            possible += ["score"] * 4
        if self.visits:
            possible += ["correct"] * 2
        if self.aes:
            possible.append("update_ae")
        return possible


def activity(draw: Draw) -> dict[str, Any]:
    """A visit's values, any mix of activity, treatment and kidney function."""
    return {
        "sledai": frozenset(draw(st.sets(st.sampled_from(DESCRIPTORS)))),
        "arthritis_joint_count": draw(st.sampled_from([None, 2, 4])),
        "pga_tenths": draw(st.integers(0, 20)),
        "prednisone_mg_per_day": draw(st.sampled_from([0.0, 5.0, 7.5, 20.0])),
        "antimalarial_only": draw(st.sampled_from([None, True, False])),
        "rescue_therapy": draw(st.booleans()),
        "upcr_g_per_g": draw(st.sampled_from([None, 0.3, 0.6, 2.4, 3.5])),
        "egfr": draw(st.sampled_from([None, 95.0, 70.0, 50.0])),
    }


def follow_up(draw: Draw, visit: Visit) -> VisitScore:
    shift = timedelta(days=draw(st.integers(-10, 10)))
    return builders.visit(visit, visit_date=builders.VISIT_DATES[visit] + shift, **activity(draw))


def adverse_event(draw: Draw, ae_id: str, now: datetime) -> AdverseEventReport:
    category = draw(st.sampled_from(list(SIGNS)))
    recent = draw(st.booleans())
    aware_at = (
        now - timedelta(hours=24) + timedelta(seconds=draw(st.integers(1, 2)))
        if recent
        else datetime(2025, 6, 21, 3, 0, tzinfo=UTC)
    )
    return builders.ae_report(
        ae_id,
        term=f"{category.value.lower()} event",
        category=category,
        onset_on=date(2025, 6, 21) + timedelta(days=draw(st.integers(0, 40))),
        aware_at=aware_at,
        ctcae_grade=draw(st.integers(1, 5)),
        serious=frozenset(draw(st.sets(st.sampled_from(list(SeriousCriterion)), max_size=2))),
        relatedness=draw(st.sampled_from(list(Relatedness))),
        **SIGNS[category],
    )


def ae_update(draw: Draw, ae_id: str, aware_at: datetime, now: datetime) -> AdverseEventUpdate:
    change = draw(st.sampled_from(["grade", "resolved", "serious", "reported"]))
    if change == "grade":
        return builders.ae_update(ae_id, ctcae_grade=draw(st.integers(1, 5)))
    if change == "resolved":
        return builders.ae_update(ae_id, resolved_on=date(2025, 8, 1))
    if change == "serious":
        criteria = draw(st.sets(st.sampled_from(list(SeriousCriterion)), max_size=2))
        return builders.ae_update(ae_id, serious=frozenset(criteria))
    hours = draw(st.sampled_from([12, 30]))  # within the 24 h, or late
    reported = min(aware_at + timedelta(hours=hours), now - timedelta(seconds=1))
    return builders.ae_update(ae_id, reported_to_sponsor_at=reported)


def record(service: Service, draw: Draw, subject: str, known: Known) -> None:
    """Draw one command the participant accepts and record it."""
    app, request, pid = service.app, staff(site_of(subject)), participant_id(subject)
    command = draw(st.sampled_from(known.commands()))
    now = datetime.now(UTC)
    if command == "consent":
        app.consent(builders.consent(subject_id=subject, site=site_of(subject)), request)
        known.consented = True
    elif command == "screen":
        known.eligible = draw(st.sampled_from([True, True, False]))
        screening = builders.screening() if known.eligible else builders.failed_screening()
        app.screen(pid, screening, request)
    elif command == "infuse":
        app.record_infusion(pid, builders.infusion(), request)
        known.infused = True
    elif command == "baseline":
        lupus_nephritis = draw(st.sampled_from([True, False, None]))
        score = builders.baseline(lupus_nephritis=lupus_nephritis, **activity(draw))
        app.score_visit(pid, score, request)
        known.visits.add(Visit.BASELINE)
    elif command == "score":
        visit = draw(st.sampled_from([v for v in FOLLOW_UPS if v not in known.visits]))
        app.score_visit(pid, follow_up(draw, visit), request)
        known.visits.add(visit)
    elif command == "correct":
        visit = draw(st.sampled_from(sorted(known.visits, key=list(Visit).index)))
        score = builders.baseline(**activity(draw)) if visit is Visit.BASELINE else (
            follow_up(draw, visit))  # fmt: skip
        app.correct_visit(pid, score, "source data verification", request)
    elif command == "report_ae":
        report = adverse_event(draw, f"AE-{len(known.aes) + 1:03d}", now)
        app.report_adverse_event(pid, report, request)
        known.aes[report.ae_id] = report.aware_at
    elif command == "update_ae":
        ae_id = draw(st.sampled_from(sorted(known.aes)))
        app.update_adverse_event(pid, ae_update(draw, ae_id, known.aes[ae_id], now), request)
    else:
        on = draw(st.sampled_from([date(2025, 7, 1), date(2025, 9, 1), date(2026, 7, 1)]))
        reason = draw(st.sampled_from(list(WithdrawalReason)))
        app.withdraw(pid, Withdrawal(on, reason, "drawn by the test"), request)
        known.withdrawn = True


@dataclass(frozen=True)
class Seen:
    """The live views at instant T (the ledger's SAE clocks and the participants read at T)."""

    at: datetime
    summary: Any
    ledger: Any
    participants: list[Any]


def seen_now(service: Service) -> Seen:
    wait_for_head(service)
    at = datetime.now(UTC)
    return Seen(
        at,
        readside.summary(service, AUDITOR),
        readside.ledger(service, AUDITOR, at),
        readside.participants(service, AUDITOR),
    )


def participants_as_of(service: Service, at: datetime) -> list[Any]:
    """Each participant as recorded at ``at``, in the order ``participants`` lists them."""
    views = []
    for subject in SUBJECTS:
        participant = service.app.participant(participant_id(subject), as_of=at)
        if participant is not None:
            views.append(replace(participant_view(participant), as_of=None))
    return sorted(views, key=lambda view: (view.site, view.subject_id))


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_summary_ledger_and_participants_as_of_t_equal_the_live_views_at_t(
    data: st.DataObject, database_url: str, tmp_path: Path
) -> None:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    service = unprojected(database_url, schema, tmp_path)
    try:
        service.start_projector()
        known = {subject: Known() for subject in SUBJECTS}
        seen: list[Seen] = []
        for _ in range(data.draw(st.integers(10, 40), label="steps")):
            subject = data.draw(st.sampled_from(SUBJECTS), label="subject")
            record(service, data.draw, subject, known[subject])
            if data.draw(st.integers(0, 3), label="capture") == 0:
                seen.append(seen_now(service))

        for then in seen:
            summary = readside.summary(service, AUDITOR, as_of=then.at)
            ledger = readside.ledger(service, AUDITOR, then.at, as_of=then.at)

            assert replace(summary, as_of=None) == then.summary
            assert replace(ledger, as_of=None) == then.ledger
            assert (summary.as_of, ledger.as_of) == (then.at, then.at)
            assert participants_as_of(service, then.at) == then.participants
    finally:
        service.close()
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
