"""SLICC/ACR Damage Index: items, total and the never-decreasing rule (clinical-rules.md §8)."""

from __future__ import annotations

from collections.abc import Set

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import BadInput, DomainRuleViolation
from domain.rules.damage import check_sdi_never_decreases, sdi_items, sdi_total
from domain.vocabulary import SdiItem as S

# SDI items by organ (SLICC/ACR, items of the contract) with the rulebook's organ maxima (§8).
ORGANS: dict[str, tuple[int, frozenset[S]]] = {
    "ocular": (2, frozenset({S.CATARACT, S.RETINAL_CHANGE_OR_OPTIC_ATROPHY})),
    "neuropsychiatric": (
        6,
        frozenset(
            {
                S.COGNITIVE_IMPAIRMENT_OR_PSYCHOSIS,
                S.SEIZURES_6_MONTHS,
                S.CVA,
                S.CVA_REPEAT,
                S.NEUROPATHY,
                S.TRANSVERSE_MYELITIS,
            }
        ),
    ),
    "renal": (3, frozenset({S.GFR_BELOW_50, S.PROTEINURIA_3_5G, S.ESRD})),
    "pulmonary": (
        5,
        frozenset(
            {
                S.PULMONARY_HYPERTENSION,
                S.PULMONARY_FIBROSIS,
                S.SHRINKING_LUNG,
                S.PLEURAL_FIBROSIS,
                S.PULMONARY_INFARCTION,
            }
        ),
    ),
    "cardiovascular": (
        6,
        frozenset(
            {
                S.ANGINA_OR_CABG,
                S.MYOCARDIAL_INFARCTION,
                S.MYOCARDIAL_INFARCTION_REPEAT,
                S.CARDIOMYOPATHY,
                S.VALVULAR_DISEASE,
                S.PERICARDITIS_6_MONTHS,
            }
        ),
    ),
    "peripheral vascular": (
        5,
        frozenset(
            {
                S.CLAUDICATION,
                S.MINOR_TISSUE_LOSS,
                S.SIGNIFICANT_TISSUE_LOSS,
                S.SIGNIFICANT_TISSUE_LOSS_REPEAT,
                S.VENOUS_THROMBOSIS,
            }
        ),
    ),
    "gastrointestinal": (
        6,
        frozenset(
            {
                S.GI_INFARCTION_OR_RESECTION,
                S.GI_INFARCTION_OR_RESECTION_REPEAT,
                S.MESENTERIC_INSUFFICIENCY,
                S.CHRONIC_PERITONITIS,
                S.GI_STRICTURE_OR_SURGERY,
                S.PANCREATIC_INSUFFICIENCY,
            }
        ),
    ),
    "musculoskeletal": (
        7,
        frozenset(
            {
                S.MUSCLE_ATROPHY,
                S.DEFORMING_ARTHRITIS,
                S.OSTEOPOROTIC_FRACTURE,
                S.AVASCULAR_NECROSIS,
                S.AVASCULAR_NECROSIS_REPEAT,
                S.OSTEOMYELITIS,
                S.TENDON_RUPTURE,
            }
        ),
    ),
    "skin": (3, frozenset({S.SCARRING_ALOPECIA, S.EXTENSIVE_SCARRING, S.SKIN_ULCERATION})),
    "premature gonadal failure": (1, frozenset({S.PREMATURE_GONADAL_FAILURE})),
    "diabetes": (1, frozenset({S.DIABETES})),
    "malignancy": (2, frozenset({S.MALIGNANCY, S.MALIGNANCY_REPEAT})),
}

# Each *_REPEAT item is the second occurrence of its base item.
BASES: dict[S, S] = {
    S.CVA_REPEAT: S.CVA,
    S.MYOCARDIAL_INFARCTION_REPEAT: S.MYOCARDIAL_INFARCTION,
    S.SIGNIFICANT_TISSUE_LOSS_REPEAT: S.SIGNIFICANT_TISSUE_LOSS,
    S.GI_INFARCTION_OR_RESECTION_REPEAT: S.GI_INFARCTION_OR_RESECTION,
    S.AVASCULAR_NECROSIS_REPEAT: S.AVASCULAR_NECROSIS,
    S.MALIGNANCY_REPEAT: S.MALIGNANCY,
}
ONE_POINT_ITEMS = [item for item in S if item is not S.ESRD and item not in BASES]


def with_bases(items: Set[S]) -> frozenset[S]:
    """The items, plus the base of every repeat among them: always a valid SDI record."""
    return frozenset(items) | {BASES[item] for item in items if item in BASES}


valid_item_sets = st.frozensets(st.sampled_from(list(S))).map(with_bases)


def test_organ_table_covers_every_item_once_and_maxima_sum_to_47() -> None:
    organ_items = [item for _, items in ORGANS.values() for item in items]

    assert sorted(organ_items) == sorted(S)
    assert sum(maximum for maximum, _ in ORGANS.values()) == 47


@pytest.mark.parametrize("item", ONE_POINT_ITEMS)
def test_sdi_total_is_1_when_one_base_item_recorded(item: S) -> None:
    assert sdi_total({item}) == 1


def test_sdi_total_is_0_when_no_damage_recorded() -> None:
    assert sdi_total(set()) == 0


