"""Study days from the infusion date, visit target days and windows (clinical-rules.md §12)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.errors import BadInput, require
from domain.vocabulary import Visit

DEFAULT_TIME_ZONE = "Asia/Shanghai"

DAYS_PER_MONTH = 30

# Months after infusion and window half-widths in days (clinical-rules.md §12, Decision).
MONTHS: dict[Visit, int] = {
    Visit.M1: 1,
    Visit.M2: 2,
    Visit.M3: 3,
    Visit.M6: 6,
    Visit.M9: 9,
    Visit.M12: 12,
}
WINDOWS: dict[Visit, int] = {
    Visit.M1: 7,
    Visit.M2: 7,
    Visit.M3: 7,
    Visit.M6: 14,
    Visit.M9: 14,
    Visit.M12: 14,
}


def as_utc(moment: datetime, name: str) -> datetime:
    """The instant in UTC, refusing a naive datetime: all timestamps are UTC (conventions)."""
    require(
        moment.tzinfo is not None and moment.utcoffset() is not None,
        "TIMESTAMP_TIMEZONE",
        f"{name} {moment.isoformat()} has no time zone offset",
    )
    return moment.astimezone(UTC)


def infusion_date(infused_at: datetime, time_zone: str = DEFAULT_TIME_ZONE) -> date:
    """Calendar date of the infusion instant in the trial's time zone (conventions, contract)."""
    instant = as_utc(infused_at, "infusedAt")
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise BadInput("TIME_ZONE_UNKNOWN", f"time zone {time_zone!r} is unknown") from error
    return instant.astimezone(zone).date()


def study_day(infusion_day: date, on: date) -> int:
    """Days from the infusion date (day 0) to ``on``; negative before infusion (conventions)."""
    return (on - infusion_day).days


def _scheduled(visit: Visit) -> None:
    # Decision: SCREENING and BASELINE have no target day and no window; asking for one is an
    # error rather than a silent 0, which would read as "due on the infusion day".
    if visit not in MONTHS:
        raise BadInput("VISIT_WITHOUT_TARGET_DAY", f"{visit.value} has no target day or window")


def target_day(visit: Visit) -> int:
    """Target study day of M1–M12: 30 × month after the infusion date (clinical-rules.md §12)."""
    _scheduled(visit)
    return DAYS_PER_MONTH * MONTHS[visit]


def window_days(visit: Visit) -> int:
    """Window half-width: ±7 days for M1–M3, ±14 days for M6–M12 (clinical-rules.md §12)."""
    _scheduled(visit)
    return WINDOWS[visit]


def target_date(visit: Visit, infusion_day: date) -> date:
    """Calendar date of a follow-up visit's target day (clinical-rules.md §12)."""
    return infusion_day + timedelta(days=target_day(visit))


def _scored(visit: Visit) -> None:
    # SCREENING is recorded with `screen`, never scored as a visit (contract, VisitScoreInput).
    if visit is Visit.SCREENING:
        raise BadInput("SCREENING_NOT_SCORED", "SCREENING is recorded by screening, not scored")


def check_visit_date(visit: Visit, visit_date: date, infusion_day: date) -> None:
    """Refuse M1–M12 dated before the infusion date, BASELINE after it (clinical-rules.md §12)."""
    _scored(visit)
    # Day 0 is allowed for both: BASELINE "on or before", follow-ups "after infusion" read as not
    # before the infusion date (such an early follow-up is out of window, flagged, not refused).
    if visit is Visit.BASELINE:
        require(
            visit_date <= infusion_day,
            "BASELINE_AFTER_INFUSION",
            f"BASELINE dated {visit_date} is after the infusion date {infusion_day}",
        )
        return
    require(
        visit_date >= infusion_day,
        "VISIT_BEFORE_INFUSION",
        f"{visit.value} dated {visit_date} is before the infusion date {infusion_day}",
    )


def in_window(visit: Visit, visit_date: date, infusion_day: date) -> bool:
    """Visit within target ± window, inclusive; BASELINE has no window (clinical-rules.md §12)."""
    _scored(visit)
    if visit is Visit.BASELINE:
        return True
    # "±7 days" includes day 23 and day 37 for M1.
    offset = study_day(infusion_day, visit_date) - target_day(visit)
    return abs(offset) <= window_days(visit)
