"""GraphQL types of the safety ledger (contract ``SafetyLedger``)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.types import AdverseEvent, utc
from projections.safety_ledger import SafetyLedgerView


@strawberry.type
class SafetyEntry:
    participant_id: strawberry.ID
    subject_id: str
    site: str
    event: AdverseEvent


@strawberry.type
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


@strawberry.type
class SafetyLedger:
    as_of: datetime | None
    entries: list[SafetyEntry]
    totals: SafetyTotals

    @classmethod
    def of(cls, view: SafetyLedgerView) -> SafetyLedger:
        t = view.totals
        return cls(
            as_of=utc(view.as_of),
            entries=[
                SafetyEntry(
                    participant_id=strawberry.ID(str(entry.participant_id)),
                    subject_id=entry.subject_id,
                    site=entry.site,
                    event=AdverseEvent.of(entry.event, overdue=entry.reporting_overdue),
                )
                for entry in view.entries
            ],
            totals=SafetyTotals(
                participants_infused=t.participants_infused,
                participants_with_ae=t.participants_with_ae,
                participants_with_sae=t.participants_with_sae,
                crs_any_grade=t.crs_any_grade,
                crs_grade3_plus=t.crs_grade3_plus,
                icans_any_grade=t.icans_any_grade,
                icans_grade3_plus=t.icans_grade3_plus,
                acute_gvhd_any_grade=t.acute_gvhd_any_grade,
                deaths=t.deaths,
                overdue_sae_reports=t.overdue_sae_reports,
            ),
        )
