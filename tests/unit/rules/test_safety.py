"""CTCAE grade, seriousness, the SAE reporting clock and GRADE_4_NOT_SERIOUS (rules §11)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from domain.errors import BadInput
from domain.rules.safety import (
    ae_data_queries,
    ctcae_grade,
    is_serious,
    reporting_overdue,
    sae_reporting_due,
)
from domain.vocabulary import SeriousCriterion

AWARE = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # NJ01-007's site learns of the SAE
DUE = datetime(2026, 3, 11, 9, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)


@pytest.mark.parametrize("grade", [1, 2, 3, 4, 5])
def test_ctcae_grade_accepted_when_within_1_to_5(grade: int) -> None:
    assert ctcae_grade(grade) == grade


@pytest.mark.parametrize("grade", [-1, 0, 6, 11])
def test_ctcae_grade_rejected_when_outside_1_to_5(grade: int) -> None:
    with pytest.raises(BadInput) as error:
        ctcae_grade(grade)

    assert error.value.rule == "CTCAE_GRADE_RANGE"
    assert str(grade) in error.value.message


@pytest.mark.parametrize("criterion", list(SeriousCriterion))
def test_is_serious_true_when_any_one_criterion_recorded(criterion: SeriousCriterion) -> None:
    assert is_serious([criterion]) is True


def test_is_serious_true_when_several_criteria_recorded() -> None:
    assert is_serious({SeriousCriterion.DEATH, SeriousCriterion.HOSPITALISATION}) is True


def test_is_serious_false_when_no_criterion_recorded() -> None:
    assert is_serious([]) is False
    assert is_serious(iter(())) is False


@pytest.mark.parametrize(
    ("aware_at", "expected"),
    [
        (AWARE, DUE),
        (datetime(2026, 3, 10, 17, 0, tzinfo=timezone(timedelta(hours=8))), DUE),
        (datetime(2026, 12, 31, 23, 30, tzinfo=UTC), datetime(2027, 1, 1, 23, 30, tzinfo=UTC)),
        # 24 elapsed hours across the US spring-forward change (not 24 wall-clock hours = 23 h).
        (
            datetime(2026, 3, 7, 12, 0, tzinfo=ZoneInfo("America/New_York")),
            datetime(2026, 3, 8, 17, 0, tzinfo=UTC),
        ),
    ],
    ids=["utc", "shanghai-offset", "year-end", "dst-change"],
)
def test_sae_reporting_due_is_24_hours_after_awareness_when_serious(
    aware_at: datetime, expected: datetime
) -> None:
    due = sae_reporting_due(aware_at, serious=True)

    assert due == expected
    assert due is not None
    assert due.utcoffset() == timedelta(0)
    assert due - aware_at == timedelta(hours=24)


def test_sae_reporting_due_is_none_when_not_serious() -> None:
    assert sae_reporting_due(AWARE, serious=False) is None


@pytest.mark.parametrize("serious", [True, False])
def test_sae_reporting_due_rejected_when_aware_at_is_naive(serious: bool) -> None:
    with pytest.raises(BadInput) as error:
        sae_reporting_due(datetime(2026, 3, 10, 9, 0), serious)

    assert error.value.rule == "TIMESTAMP_TIMEZONE"


LATER = DUE + timedelta(days=30)

OVERDUE_CASES = [
    # (due_at, reported_at, reference, overdue)
    (None, None, LATER, False),
    (None, LATER, LATER, False),
    (DUE, DUE - TICK, LATER, False),
    (DUE, DUE, LATER, False),
    (DUE, DUE + TICK, LATER, True),
    (DUE, DUE + TICK, DUE - timedelta(hours=1), True),
    (DUE, DUE.astimezone(timezone(timedelta(hours=8))), LATER, False),
    (DUE, None, DUE - TICK, False),
    (DUE, None, DUE, False),
    (DUE, None, DUE + TICK, True),
    (DUE, None, LATER, True),
]


@pytest.mark.parametrize(
    ("due_at", "reported_at", "reference", "overdue"),
    OVERDUE_CASES,
    ids=[
        "not-serious-unreported",
        "not-serious-reported",
        "reported-just-before-due",
        "reported-exactly-at-due",
        "reported-just-after-due",
        "reported-late-reference-before-due",
        "reported-at-due-other-offset",
        "unreported-reference-just-before-due",
        "unreported-reference-exactly-at-due",
        "unreported-reference-just-after-due",
        "unreported-reference-long-after-due",
    ],
)
def test_reporting_overdue_only_when_past_due_at_reporting_boundaries(
    due_at: datetime | None,
    reported_at: datetime | None,
    reference: datetime,
    overdue: bool,
) -> None:
    assert reporting_overdue(due_at, reported_at, reference) is overdue


@pytest.mark.parametrize(
    ("reported_at", "reference"),
    [(datetime(2026, 3, 11, 10, 0), LATER), (None, datetime(2026, 4, 1))],
    ids=["naive-report", "naive-reference"],
)
def test_reporting_overdue_rejected_when_timestamp_is_naive(
    reported_at: datetime | None, reference: datetime
) -> None:
    with pytest.raises(BadInput) as error:
        reporting_overdue(DUE, reported_at, reference)

    assert error.value.rule == "TIMESTAMP_TIMEZONE"


@pytest.mark.parametrize(
    ("grade", "serious", "codes"),
    [
        (1, False, []),
        (2, False, []),
        (3, False, []),
        (3, True, []),
        (4, False, ["GRADE_4_NOT_SERIOUS"]),
        (5, False, ["GRADE_4_NOT_SERIOUS"]),
        (4, True, []),
        (5, True, []),
    ],
)
def test_ae_data_queries_flag_grade_4_not_serious_when_grade_4_or_5_lacks_criterion(
    grade: int, serious: bool, codes: list[str]
) -> None:
    queries = ae_data_queries(grade, serious)

    assert [query.code for query in queries] == codes
    for query in queries:
        assert f"grade {grade}" in query.message
        assert "serious" in query.message


def test_ae_data_queries_rejected_when_grade_out_of_range() -> None:
    with pytest.raises(BadInput) as error:
        ae_data_queries(6, serious=False)

    assert error.value.rule == "CTCAE_GRADE_RANGE"
