"""The demo cohort's cast, read from ``cohort.toml``, and the facts its plan is made of.

A subject's plan is a list of steps, each one command of the application: the fact it records
(an input of ``domain.inputs``, or a correction), the clinical day of the fact, and who records
it (the site's coordinator or its investigator).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path
from typing import Literal

from domain import inputs
from domain.codec import decode
from domain.commands import Actor
from domain.vocabulary import FOLLOW_UP_VISITS, AeCategory, Role, Sex, Visit
from domain.vocabulary import SledaiDescriptor as D

COHORT = tomllib.loads((Path(__file__).parent / "cohort.toml").read_text())
SITE: str = COHORT["site"]
STAFF = Actor(f"{SITE.lower()}-coordinator", Role.SITE_STAFF, SITE)
INVESTIGATOR = Actor(f"{SITE.lower()}-investigator", Role.INVESTIGATOR, SITE)
FIRST_CONSENT: date = COHORT["first_consent"]
CONSENT_SPACING_DAYS: int = COHORT["consent_spacing_days"]
TEXTS: dict[str, str] = COHORT["texts"]

Course = Literal["responder", "non_responder", "rescue"]
VISITS = (Visit.BASELINE, *FOLLOW_UP_VISITS)  # a visit's index k: 0 = BASELINE … 6 = M12
NEVER = len(VISITS)
PGA_TREND: dict[Course, list[float]] = COHORT["pga_trend"]
UPCR_FALLING: list[float] = COHORT["upcr_trend"]["falling"]
UPCR_RISING: list[float] = COHORT["upcr_trend"]["rising"]
RESOLVES: dict[Course, dict[D, list[int]]] = {
    course: {D(name): visits for name, visits in descriptors.items()}
    for course, descriptors in COHORT["resolves"].items()
}
SKIN = frozenset({D.RASH, D.ALOPECIA, D.MUCOSAL_ULCERS})


@dataclass(frozen=True)
class Casting:
    """One subject's part in the story (an entry of ``cohort.toml``, whose defaults these are);
    the seed fills in dates and values."""

    sex: Sex = Sex.FEMALE
    nephritis: bool = False
    screening: Literal["eligible", "low_sledai", "low_crcl", "rescreened"] = "eligible"
    baseline: bool = True  # without a BASELINE visit, SRI-4 is judged against the screening
    course: Course = "responder"
    crs: int = 1  # ASTCT grade of the first-week CRS; 0 = none
    ice_score: int | None = None  # ICANS at its worst
    other_ae: AeCategory | None = None
    withdrawn: bool = False  # lost to follow-up after M6
    cataract_at_m6: bool = False
    pga_corrected: bool = False
    dose_corrected: bool = False
    late_visit: Visit | None = None
    missed_visit: Visit | None = None


def _casting(entry: dict[str, object]) -> Casting:
    """An entry of the cast; a key Casting does not know is a typo, not a default."""
    unknown = entry.keys() - {field.name for field in fields(Casting)}
    if unknown:
        raise ValueError(f"cohort.toml: unknown cast key(s) {', '.join(sorted(unknown))}")
    return decode(Casting, entry)


CAST: tuple[Casting, ...] = tuple(_casting(entry) for entry in COHORT["cast"])


@dataclass(frozen=True)
class Correction:
    score: inputs.VisitScore
    reason: str


Fact = (
    inputs.ConsentDetails | inputs.ScreeningDetails | inputs.InfusionDetails | inputs.VisitScore
    | Correction | inputs.AdverseEventReport | inputs.AdverseEventUpdate | inputs.Withdrawal
)  # fmt: skip


@dataclass(frozen=True)
class Step:
    """One command: its name (unique per subject), the day of the fact, who records it, what."""

    name: str
    on: date
    by: Actor
    fact: Fact


@dataclass(frozen=True)
class SubjectPlan:
    subject_id: str
    steps: tuple[Step, ...]  # in the order of their days
