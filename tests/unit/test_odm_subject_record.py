"""ODM transactions re-derive only the forms an event can change (``SubjectRecord._affected``):
after every event of varied histories, what the record has written equals every form derived
afresh from the participant as it then stands."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest

from domain.participant import Participant
from domain.rules.toxicity import IcansSigns
from domain.vocabulary import (
    AeCategory,
    Consciousness,
    Edema,
    SeizureStatus,
    SeriousCriterion,
    SledaiDescriptor,
    Visit,
    WithdrawalReason,
)
from projections.cdisc import odm_values as values
from projections.cdisc.odm_clinical import OVERDUE, SubjectRecord
from tests.unit import builders as b

READ_AT = datetime(2026, 7, 1, tzinfo=UTC)
Step = Callable[[Participant], None]
M1_PROTEINURIA = {"sledai": frozenset({SledaiDescriptor.PROTEINURIA}), "upcr_g_per_g": 0.3}
ICANS = IcansSigns(3, Consciousness.VOICE, SeizureStatus.NONE, False, Edema.NONE)


def _sign() -> Any:
    return b.signature()


def screen(failed: bool = False) -> Step:
    details = b.failed_screening() if failed else b.screening()
    return lambda p: p.screen(details, b.TODAY, _sign())


def infuse(p: Participant) -> None:
    p.record_infusion(b.infusion(), b.NOW, b.TIME_ZONE, _sign())


def score(visit: Visit, **changes: Any) -> Step:
    made = b.baseline(**changes) if visit is Visit.BASELINE else b.visit(visit, **changes)
    return lambda p: p.score_visit(made, b.TODAY, _sign())


def correct(visit: Visit, **changes: Any) -> Step:
    made = b.baseline(**changes) if visit is Visit.BASELINE else b.visit(visit, **changes)
    return lambda p: p.correct_visit(made, "source document check", b.TODAY, _sign())


def report(ae_id: str, **changes: Any) -> Step:
    made = b.ae_report(ae_id, **changes)
    return lambda p: p.report_adverse_event(made, b.NOW, b.TODAY, _sign())


def update(ae_id: str, **changes: Any) -> Step:
    made = b.ae_update(ae_id, **changes)
    return lambda p: p.update_adverse_event(made, b.NOW, b.TODAY, _sign())


def withdraw(on: date) -> Step:
    return lambda p: p.withdraw(b.withdrawal(on, WithdrawalReason.DEATH), b.TODAY, _sign())


HISTORIES: dict[str, list[Step]] = {
    "in order, corrected, withdrawn": [
        screen(), infuse, score(Visit.BASELINE), score(Visit.M1), score(Visit.M2, pga_tenths=6),
        score(Visit.M3), correct(Visit.M2, pga_tenths=3), report("AE-001"),
        update("AE-001", ctcae_grade=3, serious=frozenset({SeriousCriterion.HOSPITALISATION})),
        score(Visit.M6, sdi_items=frozenset()), withdraw(date(2026, 1, 10)),
        update("AE-001", reported_to_sponsor_at=datetime(2025, 6, 21, 9, tzinfo=UTC)),
    ],
    "re-screened, AE before infusion, visits out of order, BASELINE late and corrected": [
        screen(failed=True), screen(), report("AE-000", onset_on=date(2025, 6, 12),
                                             aware_at=datetime(2025, 6, 12, tzinfo=UTC)),
        infuse, score(Visit.M2), score(Visit.M1, **M1_PROTEINURIA),
        score(Visit.BASELINE), correct(Visit.BASELINE, sledai=frozenset(), lupus_nephritis=False),
        correct(Visit.M1, upcr_g_per_g=None, egfr=None, creatinine_mg_dl=0.9, sdi_items=None),
        report("AE-001"), update("AE-001", ctcae_grade=5),
        report("AE-002", category=AeCategory.ICANS, crs=None, icans=ICANS, ctcae_grade=4),
        update("AE-002", serious=frozenset({SeriousCriterion.LIFE_THREATENING})),
        score(Visit.M3, rescue_therapy=True), withdraw(date(2025, 10, 1)),
    ],
}  # fmt: skip


def written(record: SubjectRecord) -> dict[Any, dict[str, str]]:
    return {
        (location, key): kept
        for location, form in record.forms.items()
        for key, items in form.items()
        if (kept := {item: value for item, (value, _) in items.items() if value is not None})
    }


def derived_afresh(p: Participant) -> dict[Any, dict[str, str]]:
    parts = [values.consent(p, pii=True), values.subject(p)]
    parts += [values.screening(p, n) for n in range(len(p.screenings))]
    parts += [values.infusion(p)] if p.infusion else []
    parts += list(values.visits(p))
    parts += [values.adverse_event(p, ae_id, READ_AT) for ae_id in p.adverse_events]
    parts += [values.withdrawal(p)] if p.withdrawal else []
    return {
        (location, key): kept
        for location, groups in parts
        for key, items in groups.items()
        if (kept := {i: v for i, v in items.items() if v is not None and i != OVERDUE})
    }


@pytest.mark.parametrize("history", list(HISTORIES), ids=list(HISTORIES))
def test_transactions_leave_every_form_as_a_fresh_derivation_after_each_event(
    history: str,
) -> None:
    participant = Participant.enrol(b.consent(), b.TODAY, _sign())
    for step in HISTORIES[history]:
        step(participant)
    events = participant.collect_events()
    record = SubjectRecord(pii=True, reference=READ_AT)
    replayed: Participant | None = None

    for n, event in enumerate(events, start=1):
        record.apply(event, f"<AuditRecord n='{n}'/>")
        replayed = event.mutate(replayed)

        assert replayed is not None
        assert written(record) == derived_afresh(replayed), (n, type(event).__name__)
    assert len(events) == len(HISTORIES[history]) + 1
