"""SLICC/ACR Damage Index (SDI): total with repeat and ESRD rules, never decreasing (rules §8)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from domain.errors import BadInput, DomainRuleViolation
from domain.vocabulary import SdiItem as S

# A *_REPEAT item adds the second point of its base item and is only valid with it.
REPEATS: dict[S, S] = {
    S.CVA_REPEAT: S.CVA,
    S.MYOCARDIAL_INFARCTION_REPEAT: S.MYOCARDIAL_INFARCTION,
    S.SIGNIFICANT_TISSUE_LOSS_REPEAT: S.SIGNIFICANT_TISSUE_LOSS,
    S.GI_INFARCTION_OR_RESECTION_REPEAT: S.GI_INFARCTION_OR_RESECTION,
    S.AVASCULAR_NECROSIS_REPEAT: S.AVASCULAR_NECROSIS,
    S.MALIGNANCY_REPEAT: S.MALIGNANCY,
}

ESRD_POINTS = 3
# ESRD scores 3 and replaces these renal items (renal maximum 3).
REPLACED_BY_ESRD = frozenset({S.GFR_BELOW_50, S.PROTEINURIA_3_5G})


def sdi_items(items: Iterable[S]) -> frozenset[S]:
    """The recorded damage items, refusing a *_REPEAT item without its base item (rules §8)."""
    present = frozenset(items)
    for repeat, base in REPEATS.items():
        if repeat in present and base not in present:
            raise BadInput(
                "SDI_REPEAT_WITHOUT_BASE", f"{repeat.value} recorded without {base.value}"
            )
    return present


def sdi_total(items: Iterable[S]) -> int:
    """SDI total, 0–47: one point per item, ESRD 3 replacing the other renal items (rules §8)."""
    present = sdi_items(items)
    if S.ESRD in present:
        return ESRD_POINTS + len(present - REPLACED_BY_ESRD - {S.ESRD})
    return len(present)


def check_sdi_never_decreases(totals: Sequence[tuple[str, int | None]]) -> None:
    """Refuse a visit order whose SDI totals decrease; None (not assessed) is skipped (rules §8).

    ``totals`` lists (visit name, SDI total) in visit order.
    """
    highest: tuple[str, int] | None = None
    for visit, total in totals:
        if total is None:
            continue
        if highest is not None and total < highest[1]:
            raise DomainRuleViolation(
                "SDI_NEVER_DECREASES",
                f"SDI {total} at {visit} is lower than {highest[1]} at {highest[0]}; "
                "damage is cumulative",
            )
        highest = (visit, total)
