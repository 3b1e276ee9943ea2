"""The demo cohort's plan, from cohort.toml and a seed: who is who, and the same plan each time."""

from __future__ import annotations

from domain.inputs import ConsentDetails, ScreeningDetails
from infra.demo.cast import CAST, SITE
from infra.demo.plan import plan_cohort


def test_the_cast_plans_seventeen_subjects_of_the_site_in_consent_order() -> None:
    plans = plan_cohort(101, "Asia/Shanghai")

    assert [p.subject_id for p in plans] == [f"{SITE}-{n:03d}" for n in range(1, 18)]
    assert len(CAST) == 17
    consents = [p.steps[0].fact for p in plans]
    assert all(isinstance(c, ConsentDetails) and c.site == SITE for c in consents)
    signed = [c.signed_on for c in consents if isinstance(c, ConsentDetails)]
    assert signed == sorted(signed)


def test_a_seed_plans_the_same_facts_and_another_seed_other_values() -> None:
    first, again = plan_cohort(7, "Asia/Shanghai"), plan_cohort(7, "Asia/Shanghai")
    other = plan_cohort(8, "Asia/Shanghai")

    assert first == again
    assert [p.steps[0].fact for p in first] != [p.steps[0].fact for p in other]


def test_screen_failures_stop_at_screening_and_the_rescreened_subject_is_screened_twice() -> None:
    plans = {p.subject_id: p for p in plan_cohort(101, "Asia/Shanghai")}

    def screenings(subject: str) -> list[str]:
        return [s.name for s in plans[subject].steps if isinstance(s.fact, ScreeningDetails)]

    assert [s.name for s in plans["NJ01-004"].steps] == ["consent", "screen-1"]  # SLEDAI-2K 6
    assert [s.name for s in plans["NJ01-011"].steps] == ["consent", "screen-1"]  # CrCl 43
    assert screenings("NJ01-008") == ["screen-1", "screen-2"]
