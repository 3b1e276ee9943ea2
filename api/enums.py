"""The contract's enums: the domain's own, registered with strawberry as they are.

Their values equal their names, so GraphQL values map one to one onto what events store.
"""

from __future__ import annotations

import strawberry

from domain.vocabulary import (
    AeCategory,
    BilagDomain,
    BilagGrade,
    ChronicGvhdSeverity,
    Consciousness,
    Edema,
    EularAcrCriterion,
    Outcome,
    Oxygen,
    ParticipantStatus,
    Relatedness,
    Role,
    SdiItem,
    SeizureStatus,
    SeriousCriterion,
    Sex,
    SledaiDescriptor,
    Visit,
    WithdrawalReason,
)

__all__ = [
    "AeCategory",
    "BilagDomain",
    "BilagGrade",
    "ChronicGvhdSeverity",
    "Consciousness",
    "Edema",
    "EularAcrCriterion",
    "Outcome",
    "Oxygen",
    "ParticipantStatus",
    "Relatedness",
    "Role",
    "SdiItem",
    "SeizureStatus",
    "SeriousCriterion",
    "Sex",
    "SledaiDescriptor",
    "Visit",
    "WithdrawalReason",
]

for _enum in (
    AeCategory,
    BilagDomain,
    BilagGrade,
    ChronicGvhdSeverity,
    Consciousness,
    Edema,
    EularAcrCriterion,
    Outcome,
    Oxygen,
    ParticipantStatus,
    Relatedness,
    Role,
    SdiItem,
    SeizureStatus,
    SeriousCriterion,
    Sex,
    SledaiDescriptor,
    Visit,
    WithdrawalReason,
):
    strawberry.enum(_enum)
