"""Visit schedule and study days (clinical-rules.md §12, General conventions)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from domain.errors import BadInput
from domain.rules.schedule import (
    DEFAULT_TIME_ZONE,
    as_utc,
    check_visit_date,
    in_window,
    infusion_date,
    study_day,
    target_date,
    target_day,
    window_days,
)
from domain.vocabulary import Visit

INFUSION_DAY = date(2026, 3, 2)  # NJ01-007 infused 2026-03-01T17:30Z, Nanjing date 2026-03-02


def on_day(day: int) -> date:
    return INFUSION_DAY + timedelta(days=day)


def test_default_time_zone_is_nanjing() -> None:
    assert DEFAULT_TIME_ZONE == "Asia/Shanghai"


@pytest.mark.parametrize(
    ("infused_at", "time_zone", "expected"),
    [
        (datetime(2026, 3, 1, 17, 30, tzinfo=UTC), "Asia/Shanghai", date(2026, 3, 2)),
        (datetime(2026, 3, 1, 15, 59, 59, tzinfo=UTC), "Asia/Shanghai", date(2026, 3, 1)),
        (datetime(2026, 3, 1, 16, 0, tzinfo=UTC), "Asia/Shanghai", date(2026, 3, 2)),
        (
            datetime(2026, 3, 2, 0, 30, tzinfo=timezone(timedelta(hours=8))),
            "Asia/Shanghai",
            date(2026, 3, 2),
        ),
        (datetime(2026, 3, 1, 17, 30, tzinfo=UTC), "UTC", date(2026, 3, 1)),
        (datetime(2026, 3, 1, 17, 30, tzinfo=UTC), "America/New_York", date(2026, 3, 1)),
    ],
    ids=[
        "17:30Z-next-day-in-shanghai",
        "15:59:59Z-same-day",
        "16:00Z-midnight-in-shanghai",
        "offset-input",
        "utc-zone",
        "new-york-zone",
    ],
)
def test_infusion_date_is_calendar_date_in_trial_zone_when_infused(
    infused_at: datetime, time_zone: str, expected: date
) -> None:
    assert infusion_date(infused_at, time_zone) == expected


def test_infusion_date_uses_shanghai_when_no_zone_given() -> None:
    assert infusion_date(datetime(2026, 3, 1, 17, 30, tzinfo=UTC)) == date(2026, 3, 2)


def test_infusion_date_rejected_when_datetime_is_naive() -> None:
    with pytest.raises(BadInput) as error:
        infusion_date(datetime(2026, 3, 1, 17, 30))

    assert error.value.rule == "TIMESTAMP_TIMEZONE"


def test_infusion_date_rejected_when_time_zone_unknown() -> None:
    with pytest.raises(BadInput) as error:
        infusion_date(datetime(2026, 3, 1, 17, 30, tzinfo=UTC), "Asia/Nanjing")

    assert error.value.rule == "TIME_ZONE_UNKNOWN"


def test_as_utc_converts_offset_when_timestamp_has_one() -> None:
    shanghai = timezone(timedelta(hours=8))

    moment = as_utc(datetime(2026, 3, 2, 1, 30, tzinfo=shanghai), "infusedAt")

    assert moment == datetime(2026, 3, 1, 17, 30, tzinfo=UTC)
    assert moment.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2026, 3, 2), 0),
        (date(2026, 3, 3), 1),
        (date(2026, 3, 1), -1),
        (date(2026, 2, 20), -10),
        (date(2026, 4, 1), 30),
        (date(2027, 3, 2), 365),
    ],
)
def test_study_day_counts_from_infusion_day_zero_when_dated(on: date, expected: int) -> None:
    assert study_day(INFUSION_DAY, on) == expected


def test_study_day_counts_leap_day_when_period_spans_february_29() -> None:
    assert study_day(date(2028, 2, 28), date(2028, 3, 1)) == 2


@pytest.mark.parametrize(
    ("visit", "day", "window"),
    [
        (Visit.M1, 30, 7),
        (Visit.M2, 60, 7),
        (Visit.M3, 90, 7),
        (Visit.M6, 180, 14),
        (Visit.M9, 270, 14),
        (Visit.M12, 360, 14),
    ],
)
def test_target_day_and_window_follow_protocol_when_follow_up_visit(
    visit: Visit, day: int, window: int
) -> None:
    assert target_day(visit) == day
    assert window_days(visit) == window


@pytest.mark.parametrize("visit", [Visit.SCREENING, Visit.BASELINE])
def test_target_day_rejected_when_visit_is_not_scheduled_after_infusion(visit: Visit) -> None:
    with pytest.raises(BadInput) as target_error:
        target_day(visit)
    with pytest.raises(BadInput) as window_error:
        window_days(visit)

    assert target_error.value.rule == "VISIT_WITHOUT_TARGET_DAY"
    assert window_error.value.rule == "VISIT_WITHOUT_TARGET_DAY"


@pytest.mark.parametrize(
    ("visit", "expected"),
    [
        (Visit.M1, date(2026, 4, 1)),
        (Visit.M3, date(2026, 5, 31)),
        (Visit.M12, date(2027, 2, 25)),
    ],
)
def test_target_date_is_infusion_day_plus_target_day_when_follow_up(
    visit: Visit, expected: date
) -> None:
    assert target_date(visit, INFUSION_DAY) == expected


@pytest.mark.parametrize(
    ("visit", "day", "expected"),
    [
        (Visit.M1, 22, False),
        (Visit.M1, 23, True),
        (Visit.M1, 30, True),
        (Visit.M1, 37, True),
        (Visit.M1, 38, False),
        (Visit.M2, 52, False),
        (Visit.M2, 53, True),
        (Visit.M2, 67, True),
        (Visit.M2, 68, False),
        (Visit.M3, 82, False),
        (Visit.M3, 83, True),
        (Visit.M3, 97, True),
        (Visit.M3, 98, False),
        (Visit.M6, 165, False),
        (Visit.M6, 166, True),
        (Visit.M6, 194, True),
        (Visit.M6, 195, False),
        (Visit.M9, 255, False),
        (Visit.M9, 256, True),
        (Visit.M9, 284, True),
        (Visit.M9, 285, False),
        (Visit.M12, 345, False),
        (Visit.M12, 346, True),
        (Visit.M12, 374, True),
        (Visit.M12, 375, False),
        (Visit.M1, 0, False),
    ],
)
def test_in_window_is_inclusive_when_visit_dated_at_window_edges(
    visit: Visit, day: int, expected: bool
) -> None:
    assert in_window(visit, on_day(day), INFUSION_DAY) is expected


@pytest.mark.parametrize("day", [-30, -1, 0])
def test_in_window_is_true_when_visit_is_baseline(day: int) -> None:
    assert in_window(Visit.BASELINE, on_day(day), INFUSION_DAY) is True


def test_in_window_rejected_when_visit_is_screening() -> None:
    with pytest.raises(BadInput) as error:
        in_window(Visit.SCREENING, on_day(-10), INFUSION_DAY)

    assert error.value.rule == "SCREENING_NOT_SCORED"


@pytest.mark.parametrize(
    ("visit", "day"),
    [
        (Visit.BASELINE, -14),
        (Visit.BASELINE, 0),
        (Visit.M1, 0),
        (Visit.M1, 30),
        (Visit.M12, 400),
    ],
)
def test_check_visit_date_accepts_when_dated_on_the_right_side_of_infusion(
    visit: Visit, day: int
) -> None:
    check_visit_date(visit, on_day(day), INFUSION_DAY)


@pytest.mark.parametrize(
    ("visit", "day", "rule"),
    [
        (Visit.M1, -1, "VISIT_BEFORE_INFUSION"),
        (Visit.M6, -30, "VISIT_BEFORE_INFUSION"),
        (Visit.M12, -1, "VISIT_BEFORE_INFUSION"),
        (Visit.BASELINE, 1, "BASELINE_AFTER_INFUSION"),
        (Visit.BASELINE, 30, "BASELINE_AFTER_INFUSION"),
    ],
)
def test_check_visit_date_rejected_when_dated_on_the_wrong_side_of_infusion(
    visit: Visit, day: int, rule: str
) -> None:
    with pytest.raises(BadInput) as error:
        check_visit_date(visit, on_day(day), INFUSION_DAY)

    assert error.value.rule == rule
    assert str(on_day(day)) in error.value.message


def test_check_visit_date_rejected_when_visit_is_screening() -> None:
    with pytest.raises(BadInput) as error:
        check_visit_date(Visit.SCREENING, on_day(-10), INFUSION_DAY)

    assert error.value.rule == "SCREENING_NOT_SCORED"
