"""SRI-4, DORIS remission, remission off therapy and LLDAS at a visit; all eight endpoints.

Each endpoint declares the values it needs and its criteria; ``decide`` (domain.rules.outcome)
applies the outcome order of clinical-rules.md §4 to all of them.
"""

from __future__ import annotations

from collections.abc import Callable

from domain.rules.assessment import VisitScore
from domain.rules.bilag import new_a_domains, new_b_domains
from domain.rules.outcome import (
    Criterion,
    Endpoint,
    Need,
    Verdict,
    VisitContext,
    decide,
    known,
)
from domain.rules.renal import crr, orr, perr, prr
from domain.rules.sledai import clinical_sledai, selena_sledai, sledai_2k
from domain.vocabulary import SledaiDescriptor as D

__all__ = [
    "ENDPOINTS",
    "Verdict",
    "VisitContext",
    "doris",
    "evaluate_all",
    "lldas",
    "remission_off_therapy",
    "sri4",
]

# SRI-4 (§4). PGA is in tenths: "increase < 0.3" is an increase of at most 2 tenths.
SRI4_SELENA_DROP_AT_LEAST = 4
SRI4_NEW_B_FEWER_THAN = 2
SRI4_PGA_RISE_AT_MOST_TENTHS = 2
# DORIS 2021 and remission off therapy (§5): "PGA < 0.5" is at most 4 tenths.
DORIS_PGA_AT_MOST_TENTHS = 4
DORIS_PREDNISONE_AT_MOST_MG = 5.0
# LLDAS (§6).
LLDAS_SLEDAI_AT_MOST = 4
LLDAS_PGA_AT_MOST_TENTHS = 10
LLDAS_PREDNISONE_AT_MOST_MG = 7.5
LLDAS_MAJOR_ORGANS = frozenset(
    {
        # renal
        D.URINARY_CASTS,
        D.HEMATURIA,
        D.PROTEINURIA,
        D.PYURIA,
        # CNS: the seven 8-point neuro descriptors
        D.SEIZURE,
        D.PSYCHOSIS,
        D.ORGANIC_BRAIN_SYNDROME,
        D.VISUAL_DISTURBANCE,
        D.CRANIAL_NERVE_DISORDER,
        D.LUPUS_HEADACHE,
        D.CVA,
        # cardiopulmonary
        D.PLEURISY,
        D.PERICARDITIS,
        D.VASCULITIS,
        D.FEVER,
    }
)

SLEDAI = Need("SLEDAI descriptors", lambda a: a.sledai)
BILAG = Need("BILAG grades", lambda a: a.bilag)
PGA = Need("PGA", lambda a: a.pga_tenths)
PREDNISONE = Need("prednisone-equivalent dose", lambda a: a.prednisone_mg_per_day)
ANTIMALARIAL_ONLY = Need("antimalarial-only status", lambda a: a.antimalarial_only)
HAEMOLYTIC_ANAEMIA = Need("haemolytic anaemia", lambda a: a.haemolytic_anaemia)
GI_ACTIVITY = Need("GI activity", lambda a: a.gi_activity)
INVESTIGATIONAL_DRUG = Need("investigational drug", lambda a: a.investigational_drug)


def _pga(tenths: int) -> str:
    return f"{tenths / 10:.1f}"


def _selena(assessment: VisitScore) -> int:
    return selena_sledai(
        assessment.sledai,
        assessment.arthritis_joint_count,
        assessment.proteinuria_new_or_increased,
    )


def _names(descriptors: frozenset[D]) -> str:
    return ", ".join(sorted(descriptors)) or "none"


def _sri4_criteria(ctx: VisitContext) -> list[Criterion]:
    now, base = known(ctx.current), known(ctx.baseline)
    before, after = _selena(base), _selena(now)
    new_a = new_a_domains(now.bilag, base.bilag)
    new_b = new_b_domains(now.bilag, base.bilag)
    pga_before, pga_after = known(base.pga_tenths), known(now.pga_tenths)
    return [
        Criterion(
            before - after >= SRI4_SELENA_DROP_AT_LEAST,
            f"SELENA-SLEDAI decrease ≥ 4 (from {before} to {after})",
        ),
        Criterion(
            not new_a and len(new_b) < SRI4_NEW_B_FEWER_THAN,
            f"no new BILAG A and < 2 new B (new A: {len(new_a)}, new B: {len(new_b)})",
        ),
        Criterion(
            pga_after - pga_before <= SRI4_PGA_RISE_AT_MOST_TENTHS,
            f"PGA increase < 0.3 (from {_pga(pga_before)} to {_pga(pga_after)})",
        ),
    ]


