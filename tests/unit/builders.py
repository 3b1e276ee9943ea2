"""NJ01-007's story as command inputs, and the participant at each stage of it (unit tests).

The dates are those of tests/e2e/documents.py: consent 2025-06-02, an eligible screening on
2025-06-10, infusion at 2025-06-20T02:00Z (10:00 in Nanjing, infusion day 2025-06-20), visits on
their target days. "Today" is 2026-07-01, after every date of the story.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from domain.inputs import (
    AdverseEventReport,
    AdverseEventUpdate,
    ConsentDetails,
    InfusionDetails,
    ScreeningDetails,
    VisitScore,
    Withdrawal,
)
from domain.participant import Participant
from domain.recorded import Signature
from domain.rules.toxicity import CrsSigns
from domain.vocabulary import (
    AeCategory,
    Oxygen,
    Relatedness,
    Role,
    Sex,
    Visit,
    WithdrawalReason,
)
from domain.vocabulary import SledaiDescriptor as D
from infra.demo import builders as synthetic
from infra.demo.builders import REFERENCE_LABS, bilag

SUBJECT = "NJ01-007"
SITE = "NJ01"
TODAY = date(2026, 7, 1)
NOW = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
TIME_ZONE = "Asia/Shanghai"
CONSENTED_ON = date(2025, 6, 2)
SCREENED_ON = date(2025, 6, 10)
INFUSED_AT = datetime(2025, 6, 20, 2, 0, tzinfo=UTC)
INFUSION_DAY = date(2025, 6, 20)
VISIT_DATES: dict[Visit, date] = {
    Visit.BASELINE: date(2025, 6, 19),
    Visit.M1: date(2025, 7, 20),  # day 30
    Visit.M2: date(2025, 8, 19),  # day 60
    Visit.M3: date(2025, 9, 18),  # day 90
    Visit.M6: date(2025, 12, 17),  # day 180
    Visit.M9: date(2026, 3, 17),  # day 270
    Visit.M12: date(2026, 6, 15),  # day 360
}


def signature(
    key: str | None = None,
    *,
    actor: str = "nurse.li",
    role: Role = Role.SITE_STAFF,
    site: str | None = SITE,
    at: datetime = NOW,
) -> Signature:
    return Signature(
        actor=actor, actor_role=role, actor_site=site, submitted_at=at, idempotency_key=key
    )


def consent(**changes: Any) -> ConsentDetails:
    """NJ01-007, a woman born 1988-04-17, signed consent v2.1 on 2025-06-02."""
    values: dict[str, Any] = {
        "subject_id": SUBJECT,
        "site": SITE,
        "consent_version": "v2.1",
        "signed_on": CONSENTED_ON,
        "date_of_birth": date(1988, 4, 17),
        "sex": Sex.FEMALE,
        "initials": "LMW",
    }
    return ConsentDetails(**{**values, **changes})


ELIGIBLE_LABS = replace(
    REFERENCE_LABS, wbc=4.2, anc=2.1, hemoglobin=112, platelets=180, alt=22, ast=25,
    bilirubin=0.6, creatinine_mg_dl=0.8, weight_kg=58, inr=1.0, pt=12.0, lvef=62,
    hcg_negative_on=date(2025, 6, 8),
)  # fmt: skip


def screening(**changes: Any) -> ScreeningDetails:
    """An eligible screening on 2025-06-10: SLEDAI-2K 10, BILAG renal A and musculoskeletal B."""
    values: dict[str, Any] = {
        "screened_on": SCREENED_ON,
        "labs": ELIGIBLE_LABS,
        "sledai": frozenset({D.PROTEINURIA, D.ARTHRITIS, D.RASH}),
        "bilag": bilag(RENAL="A", MUSCULOSKELETAL="B"),
    }
    return synthetic.screening(**{**values, **changes})


def failed_screening(**changes: Any) -> ScreeningDetails:
    """The same screening with registry exclusion 3 applying: a screen failure."""
    return screening(exclusions=frozenset({3}), **changes)


def infusion(**changes: Any) -> InfusionDetails:
    values: dict[str, Any] = {
        "infused_at": INFUSED_AT,
        "dose_cells_per_kg": 1.0e6,
        "lot": "CHT101-L0042",
    }
    return InfusionDetails(**{**values, **changes})


def visit(name: Visit, **changes: Any) -> VisitScore:
    """A quiet visit on its target day: no SLEDAI descriptor, BILAG all D, PGA 0.2, 5 mg/day."""
    values: dict[str, Any] = {
        "visit": name,
        "visit_date": VISIT_DATES[name],
        "sledai": frozenset(),
        "bilag": bilag(),
        "pga_tenths": 2,
        "prednisone_mg_per_day": 5.0,
        "lupus_nephritis": True,
        "upcr_g_per_g": 0.3,
        "egfr": 95.0,
        "sdi_items": frozenset(),
    }
    return synthetic.visit_score(**{**values, **changes})


def baseline(**changes: Any) -> VisitScore:
    """An active BASELINE on 2025-06-19: SELENA-SLEDAI 10 (proteinuria new, arthritis in 4
    joints, rash), BILAG renal A and musculoskeletal B, PGA 1.5, prednisone 20 mg/day."""
    values: dict[str, Any] = {
        "sledai": frozenset({D.PROTEINURIA, D.ARTHRITIS, D.RASH}),
        "arthritis_joint_count": 4,
        "proteinuria_new_or_increased": True,
        "bilag": bilag(RENAL="A", MUSCULOSKELETAL="B"),
        "pga_tenths": 15,
        "prednisone_mg_per_day": 20.0,
        "upcr_g_per_g": 2.4,
        "egfr": 88.0,
    }
    return visit(Visit.BASELINE, **{**values, **changes})


GRADE_2_CRS = CrsSigns(
    temperature_c=38.6,
    fever_modified_by_treatment=False,
    hypotension=True,
    vasopressors=0,
    vasopressin=False,
    oxygen=Oxygen.NONE,
)


def ae_report(ae_id: str = "AE-001", **changes: Any) -> AdverseEventReport:
    """CRS on 2025-06-21 (day 1): 38.6 °C with hypotension, no vasopressor; CTCAE grade 2."""
    values: dict[str, Any] = {
        "ae_id": ae_id,
        "term": "Cytokine release syndrome",
        "category": AeCategory.CRS,
        "onset_on": date(2025, 6, 21),
        "aware_at": datetime(2025, 6, 21, 3, 0, tzinfo=UTC),
        "ctcae_grade": 2,
        "serious": frozenset(),
        "relatedness": Relatedness.DEFINITE,
        "crs": GRADE_2_CRS,
    }
    return AdverseEventReport(**{**values, **changes})


def ae_update(ae_id: str = "AE-001", **changes: Any) -> AdverseEventUpdate:
    """Resolved on 2025-06-25 unless other changes are given."""
    values: dict[str, Any] = {"reason": "follow-up of 2025-06-25", **changes}
    if not {"ctcae_grade", "resolved_on", "serious", "reported_to_sponsor_at"} & changes.keys():
        values["resolved_on"] = date(2025, 6, 25)
    return AdverseEventUpdate(ae_id=ae_id, **values)


def withdrawal(
    on: date, reason: WithdrawalReason = WithdrawalReason.CONSENT_WITHDRAWN
) -> Withdrawal:
    return Withdrawal(withdrawn_on=on, reason=reason, note="moved away")


# ----- the participant at each stage, as loaded from the store: no pending events -----


def saved(participant: Participant) -> Participant:
    participant.collect_events()
    return participant


def consented(**consent_changes: Any) -> Participant:
    return saved(Participant.enrol(consent(**consent_changes), TODAY, signature()))


def eligible(**consent_changes: Any) -> Participant:
    participant = consented(**consent_changes)
    participant.screen(screening(), TODAY, signature())
    return saved(participant)


def screen_failed() -> Participant:
    participant = consented()
    participant.screen(failed_screening(), TODAY, signature())
    return saved(participant)


def infused(infused_at: datetime = INFUSED_AT, **consent_changes: Any) -> Participant:
    participant = eligible(**consent_changes)
    participant.record_infusion(infusion(infused_at=infused_at), NOW, TIME_ZONE, signature())
    return saved(participant)


def scored(*scores: VisitScore, participant: Participant | None = None) -> Participant:
    """The infused participant (or the one given) with these visits scored, in this order."""
    participant = infused() if participant is None else participant
    for score in scores:
        participant.score_visit(score, TODAY, signature())
    return saved(participant)


def with_adverse_event(report: AdverseEventReport | None = None) -> Participant:
    participant = infused()
    participant.report_adverse_event(report or ae_report(), NOW, TODAY, signature())
    return saved(participant)
