"""One participant as SDTM sees it: its USUBJID, its reference start date (the infusion) and
the study days, epochs and local times every domain derives from them.

Study days follow SDTM: day 1 is the reference start date (RFSTDTC, the infusion date in the
trial's time zone) and there is no day 0, so a date d days after the infusion (the rulebook's
study day d) is SDTM day d + 1, and a date before it keeps its negative count.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from domain.participant import Participant
from projections.cdisc import sdtm_terms as terms

Row = dict[str, Any]


class Subject:
    """One participant's identifiers, reference dates and the helpers every domain uses."""

    def __init__(self, participant: Participant) -> None:
        self.participant = participant
        self.usubjid = f"{terms.STUDYID}-{participant.subject_id}"
        infusion = participant.infusion
        self.infused: datetime | None = None
        if infusion is not None:
            self.infused = infusion.infused_at.astimezone(ZoneInfo(infusion.time_zone))
        self.start = participant.infusion_date

    def row(self, domain: str, **values: Any) -> Row:
        return {"STUDYID": terms.STUDYID, "DOMAIN": domain, "USUBJID": self.usubjid, **values}

    def day(self, on: date | None) -> int | None:
        """SDTM study day of ``on``: no day 0."""
        if on is None or self.start is None:
            return None
        days = (on - self.start).days
        return days + 1 if days >= 0 else days

    def epoch(self, on: date) -> str:
        if self.start is None or on < self.start:
            return "SCREENING"
        return "TREATMENT" if on == self.start else "FOLLOW-UP"

    def infusion(self) -> str | None:
        """The infusion as a local ISO 8601 date-time (seconds)."""
        return local_time(self.infused, None)


def iso(on: date | None) -> str | None:
    return None if on is None else on.isoformat()


def value(member: Enum | None) -> str | None:
    return None if member is None else str(member.value)


def local_time(moment: datetime | None, zone: ZoneInfo | None) -> str | None:
    """An instant as a local ISO 8601 date-time (seconds), in ``zone`` when given."""
    if moment is None:
        return None
    moment = moment if zone is None else moment.astimezone(zone)
    return moment.replace(tzinfo=None).isoformat(timespec="seconds")


def figure(recorded: float) -> str:
    """A recorded number as text: 112.0 reads 112, 4.2 reads 4.2."""
    return str(int(recorded)) if float(recorded).is_integer() else repr(float(recorded))
