"""Read model: every adverse event with its latest state, grades and SAE clock, and totals."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.application import TrialApplication
from domain.codec import decode, encode
from domain.participant import Participant
from domain.views import AdverseEventView, adverse_event_view
from domain.vocabulary import SeriousCriterion, WithdrawalReason
from projections.base import ParticipantProjection
from projections.replay import participants_until
from projections.store import Docs

PARTICIPANT_KEY = "participant"
AE_PREFIX = "ae:"
DEATH_GRADE = 5
SEVERE = 3


@dataclass(frozen=True)
class LedgerEntry:
    """An AE as the ledger shows it: its stored view, and its report's clock as read."""

    participant_id: UUID
    subject_id: str
    site: str
    event: AdverseEventView
    reporting_overdue: bool


@dataclass(frozen=True)
class SafetyTotals:
    participants_infused: int
    participants_with_ae: int
    participants_with_sae: int
    crs_any_grade: int
    crs_grade3_plus: int
    icans_any_grade: int
    icans_grade3_plus: int
    acute_gvhd_any_grade: int
    deaths: int
    overdue_sae_reports: int


@dataclass(frozen=True)
class SafetyLedgerView:
    as_of: datetime | None
    entries: tuple[LedgerEntry, ...]
    totals: SafetyTotals


class SafetyLedgerProjection(ParticipantProjection):
    name = "safety_ledger"

    @staticmethod
    def rows(participant: Participant) -> Docs:
        return ledger_rows(participant)


def ledger_rows(
    participant: Participant, encoded: Mapping[str, dict[str, Any]] | None = None
) -> Docs:
    """The participant's safety facts and one document per adverse event; ``encoded`` holds
    the AEs' views encoded already, by AE id (the projector's), else they are derived here."""
    withdrawal = participant.withdrawal
    rows: dict[str, dict[str, Any]] = {
        PARTICIPANT_KEY: {
            "participant_id": str(participant.id),
            "infused": participant.infusion is not None,
            "withdrawn_for_death": withdrawal is not None
            and withdrawal.reason is WithdrawalReason.DEATH,
        }
    }
    for ae_id in participant.adverse_events:
        rows[AE_PREFIX + ae_id] = {
            "participant_id": str(participant.id),
            "subject_id": participant.subject_id,
            "site": participant.site,
            "event": encode(adverse_event_view(participant, ae_id))
            if encoded is None
            else encoded[ae_id],
        }
    return rows


def rows_until(
    app: TrialApplication, stop: int, visible: Callable[[str], bool]
) -> list[tuple[str, dict[str, Any]]]:
    """The (key, document) rows of every participant of the sites ``visible`` as they stood
    after position ``stop``, replayed from the events."""
    return [
        item
        for participant in participants_until(app, stop).values()
        if visible(participant.site)
        for item in ledger_rows(participant).items()
    ]


def _entry(row: dict[str, Any], reference: datetime) -> LedgerEntry:
    event = decode(AdverseEventView, row["event"])
    return LedgerEntry(
        participant_id=UUID(row["participant_id"]),
        subject_id=row["subject_id"],
        site=row["site"],
        event=event,
        reporting_overdue=event.overdue_at(reference),
    )


def safety_ledger(
    rows: Iterable[tuple[str, dict[str, Any]]],
    reference: datetime,
    *,
    serious_only: bool = False,
    as_of: datetime | None = None,
) -> SafetyLedgerView:
    """The ledger from (key, document) rows, its SAE clocks read at ``reference``.

    ``serious_only`` filters the entries; the totals always count every AE.
    """
    facts: list[dict[str, Any]] = []
    entries: list[LedgerEntry] = []
    for key, doc in rows:
        if key == PARTICIPANT_KEY:
            facts.append(doc)
        else:
            entries.append(_entry(doc, reference))
    entries.sort(key=lambda e: (e.subject_id, e.event.onset_on, e.event.ae_id))
    shown = tuple(e for e in entries if e.event.serious or not serious_only)
    return SafetyLedgerView(as_of, shown, _totals(facts, entries))


def _participants(entries: list[LedgerEntry], condition: Any) -> int:
    return len({e.participant_id for e in entries if condition(e.event)})


def _totals(facts: list[dict[str, Any]], entries: list[LedgerEntry]) -> SafetyTotals:
    def died(event: AdverseEventView) -> bool:
        return event.ctcae_grade == DEATH_GRADE or SeriousCriterion.DEATH in event.serious_criteria

    dead = {e.participant_id for e in entries if died(e.event)} | {
        UUID(fact["participant_id"]) for fact in facts if fact["withdrawn_for_death"]
    }
    return SafetyTotals(
        participants_infused=sum(fact["infused"] for fact in facts),
        participants_with_ae=_participants(entries, lambda ev: True),
        participants_with_sae=_participants(entries, lambda ev: ev.serious),
        crs_any_grade=_participants(entries, lambda ev: (ev.crs_grade or 0) >= 1),
        crs_grade3_plus=_participants(entries, lambda ev: (ev.crs_grade or 0) >= SEVERE),
        icans_any_grade=_participants(entries, lambda ev: (ev.icans_grade or 0) >= 1),
        icans_grade3_plus=_participants(entries, lambda ev: (ev.icans_grade or 0) >= SEVERE),
        acute_gvhd_any_grade=_participants(entries, lambda ev: (ev.acute_gvhd_grade or 0) >= 1),
        deaths=len(dead),
        overdue_sae_reports=sum(e.reporting_overdue for e in entries),
    )
