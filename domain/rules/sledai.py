"""SLEDAI-2K, SELENA-SLEDAI and clinical SLEDAI totals, and lab checks (clinical-rules.md §1–2)."""

from __future__ import annotations

from collections.abc import Iterable

from domain.rules.assessment import DataQuery
from domain.vocabulary import SledaiDescriptor as D

WEIGHTS: dict[D, int] = {
    D.SEIZURE: 8,
    D.PSYCHOSIS: 8,
    D.ORGANIC_BRAIN_SYNDROME: 8,
    D.VISUAL_DISTURBANCE: 8,
    D.CRANIAL_NERVE_DISORDER: 8,
    D.LUPUS_HEADACHE: 8,
    D.CVA: 8,
    D.VASCULITIS: 8,
    D.ARTHRITIS: 4,
    D.MYOSITIS: 4,
    D.URINARY_CASTS: 4,
    D.HEMATURIA: 4,
    D.PROTEINURIA: 4,
    D.PYURIA: 4,
    D.RASH: 2,
    D.ALOPECIA: 2,
    D.MUCOSAL_ULCERS: 2,
    D.PLEURISY: 2,
    D.PERICARDITIS: 2,
    D.LOW_COMPLEMENT: 2,
    D.INCREASED_DNA_BINDING: 2,
    D.FEVER: 1,
    D.THROMBOCYTOPENIA: 1,
    D.LEUKOPENIA: 1,
}

SEROLOGY = frozenset({D.LOW_COMPLEMENT, D.INCREASED_DNA_BINDING})

# Lab thresholds of the lab-derived descriptors; all strict (clinical-rules.md §1).
PROTEINURIA_UPCR_ABOVE = 0.5
LEUKOPENIA_WBC_BELOW = 3.0
THROMBOCYTOPENIA_PLATELETS_BELOW = 100.0
SELENA_ARTHRITIS_JOINTS_ABOVE = 2


def sledai_2k(descriptors: Iterable[D]) -> int:
    """SLEDAI-2K total, 0–105: the weight sum of the descriptors present (Gladman 2002)."""
    return sum(WEIGHTS[descriptor] for descriptor in set(descriptors))


def clinical_sledai(descriptors: Iterable[D]) -> int:
    """Clinical SLEDAI-2K: SLEDAI-2K without the serological descriptors (clinical-rules.md §1)."""
    return sledai_2k(set(descriptors) - SEROLOGY)


def selena_sledai(
    descriptors: Iterable[D],
    arthritis_joint_count: int | None = None,
    proteinuria_new_or_increased: bool | None = None,
) -> int:
    """SELENA-SLEDAI: arthritis needs > 2 joints, proteinuria new or increased (rules §2)."""
    present = set(descriptors)
    if arthritis_joint_count is not None and arthritis_joint_count <= SELENA_ARTHRITIS_JOINTS_ABOVE:
        present.discard(D.ARTHRITIS)
    if proteinuria_new_or_increased is False:
        present.discard(D.PROTEINURIA)
    return sledai_2k(present)


def lab_mismatch(
    descriptor: D, recorded: Iterable[D], lab_says_present: bool, lab_value: str
) -> DataQuery | None:
    """A data query when a ticked descriptor contradicts its lab value (clinical-rules.md §1)."""
    ticked = descriptor in set(recorded)
    if ticked == lab_says_present:
        return None
    recorded_as = "recorded present" if ticked else "recorded absent"
    lab_reading = "present" if lab_says_present else "absent"
    return DataQuery(
        code=f"{descriptor.value}_LAB_MISMATCH",
        message=f"{descriptor.value} {recorded_as} but {lab_value} reads {lab_reading}",
    )


def visit_lab_queries(descriptors: Iterable[D], upcr_g_per_g: float | None) -> list[DataQuery]:
    """Visit check: PROTEINURIA against UPCR > 0.5 g/g (clinical-rules.md §1)."""
    if upcr_g_per_g is None:
        return []
    query = lab_mismatch(
        D.PROTEINURIA,
        descriptors,
        upcr_g_per_g > PROTEINURIA_UPCR_ABOVE,
        f"UPCR {upcr_g_per_g} g/g",
    )
    return [query] if query else []


def screening_lab_queries(
    descriptors: Iterable[D], wbc: float | None, platelets: float | None
) -> list[DataQuery]:
    """Screening checks: LEUKOPENIA against WBC < 3, THROMBOCYTOPENIA against platelets < 100."""
    recorded = set(descriptors)
    checks = []
    if wbc is not None:
        checks.append(
            lab_mismatch(D.LEUKOPENIA, recorded, wbc < LEUKOPENIA_WBC_BELOW, f"WBC {wbc} x10^9/L")
        )
    if platelets is not None:
        checks.append(
            lab_mismatch(
                D.THROMBOCYTOPENIA,
                recorded,
                platelets < THROMBOCYTOPENIA_PLATELETS_BELOW,
                f"platelets {platelets} x10^9/L",
            )
        )
    return [query for query in checks if query]
