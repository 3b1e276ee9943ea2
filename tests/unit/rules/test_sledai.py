"""SLEDAI-2K, clinical SLEDAI, SELENA-SLEDAI and their lab checks (clinical-rules.md §1–2)."""

from __future__ import annotations

from collections.abc import Set

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.rules.sledai import (
    clinical_sledai,
    lab_mismatch,
    screening_lab_queries,
    selena_sledai,
    sledai_2k,
    visit_lab_queries,
)
from domain.vocabulary import SledaiDescriptor as D

# The rulebook's table (§1, Gladman 2002), written out here rather than imported.
RULEBOOK_WEIGHTS: dict[D, int] = {
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
SEROLOGY = {D.LOW_COMPLEMENT, D.INCREASED_DNA_BINDING}
EVERY = frozenset(D)

descriptor_sets = st.frozensets(st.sampled_from(list(D)))
joint_counts = st.none() | st.integers(min_value=0, max_value=40)
flags = st.none() | st.booleans()


def test_rulebook_table_covers_every_descriptor_of_the_vocabulary() -> None:
    assert set(RULEBOOK_WEIGHTS) == EVERY
    assert len(RULEBOOK_WEIGHTS) == 24


@pytest.mark.parametrize(("descriptor", "weight"), RULEBOOK_WEIGHTS.items())
def test_sledai_2k_scores_rulebook_weight_when_descriptor_present_alone(
    descriptor: D, weight: int
) -> None:
    assert sledai_2k({descriptor}) == weight


@pytest.mark.parametrize(
    ("descriptors", "expected"),
    [
        (set(), 0),
        (EVERY, 105),
        ({D.SEIZURE, D.ARTHRITIS, D.RASH, D.FEVER}, 8 + 4 + 2 + 1),
        ({D.PROTEINURIA, D.LOW_COMPLEMENT, D.INCREASED_DNA_BINDING}, 4 + 2 + 2),
        ({D.THROMBOCYTOPENIA, D.LEUKOPENIA}, 2),
        ({D.ARTHRITIS, D.RASH, D.ALOPECIA, D.LOW_COMPLEMENT}, 4 + 2 + 2 + 2),  # > 6: eligible
        ({D.ARTHRITIS, D.RASH}, 6),  # = 6: not > 6
        ([D.RASH, D.RASH], 2),  # recorded as a set: a repeat counts once
    ],
    ids=["none", "all-24", "mixed", "renal-and-serology", "cytopenias", "10", "6", "duplicate"],
)
def test_sledai_2k_sums_weights_when_descriptors_present(
    descriptors: Set[D] | list[D], expected: int
) -> None:
    assert sledai_2k(descriptors) == expected


@pytest.mark.parametrize(
    ("descriptors", "expected"),
    [
        (EVERY, 101),
        ({D.LOW_COMPLEMENT, D.INCREASED_DNA_BINDING}, 0),
        ({D.LOW_COMPLEMENT}, 0),
        ({D.INCREASED_DNA_BINDING, D.RASH}, 2),
        ({D.PROTEINURIA, D.LOW_COMPLEMENT, D.FEVER}, 5),
        (set(), 0),
    ],
    ids=["all-24", "serology-only", "low-complement", "dna-and-rash", "mixed", "none"],
)
def test_clinical_sledai_drops_serology_when_scored(descriptors: Set[D], expected: int) -> None:
    assert clinical_sledai(descriptors) == expected


@pytest.mark.parametrize(
    ("descriptor", "weight"),
    [
        (descriptor, weight)
        for descriptor, weight in RULEBOOK_WEIGHTS.items()
        if descriptor not in SEROLOGY
    ],
)
def test_clinical_sledai_scores_rulebook_weight_when_clinical_descriptor_alone(
    descriptor: D, weight: int
) -> None:
    assert clinical_sledai({descriptor}) == weight


@pytest.mark.parametrize(
    ("descriptors", "joints", "new_or_increased", "expected"),
    [
        ({D.ARTHRITIS}, 0, None, 0),
        ({D.ARTHRITIS}, 1, None, 0),
        ({D.ARTHRITIS}, 2, None, 0),  # SELENA: more than 2 joints
        ({D.ARTHRITIS}, 3, None, 4),
        ({D.ARTHRITIS}, 12, None, 4),
        ({D.ARTHRITIS}, None, None, 4),  # not recorded: scored as in SLEDAI-2K
        (set(), 5, None, 0),  # a joint count does not tick arthritis
        ({D.PROTEINURIA}, None, False, 0),
        ({D.PROTEINURIA}, None, True, 4),
        ({D.PROTEINURIA}, None, None, 4),  # not recorded: scored as in SLEDAI-2K
        (set(), None, True, 0),  # the flag does not tick proteinuria
        ({D.ARTHRITIS, D.PROTEINURIA, D.RASH}, 2, False, 2),
        ({D.ARTHRITIS, D.PROTEINURIA, D.RASH}, 3, True, 10),
        ({D.ARTHRITIS, D.PROTEINURIA, D.RASH}, 2, True, 6),
        ({D.ARTHRITIS, D.PROTEINURIA, D.RASH}, 3, False, 6),
        (EVERY, 2, False, 97),
        (EVERY, 3, True, 105),
        (EVERY, None, None, 105),
        ({D.LOW_COMPLEMENT, D.INCREASED_DNA_BINDING}, None, None, 4),  # serology still counts
    ],
)
def test_selena_sledai_scores_arthritis_and_proteinuria_only_when_selena_conditions_hold(
    descriptors: Set[D], joints: int | None, new_or_increased: bool | None, expected: int
) -> None:
    assert selena_sledai(descriptors, joints, new_or_increased) == expected


def test_selena_sledai_equals_sledai_2k_when_nothing_extra_recorded() -> None:
    descriptors = {D.ARTHRITIS, D.PROTEINURIA, D.SEIZURE, D.LOW_COMPLEMENT}

    assert selena_sledai(descriptors) == sledai_2k(descriptors) == 4 + 4 + 8 + 2


@pytest.mark.parametrize(
    ("ticked", "upcr", "mismatch"),
    [
        (True, 0.5, True),  # 0.5 is not > 0.5: reads absent
        (False, 0.5, False),
        (True, 0.51, False),
        (False, 0.51, True),
        (True, 0.0, True),
        (False, 0.0, False),
        (True, 3.2, False),
        (False, 3.2, True),
        (True, None, False),  # no lab value: nothing to check
        (False, None, False),
    ],
)
def test_visit_lab_queries_flags_proteinuria_only_when_ticked_state_contradicts_upcr(
    ticked: bool, upcr: float | None, mismatch: bool
) -> None:
    descriptors = {D.PROTEINURIA, D.RASH} if ticked else {D.RASH}

    queries = visit_lab_queries(descriptors, upcr)

    assert [query.code for query in queries] == (["PROTEINURIA_LAB_MISMATCH"] if mismatch else [])


@pytest.mark.parametrize(
    ("ticked", "upcr", "recorded_as"),
    [(True, 0.5, "recorded present"), (False, 0.51, "recorded absent")],
)
def test_visit_lab_query_message_names_recorded_state_and_upcr_when_mismatched(
    ticked: bool, upcr: float, recorded_as: str
) -> None:
    descriptors = {D.PROTEINURIA} if ticked else set()

    [query] = visit_lab_queries(descriptors, upcr)

    assert "PROTEINURIA" in query.message
    assert recorded_as in query.message
    assert f"UPCR {upcr}" in query.message


def test_visit_lab_queries_leave_record_and_score_unchanged_when_mismatched() -> None:
    descriptors = {D.PROTEINURIA, D.ARTHRITIS}

    queries = visit_lab_queries(descriptors, 0.2)

    assert len(queries) == 1
    assert descriptors == {D.PROTEINURIA, D.ARTHRITIS}
    assert sledai_2k(descriptors) == 8
    assert selena_sledai(descriptors, 3, True) == 8


def test_visit_lab_queries_ignore_screening_cytopenias_when_checking_a_visit() -> None:
    queries = visit_lab_queries({D.LEUKOPENIA, D.THROMBOCYTOPENIA}, 0.1)

    assert queries == []


@pytest.mark.parametrize(
    ("descriptors", "wbc", "platelets", "codes"),
    [
        ({D.LEUKOPENIA}, 3.0, None, {"LEUKOPENIA_LAB_MISMATCH"}),  # 3 is not < 3: absent
        (set(), 3.0, None, set()),
        ({D.LEUKOPENIA}, 2.99, None, set()),
        (set(), 2.99, None, {"LEUKOPENIA_LAB_MISMATCH"}),
        ({D.THROMBOCYTOPENIA}, None, 100.0, {"THROMBOCYTOPENIA_LAB_MISMATCH"}),  # not < 100
        (set(), None, 100.0, set()),
        ({D.THROMBOCYTOPENIA}, None, 99.9, set()),
        (set(), None, 99.9, {"THROMBOCYTOPENIA_LAB_MISMATCH"}),
        ({D.LEUKOPENIA, D.THROMBOCYTOPENIA}, None, None, set()),  # no labs: nothing to check
        (set(), None, None, set()),
        (
            {D.LEUKOPENIA, D.THROMBOCYTOPENIA},
            4.5,
            250.0,
            {"LEUKOPENIA_LAB_MISMATCH", "THROMBOCYTOPENIA_LAB_MISMATCH"},
        ),
        ({D.LEUKOPENIA, D.THROMBOCYTOPENIA}, 1.2, 40.0, set()),
        ({D.PROTEINURIA}, 4.5, 250.0, set()),  # no UPCR check at screening
    ],
)
def test_screening_lab_queries_flag_cytopenia_only_when_ticked_state_contradicts_count(
    descriptors: Set[D], wbc: float | None, platelets: float | None, codes: set[str]
) -> None:
    queries = screening_lab_queries(descriptors, wbc, platelets)

    assert {query.code for query in queries} == codes
    assert len(queries) == len(codes)


@pytest.mark.parametrize(
    ("descriptors", "wbc", "platelets", "recorded_as", "shown"),
    [
        ({D.LEUKOPENIA}, 3.0, None, "recorded present", "WBC 3.0"),
        (set(), 2.99, None, "recorded absent", "WBC 2.99"),
        ({D.THROMBOCYTOPENIA}, None, 100.0, "recorded present", "platelets 100.0"),
        (set(), None, 99.9, "recorded absent", "platelets 99.9"),
    ],
)
def test_screening_lab_query_message_names_recorded_state_and_count_when_mismatched(
    descriptors: Set[D], wbc: float | None, platelets: float | None, recorded_as: str, shown: str
) -> None:
    [query] = screening_lab_queries(descriptors, wbc, platelets)

    assert recorded_as in query.message
    assert shown in query.message


@pytest.mark.parametrize("descriptor", [D.PROTEINURIA, D.LEUKOPENIA, D.THROMBOCYTOPENIA])
def test_lab_mismatch_code_is_descriptor_lab_mismatch_when_ticked_but_lab_absent(
    descriptor: D,
) -> None:
    query = lab_mismatch(descriptor, {descriptor}, False, "lab 1.0")

    assert query is not None
    assert query.code == f"{descriptor.value}_LAB_MISMATCH"
    assert descriptor.value in query.message
    assert "lab 1.0" in query.message


@pytest.mark.parametrize(("ticked", "lab_says_present"), [(True, True), (False, False)])
def test_lab_mismatch_none_when_record_agrees_with_lab(
    ticked: bool, lab_says_present: bool
) -> None:
    recorded = {D.PROTEINURIA} if ticked else set()

    assert lab_mismatch(D.PROTEINURIA, recorded, lab_says_present, "UPCR 1.0 g/g") is None


@given(descriptor_sets)
def test_sledai_2k_is_rulebook_weight_sum_within_0_to_105_when_any_set(
    descriptors: frozenset[D],
) -> None:
    total = sledai_2k(descriptors)

    assert total == sum(RULEBOOK_WEIGHTS[descriptor] for descriptor in descriptors)
    assert 0 <= total <= 105


@given(descriptor_sets, joint_counts, flags)
def test_clinical_and_selena_never_exceed_sledai_2k_when_any_set(
    descriptors: frozenset[D], joints: int | None, new_or_increased: bool | None
) -> None:
    total = sledai_2k(descriptors)

    assert clinical_sledai(descriptors) <= total
    assert clinical_sledai(descriptors) == total - sum(
        RULEBOOK_WEIGHTS[d] for d in descriptors & SEROLOGY
    )
    assert 0 <= selena_sledai(descriptors, joints, new_or_increased) <= total


@given(descriptor_sets.filter(bool), st.data(), joint_counts, flags)
def test_scores_never_rise_when_a_descriptor_is_removed(
    descriptors: frozenset[D],
    data: st.DataObject,
    joints: int | None,
    new_or_increased: bool | None,
) -> None:
    removed = data.draw(st.sampled_from(sorted(descriptors)))
    fewer = descriptors - {removed}

    assert sledai_2k(fewer) <= sledai_2k(descriptors)
    assert clinical_sledai(fewer) <= clinical_sledai(descriptors)
    assert selena_sledai(fewer, joints, new_or_increased) <= selena_sledai(
        descriptors, joints, new_or_increased
    )


@given(descriptor_sets, st.floats(min_value=0, max_value=20))
def test_visit_lab_queries_flag_exactly_the_contradiction_when_any_upcr(
    descriptors: frozenset[D], upcr: float
) -> None:
    contradicts = (D.PROTEINURIA in descriptors) != (upcr > 0.5)

    queries = visit_lab_queries(descriptors, upcr)

    assert [query.code for query in queries] == (
        ["PROTEINURIA_LAB_MISMATCH"] if contradicts else []
    )
