"""The contract's mutations: parse the input, one application call, map the result."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import strawberry

from api.context import Info
from api.inputs import (
    AdverseEventInput,
    AeUpdateInput,
    ConsentInput,
    CorrectionInput,
    InfusionInput,
    ScreeningInput,
    VisitScoreInput,
    WithdrawInput,
    parse_participant_id,
)
from api.threads import blocking
from api.types import CommandResult
from domain.commands import Request


class ParticipantInput(Protocol):
    """A mutation's input for a participant already consented."""

    participant_id: strawberry.ID
    idempotency_key: str | None

    @property
    def expected_version(self) -> int | None: ...

    def to_domain(self) -> Any: ...


def _request(info: Info, idempotency_key: str | None, expected_version: int | None) -> Request:
    return Request(info.context.principal.actor, idempotency_key, expected_version)


async def _change(
    info: Info, use_case: Callable[..., CommandResult], input: ParticipantInput, *after: object
) -> CommandResult:
    """One use case on one participant: the caller's request (authenticated first), the
    participant's id and the domain's input, then ``after`` (a correction's reason)."""
    request = _request(info, input.idempotency_key, input.expected_version)
    pid = parse_participant_id(input.participant_id)
    return await blocking(use_case, pid, input.to_domain(), *after, request)


# One field per mutation of the contract, alike by shape (strawberry's form of a field), each
# naming its own use case: deliberate, as the contract lists them.
@strawberry.type
class Mutation:
    @strawberry.mutation
    async def consent(self, info: Info, input: ConsentInput) -> CommandResult:
        request = _request(info, input.idempotency_key, None)
        return await blocking(info.context.app.consent, input.to_domain(), request)

    @strawberry.mutation
    async def screen(self, info: Info, input: ScreeningInput) -> CommandResult:
        return await _change(info, info.context.app.screen, input)

    @strawberry.mutation
    async def record_infusion(self, info: Info, input: InfusionInput) -> CommandResult:
        return await _change(info, info.context.app.record_infusion, input)

    @strawberry.mutation
    async def score_visit(self, info: Info, input: VisitScoreInput) -> CommandResult:
        return await _change(info, info.context.app.score_visit, input)

    @strawberry.mutation
    async def correct_visit(self, info: Info, input: CorrectionInput) -> CommandResult:
        return await _change(info, info.context.app.correct_visit, input, input.reason)

    @strawberry.mutation
    async def report_adverse_event(self, info: Info, input: AdverseEventInput) -> CommandResult:
        return await _change(info, info.context.app.report_adverse_event, input)

    @strawberry.mutation
    async def update_adverse_event(self, info: Info, input: AeUpdateInput) -> CommandResult:
        return await _change(info, info.context.app.update_adverse_event, input)

    @strawberry.mutation
    async def withdraw(self, info: Info, input: WithdrawInput) -> CommandResult:
        return await _change(info, info.context.app.withdraw, input)
