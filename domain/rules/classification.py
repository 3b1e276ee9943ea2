"""EULAR/ACR 2019 SLE classification: entry criterion, weighted domains, score (rules §9)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from domain.vocabulary import EularAcrCriterion as C

ENTRY = C.ANA_POSITIVE  # ANA >= 1:80, the entry criterion; it carries no weight
CLASSIFIED_AT = 10


class EularAcrDomain(StrEnum):
    CONSTITUTIONAL = "CONSTITUTIONAL"
    HAEMATOLOGIC = "HAEMATOLOGIC"
    NEUROPSYCHIATRIC = "NEUROPSYCHIATRIC"
    MUCOCUTANEOUS = "MUCOCUTANEOUS"
    SEROSAL = "SEROSAL"
    MUSCULOSKELETAL = "MUSCULOSKELETAL"
    RENAL = "RENAL"
    ANTIPHOSPHOLIPID = "ANTIPHOSPHOLIPID"
    COMPLEMENT = "COMPLEMENT"
    SLE_SPECIFIC_ANTIBODIES = "SLE_SPECIFIC_ANTIBODIES"


DOMAINS: dict[EularAcrDomain, dict[C, int]] = {
    EularAcrDomain.CONSTITUTIONAL: {C.FEVER: 2},
    EularAcrDomain.HAEMATOLOGIC: {
        C.LEUKOPENIA: 3,
        C.THROMBOCYTOPENIA: 4,
        C.AUTOIMMUNE_HEMOLYSIS: 4,
    },
    EularAcrDomain.NEUROPSYCHIATRIC: {C.DELIRIUM: 2, C.PSYCHOSIS: 3, C.SEIZURE: 5},
    EularAcrDomain.MUCOCUTANEOUS: {
        C.NON_SCARRING_ALOPECIA: 2,
        C.ORAL_ULCERS: 2,
        C.SUBACUTE_CUTANEOUS_OR_DISCOID_LUPUS: 4,
        C.ACUTE_CUTANEOUS_LUPUS: 6,
    },
    EularAcrDomain.SEROSAL: {C.PLEURAL_OR_PERICARDIAL_EFFUSION: 5, C.ACUTE_PERICARDITIS: 6},
    EularAcrDomain.MUSCULOSKELETAL: {C.JOINT_INVOLVEMENT: 6},
    EularAcrDomain.RENAL: {
        C.PROTEINURIA: 4,
        C.RENAL_BIOPSY_CLASS_II_OR_V: 8,
        C.RENAL_BIOPSY_CLASS_III_OR_IV: 10,
    },
    EularAcrDomain.ANTIPHOSPHOLIPID: {C.ANTIPHOSPHOLIPID_ANTIBODIES: 2},
    EularAcrDomain.COMPLEMENT: {C.LOW_C3_OR_LOW_C4: 3, C.LOW_C3_AND_LOW_C4: 4},
    EularAcrDomain.SLE_SPECIFIC_ANTIBODIES: {C.ANTI_DSDNA_OR_ANTI_SM: 6},
}

IMMUNOLOGICAL_DOMAINS = frozenset(
    {
        EularAcrDomain.ANTIPHOSPHOLIPID,
        EularAcrDomain.COMPLEMENT,
        EularAcrDomain.SLE_SPECIFIC_ANTIBODIES,
    }
)

WEIGHTS: dict[C, int] = {
    criterion: weight for weights in DOMAINS.values() for criterion, weight in weights.items()
}

CLINICAL_CRITERIA = frozenset(
    criterion
    for domain, weights in DOMAINS.items()
    if domain not in IMMUNOLOGICAL_DOMAINS
    for criterion in weights
)


@dataclass(frozen=True)
class Classification:
    """The EULAR/ACR 2019 result: weighted score, entry, clinical criterion, and the decision."""

    score: int
    entry_met: bool
    has_clinical: bool
    classified: bool


def eular_acr_score(criteria: Iterable[C]) -> int:
    """EULAR/ACR 2019 score, 0–51: the highest weight present in each domain (Aringer 2019)."""
    present = set(criteria)
    return sum(
        max((weight for criterion, weight in weights.items() if criterion in present), default=0)
        for weights in DOMAINS.values()
    )


def eular_acr_2019(criteria: Iterable[C]) -> Classification:
    """SLE iff ANA >= 1:80, score >= 10 and >= 1 clinical criterion (Aringer 2019; rules §9)."""
    present = frozenset(criteria)
    # The score is computed whether or not the entry criterion is met, so that it is always
    # recorded; only the classification needs the entry criterion.
    score = eular_acr_score(present)
    entry_met = ENTRY in present
    has_clinical = not present.isdisjoint(CLINICAL_CRITERIA)
    return Classification(
        score=score,
        entry_met=entry_met,
        has_clinical=has_clinical,
        classified=entry_met and has_clinical and score >= CLASSIFIED_AT,
    )
