"""CAR-T toxicity grades: ASTCT 2019 CRS and ICANS, MAGIC 2016 acute GVHD (rules §11)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from domain.errors import require
from domain.rules import safety
from domain.rules.assessment import DataQuery
from domain.vocabulary import Consciousness, Edema, Oxygen, SeizureStatus

FEVER_FROM_C = 38.0  # "fever ≥ 38 °C": 38.0 is a fever, 37.9 is not
# Decision: a recorded body temperature outside 25–45 °C (inclusive) is a typing error, not a
# reading; it is refused rather than graded.
TEMPERATURE_MIN_C = 25.0
TEMPERATURE_MAX_C = 45.0
DEATH_GRADE = 5  # a CRS or ICANS AE recorded with CTCAE grade 5 (death from it)

ICE_MAX = 10

HYPOXIA: dict[Oxygen, int] = {
    Oxygen.NONE: 0,
    Oxygen.LOW_FLOW: 2,
    Oxygen.HIGH_FLOW: 3,
    Oxygen.POSITIVE_PRESSURE: 4,
}
CONSCIOUSNESS: dict[Consciousness, int] = {
    Consciousness.NORMAL: 0,
    Consciousness.SPONTANEOUS: 1,
    Consciousness.VOICE: 2,
    Consciousness.TACTILE: 3,
    Consciousness.UNAROUSABLE: 4,
}
SEIZURE: dict[SeizureStatus, int] = {
    SeizureStatus.NONE: 0,
    SeizureStatus.RAPID: 3,
    SeizureStatus.PROLONGED: 4,
}
EDEMA: dict[Edema, int] = {Edema.NONE: 0, Edema.FOCAL: 3, Edema.DIFFUSE: 4}
MOTOR_WEAKNESS = 4

SKIN_LIVER_LOWER_GI_MAX = 4
UPPER_GI_MAX = 1


def _died_of_it(ctcae_grade: int | None) -> bool:
    return ctcae_grade is not None and safety.ctcae_grade(ctcae_grade) == DEATH_GRADE


@dataclass(frozen=True)
class CrsSigns:
    """CRS signs at their worst; ``vasopressors`` counts vasopressors other than vasopressin."""

    temperature_c: float
    fever_modified_by_treatment: bool  # antipyretics, tocilizumab or steroids given
    hypotension: bool
    vasopressors: int
    vasopressin: bool
    oxygen: Oxygen

    def __post_init__(self) -> None:
        t = self.temperature_c
        require(
            math.isfinite(t) and TEMPERATURE_MIN_C <= t <= TEMPERATURE_MAX_C,
            "TEMPERATURE_RANGE",
            f"temperature {t} °C is outside 25–45 °C",
        )
        require(
            self.vasopressors >= 0,
            "VASOPRESSOR_COUNT",
            f"vasopressor count {self.vasopressors} is negative",
        )


def crs_hypotension_grade(signs: CrsSigns) -> int:
    """ASTCT 2019 CRS hypotension domain, 0 or 2–4 (clinical-rules.md §11)."""
    if not signs.hypotension:
        # Decision: graded as recorded; vasopressors without hypotension raise a data query.
        return 0
    if signs.vasopressors >= 2:
        return 4
    if signs.vasopressors == 1 or signs.vasopressin:
        return 3
    return 2


def crs_grade(signs: CrsSigns | None, ctcae_grade: int | None = None) -> int:
    """ASTCT 2019 CRS grade 0–5 of a CRS AE: worse of hypotension and hypoxia, given fever;
    0 when its signs meet no grade or none were recorded (rules §11, §13)."""
    if _died_of_it(ctcae_grade):
        return DEATH_GRADE
    if signs is None:
        return 0
    fever = signs.temperature_c >= FEVER_FROM_C or signs.fever_modified_by_treatment
    if not fever:
        # Decision: fever is required for grade >= 1 (ASTCT), so hypotension or hypoxia without
        # fever (and no antipyretic, tocilizumab or steroid) grades 0.
        return 0
    return max(1, crs_hypotension_grade(signs), HYPOXIA[signs.oxygen])


def crs_data_queries(signs: CrsSigns) -> list[DataQuery]:
    """VASOPRESSOR_WITHOUT_HYPOTENSION: vasopressors recorded, hypotension not (conventions)."""
    if signs.hypotension or (signs.vasopressors == 0 and not signs.vasopressin):
        return []
    return [
        DataQuery(
            code="VASOPRESSOR_WITHOUT_HYPOTENSION",
            message=(
                f"hypotension false but vasopressors {signs.vasopressors} "
                f"and vasopressin {str(signs.vasopressin).lower()} recorded"
            ),
        )
    ]


def _check_ice_score(ice_score: int) -> None:
    require(
        0 <= ice_score <= ICE_MAX,
        "ICE_SCORE_RANGE",
        f"ICE score {ice_score} is outside 0–{ICE_MAX}",
    )


@dataclass(frozen=True)
class IcansSigns:
    """ICANS domains at their worst (ASTCT 2019)."""

    ice_score: int
    consciousness: Consciousness
    seizure: SeizureStatus
    motor_weakness: bool  # deep focal motor weakness
    edema: Edema

    def __post_init__(self) -> None:
        _check_ice_score(self.ice_score)


def ice_grade(ice_score: int, unarousable: bool) -> int:
    """ICANS grade from the ICE score 0–10, 4 when 0 because unarousable (ASTCT 2019, §11)."""
    _check_ice_score(ice_score)
    if ice_score == ICE_MAX:
        return 0
    if ice_score >= 7:
        return 1
    if ice_score >= 3:
        return 2
    # "0 because unarousable": the flag matters only at 0 (a scored patient was arousable).
    return 4 if ice_score == 0 and unarousable else 3


def icans_grade(signs: IcansSigns | None, ctcae_grade: int | None = None) -> int:
    """ASTCT 2019 ICANS grade 0–5 of an ICANS AE: the worst domain; death from ICANS → 5; 0 when
    its signs meet no grade or none were recorded (rules §11, §13)."""
    if _died_of_it(ctcae_grade):
        return DEATH_GRADE
    if signs is None:
        return 0
    unarousable = signs.consciousness is Consciousness.UNAROUSABLE
    return max(
        ice_grade(signs.ice_score, unarousable),
        CONSCIOUSNESS[signs.consciousness],
        SEIZURE[signs.seizure],
        MOTOR_WEAKNESS if signs.motor_weakness else 0,
        EDEMA[signs.edema],
    )


def icans_data_queries(signs: IcansSigns) -> list[DataQuery]:
    """ICE_SCORE_WHILE_UNAROUSABLE: an ICE score above 0 for an unarousable patient."""
    if signs.ice_score == 0 or signs.consciousness is not Consciousness.UNAROUSABLE:
        return []
    return [
        DataQuery(
            code="ICE_SCORE_WHILE_UNAROUSABLE",
            message=f"ICE score {signs.ice_score} recorded with consciousness UNAROUSABLE",
        )
    ]


@dataclass(frozen=True)
class GvhdStages:
    """MAGIC 2016 acute GVHD organ stages: skin, liver, lower GI 0–4; upper GI 0–1."""

    skin: int
    liver: int
    upper_gi: int
    lower_gi: int

    def __post_init__(self) -> None:
        for organ, stage in (
            ("skin", self.skin),
            ("liver", self.liver),
            ("lower GI", self.lower_gi),
        ):
            require(
                0 <= stage <= SKIN_LIVER_LOWER_GI_MAX,
                "GVHD_STAGE_RANGE",
                f"{organ} stage {stage} is outside 0–4",
            )
        require(
            0 <= self.upper_gi <= UPPER_GI_MAX,
            "GVHD_STAGE_RANGE",
            f"upper GI stage {self.upper_gi} is outside 0–1",
        )


def magic_grade(stages: GvhdStages | None) -> int:
    """MAGIC 2016 overall acute GVHD grade 0–4 (I–IV) of an acute GVHD AE, decided in the
    rulebook's order; 0 when no organ was staged (rules §11, §13)."""
    if stages is None:
        return 0
    if 4 in (stages.skin, stages.liver, stages.lower_gi):
        return 4
    if stages.liver in (2, 3) or stages.lower_gi in (2, 3):
        return 3
    if stages.skin == 3 or 1 in (stages.liver, stages.upper_gi, stages.lower_gi):
        return 2
    if stages.skin in (1, 2):
        return 1
    return 0