def _remission_core(now: VisitScore) -> list[Criterion]:
    """Clinical SLEDAI 0 and PGA < 0.5, shared by DORIS and remission off therapy."""
    score, pga = clinical_sledai(now.sledai), known(now.pga_tenths)
    return [
        Criterion(score == 0, f"clinical SLEDAI-2K = 0 (is {score})"),
        Criterion(pga <= DORIS_PGA_AT_MOST_TENTHS, f"PGA < 0.5 (is {_pga(pga)})"),
    ]


def _doris_criteria(ctx: VisitContext) -> list[Criterion]:
    now = known(ctx.current)
    prednisone = known(now.prednisone_mg_per_day)
    return [
        *_remission_core(now),
        Criterion(
            prednisone <= DORIS_PREDNISONE_AT_MOST_MG,
            f"prednisone ≤ 5 mg/day (is {prednisone})",
        ),
    ]


def _off_therapy_criteria(ctx: VisitContext) -> list[Criterion]:
    now = known(ctx.current)
    prednisone = known(now.prednisone_mg_per_day)
    return [
        *_remission_core(now),
        Criterion(prednisone == 0, f"prednisone 0 mg/day (is {prednisone})"),
        Criterion(now.antimalarial_only is True, "antimalarials are the only SLE treatment"),
    ]


def _lldas_criteria(ctx: VisitContext) -> list[Criterion]:
    now, previous = known(ctx.current), known(ctx.previous)
    score = sledai_2k(now.sledai)
    major = now.sledai & LLDAS_MAJOR_ORGANS
    new = now.sledai - previous.sledai
    pga, prednisone = known(now.pga_tenths), known(now.prednisone_mg_per_day)
    return [
        Criterion(score <= LLDAS_SLEDAI_AT_MOST, f"SLEDAI-2K ≤ 4 (is {score})"),
        Criterion(not major, f"no major-organ activity (present: {_names(major)})"),
        Criterion(now.haemolytic_anaemia is False, "no haemolytic anaemia"),
        Criterion(now.gi_activity is False, "no GI activity"),
        Criterion(not new, f"no SLEDAI-2K descriptor new since the previous visit ({_names(new)})"),
        Criterion(pga <= LLDAS_PGA_AT_MOST_TENTHS, f"PGA ≤ 1.0 (is {_pga(pga)})"),
        Criterion(
            prednisone <= LLDAS_PREDNISONE_AT_MOST_MG, f"prednisone ≤ 7.5 mg/day (is {prednisone})"
        ),
        Criterion(now.investigational_drug is False, "no investigational drug other than CHT101"),
    ]


SRI4 = Endpoint("SRI-4", _sri4_criteria, now=(SLEDAI, BILAG, PGA), at_baseline=(SLEDAI, BILAG, PGA))
# DORIS and remission off therapy use the visit only; the baseline is not needed.
DORIS = Endpoint("DORIS", _doris_criteria, now=(SLEDAI, PGA, PREDNISONE))
REMISSION_OFF_THERAPY = Endpoint(
    "remission off therapy",
    _off_therapy_criteria,
    now=(SLEDAI, PGA, PREDNISONE, ANTIMALARIAL_ONLY),
)
# LLDAS compares with the previous scored visit, not with the SRI baseline.
LLDAS = Endpoint(
    "LLDAS",
    _lldas_criteria,
    now=(SLEDAI, PGA, PREDNISONE, HAEMOLYTIC_ANAEMIA, GI_ACTIVITY, INVESTIGATIONAL_DRUG),
    at_previous=(SLEDAI,),
)


def sri4(ctx: VisitContext) -> Verdict:
    """SRI-4 against the SRI baseline: SELENA −4, BILAG, PGA (clinical-rules.md §4)."""
    return decide(SRI4, ctx)


def doris(ctx: VisitContext) -> Verdict:
    """DORIS 2021 remission: clinical SLEDAI 0, PGA < 0.5, prednisone ≤ 5 (rules §5)."""
    return decide(DORIS, ctx)


def remission_off_therapy(ctx: VisitContext) -> Verdict:
    """DORIS 2017 remission off therapy: + prednisone 0, antimalarials only (rules §5)."""
    return decide(REMISSION_OFF_THERAPY, ctx)


def lldas(ctx: VisitContext) -> Verdict:
    """LLDAS, all five criteria (Franklyn 2016, clinical-rules.md §6)."""
    return decide(LLDAS, ctx)


ENDPOINTS: dict[str, Callable[[VisitContext], Verdict]] = {
    "SRI4": sri4,
    "DORIS": doris,
    "REMISSION_OFF_THERAPY": remission_off_therapy,
    "LLDAS": lldas,
    "CRR": crr,
    "PRR": prr,
    "ORR": orr,
    "PERR": perr,
}


def evaluate_all(ctx: VisitContext) -> dict[str, Verdict]:
    """Every endpoint's verdict at a visit, keyed by the contract's endpoint name (rules §4)."""
    return {name: endpoint(ctx) for name, endpoint in ENDPOINTS.items()}
