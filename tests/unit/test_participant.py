"""The Participant aggregate in memory: its events, its invariants and its status (issue 3)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import cast
from uuid import UUID, uuid5

import pytest
from eventsourcing.domain import Aggregate

from domain.codec import encode
from domain.errors import DomainRuleViolation, NotFound, TrialError
from domain.inputs import Withdrawal
from domain.participant import Participant, participant_id
from domain.recorded import Signature
from domain.rules.eligibility import CRITERION_CODES
from domain.vocabulary import (
    FOLLOW_UP_VISITS,
    ParticipantStatus,
    Role,
    SdiItem,
    SeriousCriterion,
    Visit,
    WithdrawalReason,
)
from tests.unit.builders import (
    CONSENTED_ON,
    ELIGIBLE_LABS,
    INFUSION_DAY,
    NOW,
    SCREENED_ON,
    TIME_ZONE,
    TODAY,
    VISIT_DATES,
    ae_report,
    ae_update,
    baseline,
    consent,
    consented,
    eligible,
    failed_screening,
    infused,
    infusion,
    saved,
    scored,
    screen_failed,
    screening,
    signature,
    visit,
    with_adverse_event,
    withdrawal,
)

TOMORROW = TODAY + timedelta(days=1)
A_MINUTE_LATER = NOW + timedelta(minutes=1)
SDI_1 = frozenset({SdiItem.CATARACT})
SDI_2 = frozenset({SdiItem.CATARACT, SdiItem.DIABETES})

Command = Callable[[Participant], None]


def refused(participant: Participant, command: Command, error: type[TrialError], rule: str) -> None:
    """Run a command that must be refused with ``rule``, triggering nothing."""
    version = participant.version

    with pytest.raises(error) as raised:
        command(participant)

    assert raised.value.rule == rule
    assert participant.collect_events() == []
    assert participant.version == version


def life_story() -> tuple[Participant, list[tuple[str, Role, str]]]:
    """NJ01-007 from consent to withdrawal, each command signed under its own key a minute after
    the previous one; the events' types, signers' roles and keys, in order."""
    signed = iter(range(10))

    def by(role: Role, key: str) -> Signature:
        actor = "dr.wang" if role is Role.INVESTIGATOR else "nurse.li"
        return signature(key, actor=actor, role=role, at=NOW + timedelta(minutes=next(signed)))

    nurse, doctor = Role.SITE_STAFF, Role.INVESTIGATOR
    participant = Participant.enrol(consent(), TODAY, by(nurse, "k-consent"))
    participant.screen(failed_screening(), TODAY, by(nurse, "k-screen-1"))
    participant.screen(screening(), TODAY, by(doctor, "k-screen-2"))
    participant.score_visit(baseline(), TODAY, by(nurse, "k-baseline"))
    participant.record_infusion(infusion(), NOW, TIME_ZONE, by(doctor, "k-infuse"))
    participant.score_visit(visit(Visit.M1), TODAY, by(nurse, "k-m1"))
    participant.correct_visit(
        visit(Visit.M1, pga_tenths=4), "PGA transcribed wrongly", TODAY, by(doctor, "k-m1-fix")
    )
    participant.report_adverse_event(ae_report(), NOW, TODAY, by(nurse, "k-ae"))
    participant.update_adverse_event(ae_update(ctcae_grade=3), NOW, TODAY, by(doctor, "k-ae-fix"))
    participant.withdraw(withdrawal(date(2025, 8, 1)), TODAY, by(nurse, "k-out"))
    expected = [
        ("Consented", nurse, "k-consent"),
        ("Screened", nurse, "k-screen-1"),
        ("Screened", doctor, "k-screen-2"),
        ("VisitScored", nurse, "k-baseline"),
        ("Infused", doctor, "k-infuse"),
        ("VisitScored", nurse, "k-m1"),
        ("VisitCorrected", doctor, "k-m1-fix"),
        ("AdverseEventReported", nurse, "k-ae"),
        ("AdverseEventUpdated", doctor, "k-ae-fix"),
        ("Withdrawn", nurse, "k-out"),
    ]
    return participant, expected


# ----- events -----


def recorded_events(participant: Participant) -> list[Participant.Event]:
    events = participant.collect_events()
    assert all(isinstance(event, Participant.Event) for event in events)
    return cast(list[Participant.Event], events)


def test_every_event_carries_who_when_and_key_when_the_whole_story_is_recorded() -> None:
    participant, expected = life_story()

    events = recorded_events(participant)

    actors = {Role.SITE_STAFF: "nurse.li", Role.INVESTIGATOR: "dr.wang"}
    assert [
        (type(e).__name__, e.actor, e.actor_role, e.actor_site, e.submitted_at, e.idempotency_key)
        for e in events
    ] == [
        (name, actors[role], role.value, "NJ01", NOW + timedelta(minutes=minute), key)
        for minute, (name, role, key) in enumerate(expected)
    ]


def test_correction_and_update_events_carry_their_reason_when_recorded() -> None:
    participant, _ = life_story()

    events = recorded_events(participant)

    reasons = {type(e).__name__: e.reason for e in events if hasattr(e, "reason")}
    assert reasons == {
        "VisitCorrected": "PGA transcribed wrongly",
        "AdverseEventUpdated": "follow-up of 2025-06-25",
    }


def test_screened_event_records_every_criterion_the_decision_and_the_rules_version() -> None:
    participant = consented()

    participant.screen(screening(), TODAY, signature())

    [screened] = participant.collect_events()
    assert isinstance(screened, Participant.Screened)
    assert screened.rules_version == "2026.1"
    assert screened.result["eligible"] is True
    assert [c["code"] for c in screened.result["criteria"]] == list(CRITERION_CODES)
    assert screened.screening == encode(screening())


def test_replaying_the_events_rebuilds_an_equal_participant_when_the_story_is_replayed() -> None:
    participant, _ = life_story()
    events = recorded_events(participant)

    def apply(state: Aggregate | None, event: Participant.Event) -> Aggregate | None:
        return event.mutate(state)

    replayed = functools.reduce(apply, events, None)

    assert isinstance(replayed, Participant)
    assert replayed.status is ParticipantStatus.WITHDRAWN
    assert replayed.version == participant.version == len(events)
    assert replayed.visits == participant.visits
    assert replayed.visits[Visit.M1].corrected
    assert replayed.adverse_events == participant.adverse_events
    assert replayed.adverse_events["AE-001"].ctcae_grade == 3
    assert vars(replayed) == vars(participant)


# ----- identity -----


def test_participant_id_is_uuid5_of_trial_and_subject_when_derived() -> None:
    # Pinned: another namespace or name would orphan every stream already recorded.
    namespace = UUID("6f1f2b8e-8c59-4c41-9a57-3c1d0a6c7e10")

    derived = participant_id("NJ01-007")

    assert derived == uuid5(namespace, "CHT101/NJ01-007")
    assert derived == participant_id("NJ01-007")
    assert consented().id == derived


def test_participant_id_differs_when_subject_or_trial_differs() -> None:
    ids = {participant_id("NJ01-007"), participant_id("NJ01-008"), participant_id("NJ01-007", "X")}

    assert len(ids) == 3


# ----- status -----


def test_status_follows_the_latest_stage_when_the_story_unfolds() -> None:
    participant = Participant.enrol(consent(), TODAY, signature())
    statuses = [participant.status]

    participant.screen(failed_screening(), TODAY, signature())
    statuses.append(participant.status)
    participant.screen(screening(), TODAY, signature())
    statuses.append(participant.status)
    participant.record_infusion(infusion(), NOW, TIME_ZONE, signature())
    statuses.append(participant.status)
    for name in FOLLOW_UP_VISITS:
        participant.score_visit(visit(name), TODAY, signature())
    statuses.append(participant.status)
    participant.withdraw(withdrawal(date(2026, 6, 30)), TODAY, signature())
    statuses.append(participant.status)

    assert statuses == [
        ParticipantStatus.CONSENTED,
        ParticipantStatus.SCREEN_FAILED,
        ParticipantStatus.ELIGIBLE,
        ParticipantStatus.INFUSED,
        ParticipantStatus.COMPLETED,
        ParticipantStatus.WITHDRAWN,
    ]


def test_status_stays_infused_when_visits_before_m12_are_scored() -> None:
    participant = scored(*(visit(name) for name in FOLLOW_UP_VISITS[:-1]))

    assert participant.status is ParticipantStatus.INFUSED


# ----- screening -----


def test_screening_accepted_when_the_previous_screening_failed() -> None:
    participant = screen_failed()

    participant.screen(screening(screened_on=date(2025, 6, 12)), TODAY, signature())

    assert participant.status is ParticipantStatus.ELIGIBLE
    assert len(participant.collect_events()) == 1


@pytest.mark.parametrize("stage", [eligible, infused], ids=["eligible", "infused"])
def test_screening_refused_when_participant_is_past_screening(
    stage: Callable[[], Participant],
) -> None:
    refused(
        stage(),
        lambda p: p.screen(screening(), TODAY, signature()),
        DomainRuleViolation,
        "SCREENING_NEEDS_CONSENT",
    )


def test_screening_refused_when_participant_withdrew() -> None:
    participant = consented()
    participant.withdraw(withdrawal(date(2025, 6, 5)), TODAY, signature())
    saved(participant)

    refused(
        participant,
        lambda p: p.screen(screening(), TODAY, signature()),
        DomainRuleViolation,
        "SCREENING_NEEDS_CONSENT",
    )


# ----- infusion -----


@pytest.mark.parametrize("stage", [consented, screen_failed], ids=["consented", "screen-failed"])
def test_infusion_refused_when_latest_screening_is_not_eligible(
    stage: Callable[[], Participant],
) -> None:
    refused(
        stage(),
        lambda p: p.record_infusion(infusion(), NOW, TIME_ZONE, signature()),
        DomainRuleViolation,
        "INFUSION_NEEDS_ELIGIBILITY",
    )


def test_infusion_refused_when_participant_was_already_infused() -> None:
    refused(
        infused(),
        lambda p: p.record_infusion(infusion(), NOW, TIME_ZONE, signature()),
        DomainRuleViolation,
        "INFUSION_ONCE",
    )


def test_infusion_refused_when_dated_before_the_screening() -> None:
    # 2025-06-09T15:00Z is 23:00 on 2025-06-09 in Nanjing, the day before the screening.
    early = infusion(infused_at=datetime.fromisoformat("2025-06-09T15:00:00+00:00"))

    refused(
        eligible(),
        lambda p: p.record_infusion(early, NOW, TIME_ZONE, signature()),
        DomainRuleViolation,
        "INFUSION_AFTER_SCREENING",
    )


def test_infusion_records_the_infusion_date_in_the_trial_time_zone_when_recorded() -> None:
    participant = infused(infused_at=datetime.fromisoformat("2025-06-19T17:30:00+00:00"))

    assert participant.infusion_date == date(2025, 6, 20)
    assert participant.infusion is not None
    assert participant.infusion.time_zone == "Asia/Shanghai"


# ----- visits -----


@pytest.mark.parametrize("name", FOLLOW_UP_VISITS)
def test_follow_up_visit_refused_when_participant_is_not_infused(name: Visit) -> None:
    refused(
        eligible(),
        lambda p: p.score_visit(visit(name), TODAY, signature()),
        DomainRuleViolation,
        "VISIT_NEEDS_INFUSION",
    )


def test_baseline_refused_when_participant_is_not_eligible() -> None:
    refused(
        screen_failed(),
        lambda p: p.score_visit(baseline(), TODAY, signature()),
        DomainRuleViolation,
        "BASELINE_NEEDS_ELIGIBILITY",
    )


def test_visit_refused_when_it_was_already_scored() -> None:
    refused(
        scored(visit(Visit.M1)),
        lambda p: p.score_visit(visit(Visit.M1, pga_tenths=5), TODAY, signature()),
        DomainRuleViolation,
        "VISIT_SCORED_ONCE",
    )


def test_correction_replaces_the_values_and_marks_the_visit_corrected_when_reason_given() -> None:
    participant = scored(visit(Visit.M1))

    participant.correct_visit(visit(Visit.M1, pga_tenths=5), "PGA was 0.5", TODAY, signature())

    recorded = participant.visits[Visit.M1]
    assert recorded.corrected
    assert recorded.score.pga_tenths == 5
    assert len(participant.collect_events()) == 1


@pytest.mark.parametrize("reason", ["", "   "], ids=["empty", "blank"])
def test_correction_refused_when_reason_is_empty(reason: str) -> None:
    refused(
        scored(visit(Visit.M1)),
        lambda p: p.correct_visit(visit(Visit.M1, pga_tenths=5), reason, TODAY, signature()),
        DomainRuleViolation,
        "REASON_REQUIRED",
    )


def test_correction_refused_when_visit_was_not_scored() -> None:
    refused(
        infused(),
        lambda p: p.correct_visit(visit(Visit.M1), "late entry", TODAY, signature()),
        DomainRuleViolation,
        "CORRECTION_NEEDS_SCORED_VISIT",
    )


def test_follow_up_visit_accepted_when_dated_on_the_infusion_day() -> None:
    participant = infused()

    participant.score_visit(visit(Visit.M1, visit_date=INFUSION_DAY), TODAY, signature())

    assert Visit.M1 in participant.visits


@pytest.mark.parametrize("name", FOLLOW_UP_VISITS)
def test_follow_up_visit_refused_when_dated_before_the_infusion_day(name: Visit) -> None:
    early = visit(name, visit_date=INFUSION_DAY - timedelta(days=1))

    refused(
        infused(),
        lambda p: p.score_visit(early, TODAY, signature()),
        DomainRuleViolation,
        "VISIT_BEFORE_INFUSION",
    )


def test_correction_refused_when_it_dates_the_visit_before_the_infusion_day() -> None:
    early = visit(Visit.M1, visit_date=INFUSION_DAY - timedelta(days=1))

    refused(
        scored(visit(Visit.M1)),
        lambda p: p.correct_visit(early, "wrong date", TODAY, signature()),
        DomainRuleViolation,
        "VISIT_BEFORE_INFUSION",
    )


def test_baseline_accepted_when_dated_on_the_infusion_day_after_the_infusion() -> None:
    participant = infused()

    participant.score_visit(baseline(visit_date=INFUSION_DAY), TODAY, signature())

    assert Visit.BASELINE in participant.visits


def test_baseline_refused_when_dated_after_the_infusion_day() -> None:
    late = baseline(visit_date=INFUSION_DAY + timedelta(days=1))

    refused(
        infused(),
        lambda p: p.score_visit(late, TODAY, signature()),
        DomainRuleViolation,
        "BASELINE_AFTER_INFUSION",
    )


def test_infusion_refused_when_dated_before_an_already_scored_baseline() -> None:
    participant = eligible()
    participant.score_visit(baseline(visit_date=date(2025, 6, 19)), TODAY, signature())
    saved(participant)
    # 2025-06-18T02:00Z is 10:00 on 2025-06-18 in Nanjing, the day before the BASELINE visit.
    early = infusion(infused_at=datetime.fromisoformat("2025-06-18T02:00:00+00:00"))

    refused(
        participant,
        lambda p: p.record_infusion(early, NOW, TIME_ZONE, signature()),
        DomainRuleViolation,
        "BASELINE_BEFORE_INFUSION",
    )


def test_baseline_refused_when_dated_before_the_consent() -> None:
    refused(
        eligible(),
        lambda p: p.score_visit(baseline(visit_date=date(2025, 5, 30)), TODAY, signature()),
        DomainRuleViolation,
        "NOT_BEFORE_CONSENT",
    )


# ----- withdrawal -----


def withdrawn_after_m1() -> Participant:
    participant = scored(visit(Visit.M1))
    participant.report_adverse_event(ae_report(), NOW, TODAY, signature())
    participant.withdraw(withdrawal(date(2025, 8, 1)), TODAY, signature())
    return saved(participant)


@pytest.mark.parametrize("name", [Visit.BASELINE, Visit.M2, Visit.M12])
def test_visit_refused_when_participant_withdrew(name: Visit) -> None:
    score = baseline() if name is Visit.BASELINE else visit(name)

    refused(
        withdrawn_after_m1(),
        lambda p: p.score_visit(score, TODAY, signature()),
        DomainRuleViolation,
        "NO_VISIT_AFTER_WITHDRAWAL",
    )


def test_adverse_event_update_accepted_when_participant_withdrew() -> None:
    participant = withdrawn_after_m1()

    participant.update_adverse_event(ae_update(ctcae_grade=3), NOW, TODAY, signature())

    [updated] = participant.collect_events()
    assert isinstance(updated, Participant.AdverseEventUpdated)
    assert participant.adverse_events["AE-001"].ctcae_grade == 3


def test_withdrawal_refused_when_participant_already_withdrew() -> None:
    refused(
        withdrawn_after_m1(),
        lambda p: p.withdraw(withdrawal(date(2025, 8, 2)), TODAY, signature()),
        DomainRuleViolation,
        "WITHDRAWAL_ONCE",
    )


# ----- adverse events -----


def test_adverse_event_refused_when_its_id_was_already_reported() -> None:
    other = ae_report("AE-001", term="Pyrexia", onset_on=date(2025, 6, 22))

    refused(
        with_adverse_event(),
        lambda p: p.report_adverse_event(other, NOW, TODAY, signature()),
        DomainRuleViolation,
        "AE_ID_UNIQUE",
    )


def test_adverse_event_update_not_found_when_it_names_an_unreported_id() -> None:
    refused(
        with_adverse_event(),
        lambda p: p.update_adverse_event(ae_update("AE-002"), NOW, TODAY, signature()),
        NotFound,
        "AE_EXISTS",
    )


def test_adverse_event_update_refused_when_resolved_before_onset() -> None:
    early = ae_update(resolved_on=date(2025, 6, 20))

    refused(
        with_adverse_event(),
        lambda p: p.update_adverse_event(early, NOW, TODAY, signature()),
        DomainRuleViolation,
        "AE_RESOLVED_AFTER_ONSET",
    )


def test_adverse_event_update_refused_when_reason_is_blank() -> None:
    refused(
        with_adverse_event(),
        lambda p: p.update_adverse_event(ae_update(reason=" "), NOW, TODAY, signature()),
        DomainRuleViolation,
        "REASON_REQUIRED",
    )


# ----- dates: never in the future, never before consent -----


def test_consent_refused_when_signed_in_the_future() -> None:
    with pytest.raises(DomainRuleViolation) as raised:
        Participant.enrol(consent(signed_on=TOMORROW), TODAY, signature())

    assert raised.value.rule == "NO_FUTURE_DATE"


FUTURE_DATES: list[tuple[str, Callable[[], Participant], Command]] = [
    (
        "screening-date",
        consented,
        lambda p: p.screen(screening(screened_on=TOMORROW), TODAY, signature()),
    ),
    (
        "hcg-date",
        consented,
        lambda p: p.screen(
            screening(labs=replace(ELIGIBLE_LABS, hcg_negative_on=TOMORROW)), TODAY, signature()
        ),
    ),
    (
        "infusion-time",
        eligible,
        lambda p: p.record_infusion(
            infusion(infused_at=A_MINUTE_LATER), NOW, TIME_ZONE, signature()
        ),
    ),
    (
        "visit-date",
        infused,
        lambda p: p.score_visit(visit(Visit.M12, visit_date=TOMORROW), TODAY, signature()),
    ),
    (
        "corrected-visit-date",
        lambda: scored(visit(Visit.M12)),
        lambda p: p.correct_visit(
            visit(Visit.M12, visit_date=TOMORROW), "date", TODAY, signature()
        ),
    ),
    (
        "ae-onset",
        infused,
        lambda p: p.report_adverse_event(ae_report(onset_on=TOMORROW), NOW, TODAY, signature()),
    ),
    (
        "ae-awareness",
        infused,
        lambda p: p.report_adverse_event(
            ae_report(aware_at=A_MINUTE_LATER), NOW, TODAY, signature()
        ),
    ),
    (
        "ae-resolution",
        with_adverse_event,
        lambda p: p.update_adverse_event(ae_update(resolved_on=TOMORROW), NOW, TODAY, signature()),
    ),
    (
        "ae-sponsor-report",
        with_adverse_event,
        lambda p: p.update_adverse_event(
            ae_update(reported_to_sponsor_at=A_MINUTE_LATER), NOW, TODAY, signature()
        ),
    ),
    (
        "withdrawal-date",
        infused,
        lambda p: p.withdraw(withdrawal(TOMORROW), TODAY, signature()),
    ),
]


@pytest.mark.parametrize(
    ("stage", "command"),
    [(stage, command) for _, stage, command in FUTURE_DATES],
    ids=[name for name, _, _ in FUTURE_DATES],
)
def test_command_refused_when_a_date_is_in_the_future(
    stage: Callable[[], Participant], command: Command
) -> None:
    refused(stage(), command, DomainRuleViolation, "NO_FUTURE_DATE")


def test_commands_accepted_when_dated_today() -> None:
    participant = scored(visit(Visit.M12, visit_date=TODAY))

    participant.report_adverse_event(
        ae_report(onset_on=TODAY, aware_at=NOW), NOW, TODAY, signature()
    )
    participant.withdraw(withdrawal(TODAY), TODAY, signature())

    assert len(participant.collect_events()) == 2


BEFORE_CONSENT = CONSENTED_ON - timedelta(days=1)


@pytest.mark.parametrize(
    ("stage", "command"),
    [
        (consented, lambda p: p.screen(screening(screened_on=BEFORE_CONSENT), TODAY, signature())),
        (
            infused,
            lambda p: p.report_adverse_event(
                ae_report(onset_on=BEFORE_CONSENT), NOW, TODAY, signature()
            ),
        ),
        (consented, lambda p: p.withdraw(withdrawal(BEFORE_CONSENT), TODAY, signature())),
    ],
    ids=["screening", "ae-onset", "withdrawal"],
)
def test_command_refused_when_dated_before_the_consent(
    stage: Callable[[], Participant], command: Command
) -> None:
    refused(stage(), command, DomainRuleViolation, "NOT_BEFORE_CONSENT")


# ----- damage (SDI) never decreases -----


def test_visit_refused_when_its_sdi_is_lower_than_an_earlier_visit() -> None:
    refused(
        scored(visit(Visit.M1, sdi_items=SDI_1)),
        lambda p: p.score_visit(visit(Visit.M2, sdi_items=frozenset()), TODAY, signature()),
        DomainRuleViolation,
        "SDI_NEVER_DECREASES",
    )


def test_visit_refused_when_its_sdi_is_higher_than_a_later_visit() -> None:
    refused(
        scored(visit(Visit.M3, sdi_items=SDI_1)),
        lambda p: p.score_visit(visit(Visit.M1, sdi_items=SDI_2), TODAY, signature()),
        DomainRuleViolation,
        "SDI_NEVER_DECREASES",
    )


def test_baseline_refused_when_its_sdi_is_higher_than_month_1() -> None:
    refused(
        scored(visit(Visit.M1, sdi_items=frozenset())),
        lambda p: p.score_visit(baseline(sdi_items=SDI_1), TODAY, signature()),
        DomainRuleViolation,
        "SDI_NEVER_DECREASES",
    )


def test_correction_refused_when_it_lowers_sdi_below_an_earlier_visit() -> None:
    refused(
        scored(visit(Visit.M1, sdi_items=SDI_1), visit(Visit.M2, sdi_items=SDI_1)),
        lambda p: p.correct_visit(
            visit(Visit.M2, sdi_items=frozenset()), "no cataract", TODAY, signature()
        ),
        DomainRuleViolation,
        "SDI_NEVER_DECREASES",
    )


def test_correction_refused_when_it_raises_sdi_above_a_later_visit() -> None:
    refused(
        scored(visit(Visit.M1, sdi_items=SDI_1), visit(Visit.M2, sdi_items=SDI_1)),
        lambda p: p.correct_visit(visit(Visit.M1, sdi_items=SDI_2), "diabetes", TODAY, signature()),
        DomainRuleViolation,
        "SDI_NEVER_DECREASES",
    )


def test_corrections_accepted_when_later_visits_are_raised_first() -> None:
    participant = scored(visit(Visit.M1, sdi_items=SDI_1), visit(Visit.M2, sdi_items=SDI_1))

    participant.correct_visit(visit(Visit.M2, sdi_items=SDI_2), "diabetes", TODAY, signature())
    participant.correct_visit(visit(Visit.M1, sdi_items=SDI_2), "diabetes", TODAY, signature())

    assert len(participant.collect_events()) == 2


def test_visit_accepted_when_sdi_was_not_assessed_between_assessed_visits() -> None:
    participant = scored(visit(Visit.M1, sdi_items=SDI_2))

    participant.score_visit(visit(Visit.M2, sdi_items=None), TODAY, signature())
    participant.score_visit(visit(Visit.M3, sdi_items=SDI_2), TODAY, signature())

    assert len(participant.collect_events()) == 2


# ----- events store what was accepted -----


def test_adverse_event_update_keeps_the_report_and_folds_in_changes_when_updated() -> None:
    participant = with_adverse_event()

    participant.update_adverse_event(
        ae_update(serious=frozenset({SeriousCriterion.HOSPITALISATION})), NOW, TODAY, signature()
    )
    participant.update_adverse_event(ae_update(ctcae_grade=3), NOW, TODAY, signature())

    current = participant.adverse_events["AE-001"]
    assert (current.ctcae_grade, current.serious) == (3, {SeriousCriterion.HOSPITALISATION})
    assert current.report.term == "Cytokine release syndrome"
    assert current.report.onset_on == date(2025, 6, 21)


def test_withdrawal_records_date_and_reason_when_withdrawn() -> None:
    participant = infused()

    participant.withdraw(withdrawal(date(2025, 7, 1), WithdrawalReason.DEATH), TODAY, signature())

    assert participant.withdrawal == Withdrawal(
        withdrawn_on=date(2025, 7, 1), reason=WithdrawalReason.DEATH, note="moved away"
    )


def test_screening_is_recorded_with_the_participant_when_screened_twice() -> None:
    participant = screen_failed()

    participant.screen(screening(), TODAY, signature())

    assert [s.result.eligible for s in participant.screenings] == [False, True]
    assert participant.screenings[0].details.screened_on == SCREENED_ON


def test_visit_dates_of_the_story_are_on_their_target_days() -> None:
    # Guards the builders: every follow-up visit of the story is on its target day.
    months = {Visit.M1: 1, Visit.M2: 2, Visit.M3: 3, Visit.M6: 6, Visit.M9: 9, Visit.M12: 12}

    days = {name: (VISIT_DATES[name] - INFUSION_DAY).days for name in FOLLOW_UP_VISITS}

    assert days == {name: 30 * month for name, month in months.items()}


def test_score_keeps_the_visit_values_when_recorded() -> None:
    score = visit(Visit.M1, creatinine_mg_dl=0.9, egfr=None)

    participant = scored(score)

    assert participant.visits[Visit.M1].score == score
    assert participant.visits[Visit.M1].visit_date == VISIT_DATES[Visit.M1]


@pytest.mark.parametrize("missing", ["pga_tenths", "prednisone_mg_per_day"])
def test_a_visit_is_refused_without_its_pga_or_prednisone_dose(missing: str) -> None:
    participant = infused()

    with pytest.raises(TrialError) as raised:
        participant.score_visit(visit(Visit.M1, **{missing: None}), TODAY, signature())

    assert raised.value.rule == "VISIT_VALUES"
    assert participant.collect_events() == []