@pytest.mark.parametrize(("repeat", "base"), BASES.items())
def test_sdi_items_rejected_naming_both_items_when_repeat_recorded_without_base(
    repeat: S, base: S
) -> None:
    with pytest.raises(BadInput) as error:
        sdi_items({repeat, S.CATARACT})

    assert error.value.rule == "SDI_REPEAT_WITHOUT_BASE"
    assert repeat.value in error.value.message
    assert base.value in error.value.message


@pytest.mark.parametrize(("repeat", "base"), BASES.items())
def test_sdi_total_rejected_when_repeat_recorded_without_base(repeat: S, base: S) -> None:
    with pytest.raises(BadInput) as error:
        sdi_total({repeat})

    assert error.value.rule == "SDI_REPEAT_WITHOUT_BASE"


@pytest.mark.parametrize(("repeat", "base"), BASES.items())
def test_sdi_total_is_2_when_repeat_recorded_with_base(repeat: S, base: S) -> None:
    assert sdi_items({repeat, base}) == {repeat, base}
    assert sdi_total({repeat, base}) == 2


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ({S.ESRD}, 3),
        ({S.ESRD, S.GFR_BELOW_50}, 3),
        ({S.ESRD, S.PROTEINURIA_3_5G}, 3),
        ({S.ESRD, S.GFR_BELOW_50, S.PROTEINURIA_3_5G}, 3),  # renal maximum 3
        ({S.GFR_BELOW_50, S.PROTEINURIA_3_5G}, 2),
        ({S.GFR_BELOW_50}, 1),
        ({S.ESRD, S.GFR_BELOW_50, S.CATARACT, S.DIABETES}, 5),  # ESRD replaces renal items only
    ],
)
def test_sdi_total_scores_esrd_3_replacing_other_renal_items_when_esrd_recorded(
    items: Set[S], expected: int
) -> None:
    assert sdi_total(items) == expected


def test_sdi_total_is_47_when_every_item_recorded() -> None:
    assert sdi_total(set(S)) == 47


@pytest.mark.parametrize(("organ", "maximum", "items"), [(o, m, i) for o, (m, i) in ORGANS.items()])
def test_sdi_total_reaches_organ_maximum_when_every_item_of_organ_recorded(
    organ: str, maximum: int, items: frozenset[S]
) -> None:
    assert sdi_total(items) == maximum


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([S.CATARACT, S.CATARACT], 1),  # recorded as the set present: a repeat entry counts once
        ([S.CVA, S.CVA_REPEAT, S.CVA_REPEAT], 2),
        ([S.MALIGNANCY, S.MALIGNANCY_REPEAT, S.DIABETES, S.CATARACT], 4),
    ],
)
def test_sdi_total_counts_each_item_once_when_listed_twice(items: list[S], expected: int) -> None:
    assert sdi_total(items) == expected


@pytest.mark.parametrize(
    "totals",
    [
        [],
        [("M1", 0)],
        [("SCREENING", None)],
        [("BASELINE", 1), ("M1", 1), ("M3", 1)],
        [("BASELINE", 0), ("M1", 1), ("M3", 3), ("M12", 47)],
        [("BASELINE", 2), ("M1", None), ("M3", 2)],  # not assessed: skipped
        [("BASELINE", None), ("M1", None), ("M3", None)],
        [("BASELINE", None), ("M1", 4), ("M3", None), ("M6", 5)],
    ],
)
def test_check_sdi_never_decreases_accepts_when_totals_equal_or_rise(
    totals: list[tuple[str, int | None]],
) -> None:
    check_sdi_never_decreases(totals)


@pytest.mark.parametrize(
    ("totals", "lower_visit", "lower", "higher"),
    [
        ([("M1", 2), ("M3", 1)], "M3", "1", "2"),
        ([("BASELINE", 1), ("M1", 0)], "M1", "0", "1"),
        ([("BASELINE", 1), ("M1", 3), ("M3", 3), ("M6", 2)], "M6", "2", "3"),
        ([("M1", 2), ("M3", None), ("M6", 1)], "M6", "1", "2"),  # skips the gap, still compares
        ([("M1", 5), ("M3", 6), ("M6", 7), ("M12", 0)], "M12", "0", "7"),
    ],
)
def test_check_sdi_never_decreases_refused_naming_visit_when_total_falls(
    totals: list[tuple[str, int | None]], lower_visit: str, lower: str, higher: str
) -> None:
    with pytest.raises(DomainRuleViolation) as error:
        check_sdi_never_decreases(totals)

    assert error.value.rule == "SDI_NEVER_DECREASES"
    assert lower_visit in error.value.message
    assert lower in error.value.message
    assert higher in error.value.message


@given(valid_item_sets)
def test_sdi_total_within_0_to_47_and_capped_per_organ_when_any_valid_items(
    items: frozenset[S],
) -> None:
    total = sdi_total(items)
    per_organ = [sdi_total(items & organ_items) for _, organ_items in ORGANS.values()]

    assert 0 <= total <= 47
    assert total == sum(per_organ)
    assert all(
        score <= maximum for score, (maximum, _) in zip(per_organ, ORGANS.values(), strict=True)
    )


@given(valid_item_sets, st.sampled_from(list(S)))
def test_sdi_total_never_falls_when_an_item_is_added(items: frozenset[S], added: S) -> None:
    more = with_bases(items | {added})

    assert sdi_total(more) >= sdi_total(items)
