"""EULAR/ACR 2019 SLE classification: weights, per-domain maximum, entry and clinical criterion."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.rules.classification import (
    DOMAINS,
    IMMUNOLOGICAL_DOMAINS,
    WEIGHTS,
    Classification,
    EularAcrDomain,
    eular_acr_2019,
)
from domain.vocabulary import EularAcrCriterion as C

ANA = C.ANA_POSITIVE

# The weights as clinical-rules.md §9 lists them.
RULEBOOK_WEIGHTS = [
    (C.FEVER, 2),
    (C.LEUKOPENIA, 3),
    (C.THROMBOCYTOPENIA, 4),
    (C.AUTOIMMUNE_HEMOLYSIS, 4),
    (C.DELIRIUM, 2),
    (C.PSYCHOSIS, 3),
    (C.SEIZURE, 5),
    (C.NON_SCARRING_ALOPECIA, 2),
    (C.ORAL_ULCERS, 2),
    (C.SUBACUTE_CUTANEOUS_OR_DISCOID_LUPUS, 4),
    (C.ACUTE_CUTANEOUS_LUPUS, 6),
    (C.PLEURAL_OR_PERICARDIAL_EFFUSION, 5),
    (C.ACUTE_PERICARDITIS, 6),
    (C.JOINT_INVOLVEMENT, 6),
    (C.PROTEINURIA, 4),
    (C.RENAL_BIOPSY_CLASS_II_OR_V, 8),
    (C.RENAL_BIOPSY_CLASS_III_OR_IV, 10),
    (C.ANTIPHOSPHOLIPID_ANTIBODIES, 2),
    (C.LOW_C3_OR_LOW_C4, 3),
    (C.LOW_C3_AND_LOW_C4, 4),
    (C.ANTI_DSDNA_OR_ANTI_SM, 6),
]

criteria_sets = st.frozensets(st.sampled_from(list(C)))


@pytest.mark.parametrize(("criterion", "weight"), RULEBOOK_WEIGHTS, ids=str)
def test_weight_equals_rulebook_when_criterion_alone(criterion: C, weight: int) -> None:
    assert WEIGHTS[criterion] == weight
    assert eular_acr_2019([ANA, criterion]).score == weight


def test_weights_cover_every_criterion_except_the_entry_when_tabled() -> None:
    assert set(WEIGHTS) == set(C) - {ANA}
    assert len(WEIGHTS) == len(RULEBOOK_WEIGHTS)
    assert sum(len(weights) for weights in DOMAINS.values()) == len(WEIGHTS)


def test_immunological_domains_are_the_three_antibody_and_complement_domains_when_tabled() -> None:
    assert {criterion for domain in IMMUNOLOGICAL_DOMAINS for criterion in DOMAINS[domain]} == {
        C.ANTIPHOSPHOLIPID_ANTIBODIES,
        C.LOW_C3_OR_LOW_C4,
        C.LOW_C3_AND_LOW_C4,
        C.ANTI_DSDNA_OR_ANTI_SM,
    }
    assert EularAcrDomain.HAEMATOLOGIC not in IMMUNOLOGICAL_DOMAINS


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        ({C.LEUKOPENIA, C.THROMBOCYTOPENIA}, 4),
        ({C.LEUKOPENIA, C.THROMBOCYTOPENIA, C.AUTOIMMUNE_HEMOLYSIS}, 4),
        ({C.DELIRIUM, C.PSYCHOSIS, C.SEIZURE}, 5),
        ({C.DELIRIUM, C.PSYCHOSIS}, 3),
        ({C.NON_SCARRING_ALOPECIA, C.ORAL_ULCERS}, 2),
        ({C.ORAL_ULCERS, C.SUBACUTE_CUTANEOUS_OR_DISCOID_LUPUS, C.ACUTE_CUTANEOUS_LUPUS}, 6),
        ({C.PLEURAL_OR_PERICARDIAL_EFFUSION, C.ACUTE_PERICARDITIS}, 6),
        ({C.PROTEINURIA, C.RENAL_BIOPSY_CLASS_II_OR_V}, 8),
        ({C.PROTEINURIA, C.RENAL_BIOPSY_CLASS_II_OR_V, C.RENAL_BIOPSY_CLASS_III_OR_IV}, 10),
        ({C.LOW_C3_OR_LOW_C4, C.LOW_C3_AND_LOW_C4}, 4),
        ({C.LEUKOPENIA, C.THROMBOCYTOPENIA, C.ORAL_ULCERS, C.NON_SCARRING_ALOPECIA}, 6),
    ],
    ids=[
        "leukopenia-3-platelets-4",
        "haematologic-all-three",
        "neuropsychiatric-all-three",
        "delirium-psychosis",
        "alopecia-2-ulcers-2",
        "mucocutaneous-three",
        "serosal-both",
        "proteinuria-class-ii-v",
        "renal-all-three",
        "complement-both",
        "two-domains-4-plus-2",
    ],
)
def test_score_counts_only_the_highest_criterion_when_a_domain_has_several(
    criteria: set[C], expected: int
) -> None:
    assert eular_acr_2019({ANA, *criteria}).score == expected


def test_score_is_51_when_every_criterion_present() -> None:
    # 2 + 4 + 5 + 6 + 6 + 6 + 10 + 2 + 4 + 6, the highest weight of each of the ten domains
    assert eular_acr_2019(list(C)).score == 51


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        (
            {ANA, C.JOINT_INVOLVEMENT, C.PROTEINURIA},
            Classification(score=10, entry_met=True, has_clinical=True, classified=True),
        ),
        (
            {ANA, C.RENAL_BIOPSY_CLASS_III_OR_IV},
            Classification(score=10, entry_met=True, has_clinical=True, classified=True),
        ),
        (
            {ANA, C.JOINT_INVOLVEMENT, C.LEUKOPENIA},
            Classification(score=9, entry_met=True, has_clinical=True, classified=False),
        ),
        (
            {ANA, C.JOINT_INVOLVEMENT, C.LOW_C3_OR_LOW_C4},
            Classification(score=9, entry_met=True, has_clinical=True, classified=False),
        ),
        (
            {C.JOINT_INVOLVEMENT, C.ACUTE_CUTANEOUS_LUPUS, C.ANTI_DSDNA_OR_ANTI_SM},
            Classification(score=18, entry_met=False, has_clinical=True, classified=False),
        ),
        (
            {ANA, C.ANTI_DSDNA_OR_ANTI_SM, C.LOW_C3_AND_LOW_C4},
            Classification(score=10, entry_met=True, has_clinical=False, classified=False),
        ),
        (
            {ANA, C.ANTI_DSDNA_OR_ANTI_SM, C.LOW_C3_AND_LOW_C4, C.ANTIPHOSPHOLIPID_ANTIBODIES},
            Classification(score=12, entry_met=True, has_clinical=False, classified=False),
        ),
        (
            {ANA, C.ANTI_DSDNA_OR_ANTI_SM, C.LOW_C3_AND_LOW_C4, C.FEVER},
            Classification(score=12, entry_met=True, has_clinical=True, classified=True),
        ),
        (
            {ANA, C.LEUKOPENIA, C.THROMBOCYTOPENIA, C.ORAL_ULCERS},
            Classification(score=6, entry_met=True, has_clinical=True, classified=False),
        ),
        ({ANA}, Classification(score=0, entry_met=True, has_clinical=False, classified=False)),
        (set(), Classification(score=0, entry_met=False, has_clinical=False, classified=False)),
    ],
    ids=[
        "exactly-10",
        "class-iii-iv-alone-10",
        "9-points",
        "9-points-with-complement",
        "18-points-without-entry",
        "immunological-only-6-plus-4",
        "immunological-only-12",
        "immunological-10-plus-fever",
        "7-points-counted-as-6",
        "entry-only",
        "nothing",
    ],
)
def test_eular_acr_2019_classifies_only_when_entry_10_points_and_a_clinical_criterion(
    criteria: set[C], expected: Classification
) -> None:
    assert eular_acr_2019(criteria) == expected


@given(criteria_sets, st.sampled_from(list(C)))
def test_score_never_falls_when_a_criterion_is_added(criteria: frozenset[C], extra: C) -> None:
    assert eular_acr_2019(criteria | {extra}).score >= eular_acr_2019(criteria).score


@given(criteria_sets)
def test_score_stays_within_0_and_51_when_any_criteria_present(criteria: frozenset[C]) -> None:
    score = eular_acr_2019(criteria).score

    assert 0 <= score <= min(51, sum(WEIGHTS.get(criterion, 0) for criterion in criteria))


@given(criteria_sets)
def test_classification_ignores_order_and_repeats_when_criteria_listed_twice(
    criteria: frozenset[C],
) -> None:
    listed = sorted(criteria)

    assert eular_acr_2019(listed + listed[::-1]) == eular_acr_2019(criteria)
