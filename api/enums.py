"""The contract's enums are the domain's own (``domain.vocabulary``), registered with strawberry
as they are: their values equal their names, so GraphQL values map one to one onto what events
store. The types and inputs annotate with the domain's enums; ``api.schema`` registers them
(``register``) before it builds the schema."""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.types.enum import has_enum_definition

from domain import vocabulary

CONTRACT_ENUMS: tuple[type[Enum], ...] = (
    vocabulary.AeCategory, vocabulary.BilagDomain, vocabulary.BilagGrade,
    vocabulary.ChronicGvhdSeverity, vocabulary.Consciousness, vocabulary.Edema,
    vocabulary.EularAcrCriterion, vocabulary.Outcome, vocabulary.Oxygen,
    vocabulary.ParticipantStatus, vocabulary.Relatedness, vocabulary.Role, vocabulary.SdiItem,
    vocabulary.SeizureStatus, vocabulary.SeriousCriterion, vocabulary.Sex,
    vocabulary.SledaiDescriptor, vocabulary.Visit, vocabulary.WithdrawalReason,
)  # fmt: skip


def register() -> None:
    """Register each contract enum with strawberry, once."""
    for kind in CONTRACT_ENUMS:
        if not has_enum_definition(kind):
            strawberry.enum(kind)
