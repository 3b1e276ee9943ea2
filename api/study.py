"""GraphQL types of the study summary (contract ``StudySummary``)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.enums import Visit
from api.types import utc
from projections.study_summary import StudySummaryView


@strawberry.type
class CriterionCount:
    code: str
    count: int


@strawberry.type
class EndpointRate:
    endpoint: str
    visit: Visit
    responders: int
    evaluable: int
    rate: float | None


@strawberry.type
class StudySummary:
    as_of: datetime | None
    consented: int
    screen_failed: int
    eligible: int
    infused: int
    withdrawn: int
    screen_failures_by_criterion: list[CriterionCount]
    endpoints: list[EndpointRate]

    @classmethod
    def of(cls, view: StudySummaryView) -> StudySummary:
        return cls(
            as_of=utc(view.as_of),
            consented=view.consented,
            screen_failed=view.screen_failed,
            eligible=view.eligible,
            infused=view.infused,
            withdrawn=view.withdrawn,
            screen_failures_by_criterion=[
                CriterionCount(code=code, count=count)
                for code, count in view.screen_failures_by_criterion
            ],
            endpoints=[
                EndpointRate(
                    endpoint=rate.endpoint,
                    visit=rate.visit,
                    responders=rate.responders,
                    evaluable=rate.evaluable,
                    rate=rate.rate,
                )
                for rate in view.endpoints
            ],
        )
