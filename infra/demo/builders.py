"""Synthetic command inputs: the one builder of a synthetic cohort's facts.

The demo cohort (``infra.demo.plan``), the benchmarks' synthetic study (``bench.synthetic``) and
the unit tests' NJ01-007 (``tests.unit.builders``) each tell their own story; the inputs they
record are assembled here, so that a value every synthetic participant shares is written once
and a new field of an input is defaulted in one place. Each function takes what a story varies
and defaults the rest to what an eligible participant of the trial records.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from domain.inputs import Labs, ScreeningDetails, VisitScore
from domain.vocabulary import BilagDomain, BilagGrade, EularAcrCriterion, SledaiDescriptor, Visit

# The site laboratory's upper limits of normal, and no CSF or Gilbert's syndrome to consider:
# the labs every synthetic screening starts from (clinical-rules.md §9).
REFERENCE_LABS = Labs(
    alt_uln=40, ast_uln=40, bilirubin_uln=1.2, inr_uln=1.1, pt_uln=13.0,
    csf_within_2_weeks=False, gilbert_syndrome=False,
)  # fmt: skip
# ANA >= 1:80 as entry criterion, joints (6) and anti-dsDNA (6): EULAR/ACR 2019 score 12.
CLASSIFIED = frozenset({
    EularAcrCriterion.ANA_POSITIVE, EularAcrCriterion.JOINT_INVOLVEMENT,
    EularAcrCriterion.ANTI_DSDNA_OR_ANTI_SM,
})  # fmt: skip


def bilag(default: BilagGrade = BilagGrade.D, **grades: str) -> dict[BilagDomain, BilagGrade]:
    """All nine BILAG-2004 domains graded ``default``, except those named (``RENAL="A"``)."""
    named = {BilagDomain[domain]: BilagGrade[grade] for domain, grade in grades.items()}
    return {domain: named.get(domain, default) for domain in BilagDomain}


def screening(
    screened_on: date,
    labs: Labs,
    sledai: frozenset[SledaiDescriptor],
    bilag: dict[BilagDomain, BilagGrade],
    **values: Any,
) -> ScreeningDetails:
    """A screening of a refractory participant who agrees to contraception and is not lactating,
    classified by ``CLASSIFIED``, with no exclusion applying; ``values`` change any of these."""
    defaults: dict[str, Any] = {
        "eular_acr_criteria": CLASSIFIED,
        "refractory": True,
        "childbearing_potential": True,
        "lactating": False,
        "contraception_agreed": True,
        "exclusions": frozenset(),
    }
    return ScreeningDetails(
        screened_on=screened_on, labs=labs, sledai=sledai, bilag=bilag, **(defaults | values)
    )


def visit_score(visit: Visit, visit_date: date, **values: Any) -> VisitScore:
    """A visit's values, recording that no haemolytic anaemia, GI activity, investigational
    drug, rescue therapy or antimalarial-only treatment applies unless ``values`` say so."""
    defaults: dict[str, Any] = {
        "antimalarial_only": False,
        "haemolytic_anaemia": False,
        "gi_activity": False,
        "investigational_drug": False,
        "rescue_therapy": False,
    }
    return VisitScore(visit=visit, visit_date=visit_date, **(defaults | values))
