"""GraphQL types of the safety ledger (contract ``SafetyLedger``): its entries' adverse events
with their report's clock as read; the totals are the read model's (``api.types``)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.types import AdverseEvent, SafetyTotals
from projections.safety_ledger import SafetyLedgerView


@strawberry.type
class SafetyEntry:
    participant_id: strawberry.ID
    subject_id: str
    site: str
    event: AdverseEvent


@strawberry.type
class SafetyLedger:
    as_of: datetime | None
    entries: list[SafetyEntry]
    totals: SafetyTotals

    @classmethod
    def of(cls, view: SafetyLedgerView) -> SafetyLedger:
        return cls(
            as_of=view.as_of,
            entries=[
                SafetyEntry(
                    participant_id=strawberry.ID(str(entry.participant_id)),
                    subject_id=entry.subject_id,
                    site=entry.site,
                    event=AdverseEvent.of(entry.event, overdue=entry.reporting_overdue),
                )
                for entry in view.entries
            ],
            totals=view.totals,
        )
