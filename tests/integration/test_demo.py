"""``trial demo``: the synthetic NJ01 cohort, recorded through the application on PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from domain.application import TrialApplication
from domain.participant import participant_id
from domain.views import ParticipantView, participant_view
from domain.vocabulary import AeCategory, Outcome, SeriousCriterion, Visit
from infra.bootstrap import Service
from infra.demo import record_demo_study

pytestmark = pytest.mark.integration

SUBJECTS = [f"NJ01-{n:03d}" for n in range(1, 18)]


def views(app: TrialApplication) -> dict[str, ParticipantView]:
    found = {s: app.participant(participant_id(s)) for s in SUBJECTS}
    return {s: participant_view(p) for s, p in found.items() if p is not None}


def test_demo_records_17_consented_and_15_infused_when_the_store_is_empty(
    service: Service,
) -> None:
    summary = record_demo_study(service.app, seed=101)
    cohort = views(service.app)

    assert len(cohort) == 17
    assert sum(v.infused_at is not None for v in cohort.values()) == 15
    statuses = Counter(v.status.value for v in cohort.values())
    assert statuses == {"COMPLETED": 14, "SCREEN_FAILED": 2, "WITHDRAWN": 1}
    assert "COMPLETED 14, SCREEN_FAILED 2, WITHDRAWN 1" in summary
    assert "17 participants, 15 infused" in summary


def test_demo_screen_failures_fail_one_criterion_each_when_not_rescreened(
    service: Service,
) -> None:
    record_demo_study(service.app, seed=101)
    cohort = views(service.app)
    rescreened = service.app.participant(participant_id("NJ01-008"))

    def failed(subject: str) -> list[str]:
        eligibility = cohort[subject].eligibility
        assert eligibility is not None
        return [c.code for c in eligibility.criteria if c.met is not c.code.startswith("INC")]

    assert failed("NJ01-004") == ["INC2_SLEDAI"]  # SLEDAI-2K 6 is not > 6
    assert failed("NJ01-011") == ["INC6_CRCL"]
    assert rescreened is not None
    assert [s.result.eligible for s in rescreened.screenings] == [False, True]
    assert cohort["NJ01-008"].infused_at is not None


def test_demo_sae_is_reported_within_24_hours_when_crs_needed_a_vasopressor(
    service: Service,
) -> None:
    record_demo_study(service.app, seed=101)
    cohort = views(service.app)

    serious = [(s, ae) for s, v in cohort.items() for ae in v.adverse_events if ae.serious]
    assert [s for s, _ in serious] == ["NJ01-006"]
    sae = serious[0][1]
    assert sae.category is AeCategory.CRS
    assert sae.crs_grade == 3  # one vasopressor (ASTCT 2019)
    assert sae.serious_criteria == (SeriousCriterion.HOSPITALISATION,)
    assert sae.reported_to_sponsor_at == sae.aware_at + timedelta(hours=20)
    assert sae.reporting_due_at == sae.aware_at + timedelta(hours=24)
    assert sae.overdue_at(datetime.now(UTC)) is False


def test_demo_safety_profile_has_crs_icans_infection_and_cytopenia_when_recorded(
    service: Service,
) -> None:
    record_demo_study(service.app, seed=101)
    cohort = views(service.app)

    events = [ae for v in cohort.values() for ae in v.adverse_events]
    assert Counter(ae.category.value for ae in events) == {
        "CRS": 13, "ICANS": 2, "INFECTION": 1, "CYTOPENIA": 1,
    }  # fmt: skip
    crs = [ae for ae in events if ae.category is AeCategory.CRS]
    assert all(ae.days_from_infusion is not None and ae.days_from_infusion <= 7 for ae in crs)
    icans = {
        s: ae.icans_grade
        for s, v in cohort.items()
        for ae in v.adverse_events
        if ae.icans_grade is not None
    }
    assert icans == {"NJ01-002": 1, "NJ01-009": 2}  # ICE 8 → 1, ICE 5 → 2


def test_demo_correction_flips_sri4_at_m1_when_the_source_pga_replaces_the_entered_one(
    service: Service,
) -> None:
    record_demo_study(service.app, seed=101)
    pid = participant_id("NJ01-005")
    log = service.app.event_log.log_entries(pid)
    correction = next(e for e in log if e.event_type == "VisitCorrected")
    before = service.app.participant(pid, at_version=correction.version - 1)
    after = service.app.participant(pid)
    assert before is not None and after is not None

    def m1(view: ParticipantView) -> tuple[float, Outcome]:
        visit = next(v for v in view.visits if v.visit is Visit.M1)
        return visit.pga, visit.outcomes["SRI4"].outcome

    # BASELINE PGA 0.9: a rise to 1.2 is not "< 0.3"; a fall to 0.8 is.
    assert m1(participant_view(before)) == (1.2, Outcome.NON_RESPONDER)
    assert m1(participant_view(after)) == (0.8, Outcome.RESPONDER)
    reason = "transcription error: PGA entered as 1.2, source document says 0.8"
    assert correction.audit.reason == reason
    corrections = [
        e
        for s in SUBJECTS
        for e in service.app.event_log.log_entries(participant_id(s))
        if e.event_type == "VisitCorrected"
    ]
    assert len(corrections) == 2
    reasons = [e.audit.reason or "" for e in corrections]
    assert all(reason.startswith("transcription error") for reason in reasons)


def test_demo_records_an_ae_update_after_the_withdrawal_when_lost_to_follow_up(
    service: Service,
) -> None:
    record_demo_study(service.app, seed=101)
    view = views(service.app)["NJ01-013"]
    types = [e.event_type for e in service.app.event_log.log_entries(view.id)]

    assert view.withdrawal_reason == "LOST_TO_FOLLOW_UP"
    assert [v.visit.value for v in view.visits] == ["BASELINE", "M1", "M2", "M3", "M6"]
    assert types[-2:] == ["Withdrawn", "AdverseEventUpdated"]
    infection = next(ae for ae in view.adverse_events if ae.category is AeCategory.INFECTION)
    assert infection.resolved_on is not None


def test_demo_signs_with_the_site_staff_and_the_investigator_when_it_records(
    service: Service,
) -> None:
    record_demo_study(service.app, seed=101)

    signers = {
        (e.audit.actor, e.audit.actor_role, e.audit.actor_site)
        for s in SUBJECTS
        for e in service.app.event_log.log_entries(participant_id(s))
    }
    assert signers == {
        ("nj01-coordinator", "SITE_STAFF", "NJ01"),
        ("nj01-investigator", "INVESTIGATOR", "NJ01"),
    }


def test_demo_records_no_new_event_when_run_twice(service: Service) -> None:
    record_demo_study(service.app, seed=101)
    before = service.app.recorder.max_notification_id()

    summary = record_demo_study(service.app, seed=101)

    assert service.app.recorder.max_notification_id() == before
    assert "none new" in summary
    assert "COMPLETED 14, SCREEN_FAILED 2, WITHDRAWN 1" in summary


def test_demo_skips_every_subject_when_another_seed_already_consented_them(
    service: Service,
) -> None:
    record_demo_study(service.app, seed=101)
    before = service.app.recorder.max_notification_id()

    summary = record_demo_study(service.app, seed=102)

    assert service.app.recorder.max_notification_id() == before
    assert "Skipped 17 subjects" in summary
    assert "NJ01-001" in summary and "NJ01-017" in summary


def test_demo_records_only_the_past_then_completes_the_study_when_run_again_later(
    service: Service,
) -> None:
    real_clock = service.app.clock
    service.app.clock = lambda: datetime(2025, 6, 1, 4, tzinfo=UTC)  # 12:00 in Nanjing
    record_demo_study(service.app, seed=101)
    early = views(service.app)
    service.app.clock = real_clock

    record_demo_study(service.app, seed=101)

    assert 0 < len(early) < 17
    dated = [v.visit_date for view in early.values() for v in view.visits]
    assert dated and max(dated).isoformat() < "2025-06-01"
    statuses = Counter(v.status.value for v in views(service.app).values())
    assert statuses == {"COMPLETED": 14, "SCREEN_FAILED": 2, "WITHDRAWN": 1}
