"""NJ01-007's records for the endpoint tests: an active baseline and a quiet month 1."""

from __future__ import annotations

from datetime import date
from typing import Any

from domain.codec import build
from domain.rules.assessment import VisitScore
from domain.rules.endpoints import VisitContext
from domain.vocabulary import SledaiDescriptor as D
from domain.vocabulary import Visit
from infra.demo.builders import bilag


def sledai(*descriptors: D) -> frozenset[D]:
    return frozenset(descriptors)


def record(visit: Visit = Visit.M1, **values: Any) -> VisitScore:
    """A scored visit's values (M1 by default): only those given are recorded."""
    unrecorded = {"pga_tenths": None, "prednisone_mg_per_day": None}
    return VisitScore(visit=visit, visit_date=date(2025, 7, 20), **{**unrecorded, **values})


# NJ01-007 at BASELINE: arthritis in 5 joints, rash, alopecia, low complement, anti-dsDNA
# (SELENA-SLEDAI 12); BILAG musculoskeletal A, mucocutaneous B; PGA 1.5; prednisone 20 mg;
# lupus nephritis with UPCR 2.0 g/g and eGFR 85.
BASELINE_RECORD = record(
    Visit.BASELINE,
    sledai=sledai(D.ARTHRITIS, D.RASH, D.ALOPECIA, D.LOW_COMPLEMENT, D.INCREASED_DNA_BINDING),
    bilag=bilag(MUSCULOSKELETAL="A", MUCOCUTANEOUS="B"),
    arthritis_joint_count=5,
    pga_tenths=15,
    prednisone_mg_per_day=20.0,
    antimalarial_only=False,
    haemolytic_anaemia=False,
    gi_activity=False,
    investigational_drug=False,
    rescue_therapy=False,
    lupus_nephritis=True,
    upcr_g_per_g=2.0,
    egfr=85.0,
)

# The same findings at screening, which records no PGA, prednisone, UPCR, eGFR or nephritis
# (built as recorded: a visit is never scored at SCREENING, a screening is this time point).
SCREENING_RECORD = build(
    VisitScore,
    visit=Visit.SCREENING,
    visit_date=date(2025, 6, 10),
    sledai=BASELINE_RECORD.sledai,
    bilag=BASELINE_RECORD.bilag,
    pga_tenths=None,
    prednisone_mg_per_day=None,
    arthritis_joint_count=5,
)

# NJ01-007 at M1: serology only (SLEDAI-2K 4, clinical SLEDAI 0), BILAG musculoskeletal C,
# PGA 0.3, off prednisone on an antimalarial only, UPCR 0.3 g/g, eGFR 90.
M1_RECORD = record(
    sledai=sledai(D.LOW_COMPLEMENT, D.INCREASED_DNA_BINDING),
    bilag=bilag(MUSCULOSKELETAL="C"),
    pga_tenths=3,
    prednisone_mg_per_day=0.0,
    antimalarial_only=True,
    haemolytic_anaemia=False,
    gi_activity=False,
    investigational_drug=False,
    rescue_therapy=False,
    lupus_nephritis=True,
    upcr_g_per_g=0.3,
    egfr=90.0,
)


def at_visit(
    current: VisitScore | None = M1_RECORD,
    *,
    baseline: VisitScore | None = BASELINE_RECORD,
    **context: Any,
) -> VisitContext:
    """M1 by default, the previous scored visit being the baseline, no withdrawal, no rescue."""
    values: dict[str, Any] = {
        "visit": Visit.M1,
        "previous": baseline,
        "withdrawn_by_target_day": False,
        "rescue_earlier": False,
        **context,
    }
    return VisitContext(current=current, baseline=baseline, **values)
