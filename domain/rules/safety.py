"""CTCAE grade, ICH E2A seriousness, the SAE reporting clock and its data query (rules §11)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from domain.errors import require
from domain.rules.assessment import DataQuery
from domain.rules.schedule import as_utc
from domain.vocabulary import SeriousCriterion

CTCAE_MIN = 1
CTCAE_MAX = 5
SERIOUS_GRADE_FROM = 4
SAE_REPORTING_WINDOW = timedelta(hours=24)


def ctcae_grade(value: int) -> int:
    """A CTCAE v5.0 grade, 1–5 (clinical-rules.md §11)."""
    require(
        CTCAE_MIN <= value <= CTCAE_MAX,
        "CTCAE_GRADE_RANGE",
        f"CTCAE grade {value} is outside 1–5",
    )
    return value


# ae_data_queries's parameter keeps the contract's name (ctcaeGrade) and shadows the function.
_checked_grade = ctcae_grade


def is_serious(criteria: Iterable[SeriousCriterion]) -> bool:
    """Serious exactly when any ICH E2A serious criterion is recorded (clinical-rules.md §11)."""
    return any(True for _ in criteria)


def sae_reporting_due(aware_at: datetime, serious: bool) -> datetime | None:
    """SAE report due 24 h after site awareness, in UTC; None when not serious (ICH E6, §11)."""
    # Checked for every AE, serious or not: awareAt is a required timestamp of each one.
    aware = as_utc(aware_at, "awareAt")
    # Computed in UTC so that the clock is 24 elapsed hours even across a DST change.
    return aware + SAE_REPORTING_WINDOW if serious else None


def reporting_overdue(
    due_at: datetime | None, reported_at: datetime | None, reference: datetime
) -> bool:
    """SAE not reported to the sponsor by its due time (contract AdverseEvent.reportingOverdue)."""
    if due_at is None:
        return False
    due = as_utc(due_at, "reportingDueAt")
    # "By" the due time: a report exactly at it is on time, and a reference instant exactly at
    # it is not yet past it. Once reported, the report time alone decides.
    if reported_at is not None:
        return as_utc(reported_at, "reportedToSponsorAt") > due
    return as_utc(reference, "reference instant") > due


def ae_data_queries(ctcae_grade: int, serious: bool) -> list[DataQuery]:
    """GRADE_4_NOT_SERIOUS for a grade 4–5 AE recorded without a serious criterion (§11)."""
    grade = _checked_grade(ctcae_grade)
    if grade < SERIOUS_GRADE_FROM or serious:
        return []
    return [
        DataQuery(
            code="GRADE_4_NOT_SERIOUS",
            message=f"CTCAE grade {grade} recorded with serious false (no serious criterion)",
        )
    ]
