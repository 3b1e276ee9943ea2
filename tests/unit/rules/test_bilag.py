"""BILAG-2004 numeric score and new A / new B domains (clinical-rules.md §3, Yee 2010)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.rules.bilag import bilag_score, new_a_domains, new_b_domains
from domain.vocabulary import BilagDomain as Dom
from domain.vocabulary import BilagGrade as G

# Yee 2010 numeric values, from the rulebook (§3).
RULEBOOK_NUMERIC = {G.A: 12, G.B: 8, G.C: 1, G.D: 0, G.E: 0}

gradings = st.fixed_dictionaries({domain: st.sampled_from(list(G)) for domain in Dom})


def grades(default: G = G.E, **overrides: G) -> dict[Dom, G]:
    """All nine domains at ``default``, with the named domains overridden."""
    return {domain: overrides.get(domain.value, default) for domain in Dom}


@pytest.mark.parametrize(
    ("graded", "expected"),
    [
        (grades(G.A), 108),
        (grades(G.B), 72),
        (grades(G.C), 9),
        (grades(G.D), 0),
        (grades(G.E), 0),
        (grades(RENAL=G.A), 12),
        (grades(G.D, RENAL=G.A, MUSCULOSKELETAL=G.B, MUCOCUTANEOUS=G.C), 21),
        (grades(RENAL=G.A, NEUROPSYCHIATRIC=G.A, MUSCULOSKELETAL=G.B, MUCOCUTANEOUS=G.B), 40),
        (grades(G.C, HAEMATOLOGICAL=G.B), 16),
        (grades(G.A, OPHTHALMIC=G.E), 96),
    ],
    ids=["all-A", "all-B", "all-C", "all-D", "all-E", "one-A", "A-B-C", "2A-2B", "8C-1B", "8A-1E"],
)
def test_bilag_score_sums_yee_values_when_nine_domains_graded(
    graded: dict[Dom, G], expected: int
) -> None:
    assert bilag_score(graded) == expected


@pytest.mark.parametrize(("grade", "value"), RULEBOOK_NUMERIC.items())
def test_bilag_score_counts_yee_value_when_one_domain_graded_above_e(grade: G, value: int) -> None:
    assert bilag_score(grades(CARDIORESPIRATORY=grade)) == value


@pytest.mark.parametrize(
    ("baseline", "now", "is_new"),
    [
        (G.B, G.A, True),
        (G.C, G.A, True),
        (G.D, G.A, True),
        (G.E, G.A, True),
        (G.A, G.A, False),  # A→A persists, it is not new
        (G.E, G.B, False),
        (G.A, G.B, False),
        (G.C, G.E, False),
    ],
)
def test_new_a_domains_holds_domain_only_when_a_now_and_not_a_at_baseline(
    baseline: G, now: G, is_new: bool
) -> None:
    new = new_a_domains(grades(RENAL=now), grades(RENAL=baseline))

    assert new == ({Dom.RENAL} if is_new else set())


@pytest.mark.parametrize(
    ("baseline", "now", "is_new"),
    [
        (G.C, G.B, True),
        (G.D, G.B, True),
        (G.E, G.B, True),
        (G.A, G.B, False),  # improvement, not new
        (G.B, G.B, False),  # persists, not new
        (G.E, G.A, False),  # new A, not new B
        (G.E, G.C, False),
        (G.B, G.C, False),
    ],
)
def test_new_b_domains_holds_domain_only_when_b_now_and_c_d_or_e_at_baseline(
    baseline: G, now: G, is_new: bool
) -> None:
    new = new_b_domains(grades(MUSCULOSKELETAL=now), grades(MUSCULOSKELETAL=baseline))

    assert new == ({Dom.MUSCULOSKELETAL} if is_new else set())


def test_new_a_and_new_b_judged_per_domain_when_several_domains_change() -> None:
    baseline = grades(
        G.D, RENAL=G.C, HAEMATOLOGICAL=G.A, MUSCULOSKELETAL=G.D, MUCOCUTANEOUS=G.A, OPHTHALMIC=G.E
    )
    now = grades(
        G.D,
        RENAL=G.A,
        HAEMATOLOGICAL=G.A,
        MUSCULOSKELETAL=G.B,
        MUCOCUTANEOUS=G.B,
        OPHTHALMIC=G.B,
        CONSTITUTIONAL=G.A,
    )

    assert new_a_domains(now, baseline) == {Dom.RENAL, Dom.CONSTITUTIONAL}
    assert new_b_domains(now, baseline) == {Dom.MUSCULOSKELETAL, Dom.OPHTHALMIC}


@given(gradings)
def test_no_new_domains_when_grades_unchanged_from_baseline(graded: dict[Dom, G]) -> None:
    assert new_a_domains(graded, graded) == set()
    assert new_b_domains(graded, graded) == set()


@given(gradings)
def test_bilag_score_is_yee_sum_within_0_to_108_when_any_grading(graded: dict[Dom, G]) -> None:
    score = bilag_score(graded)

    assert score == sum(RULEBOOK_NUMERIC[grade] for grade in graded.values())
    assert 0 <= score <= 108


@given(gradings, gradings)
def test_new_a_and_new_b_follow_rulebook_when_any_two_gradings(
    now: dict[Dom, G], baseline: dict[Dom, G]
) -> None:
    new_a = new_a_domains(now, baseline)
    new_b = new_b_domains(now, baseline)

    assert new_a == {d for d in Dom if now[d] is G.A and baseline[d] in {G.B, G.C, G.D, G.E}}
    assert new_b == {d for d in Dom if now[d] is G.B and baseline[d] in {G.C, G.D, G.E}}
    assert not new_a & new_b
