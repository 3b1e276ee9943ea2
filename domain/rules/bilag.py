"""BILAG-2004 numeric score and new A / new B domains against baseline (clinical-rules.md §3)."""

from __future__ import annotations

from collections.abc import Mapping

from domain.vocabulary import BilagDomain, BilagGrade

Grades = Mapping[BilagDomain, BilagGrade]

NUMERIC: dict[BilagGrade, int] = {
    BilagGrade.A: 12,
    BilagGrade.B: 8,
    BilagGrade.C: 1,
    BilagGrade.D: 0,
    BilagGrade.E: 0,
}


def bilag_score(grades: Grades) -> int:
    """BILAG-2004 numeric score, 0–108: A=12, B=8, C=1, D=E=0 (Yee 2010)."""
    return sum(NUMERIC[grade] for grade in grades.values())


def new_a_domains(current: Grades, baseline: Grades) -> frozenset[BilagDomain]:
    """Domains graded A now that were B/C/D/E at baseline (clinical-rules.md §3)."""
    return frozenset(
        domain
        for domain, grade in current.items()
        if grade is BilagGrade.A and baseline[domain] is not BilagGrade.A
    )


def new_b_domains(current: Grades, baseline: Grades) -> frozenset[BilagDomain]:
    """Domains graded B now that were C/D/E at baseline; A→B is improvement (rules §3)."""
    return frozenset(
        domain
        for domain, grade in current.items()
        if grade is BilagGrade.B and baseline[domain] not in (BilagGrade.A, BilagGrade.B)
    )
