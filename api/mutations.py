"""The contract's mutations: parse the input, one application call, map the result."""

from __future__ import annotations

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


def _request(info: Info, idempotency_key: str | None, expected_version: int | None) -> Request:
    return Request(info.context.principal.actor, idempotency_key, expected_version)


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def consent(self, info: Info, input: ConsentInput) -> CommandResult:
        request = _request(info, input.idempotency_key, None)
        return await blocking(info.context.app.consent, input.to_domain(), request)

    @strawberry.mutation
    async def screen(self, info: Info, input: ScreeningInput) -> CommandResult:
        request = _request(info, input.idempotency_key, input.expected_version)
        pid = parse_participant_id(input.participant_id)
        return await blocking(info.context.app.screen, pid, input.to_domain(), request)

    @strawberry.mutation
    async def record_infusion(self, info: Info, input: InfusionInput) -> CommandResult:
        request = _request(info, input.idempotency_key, input.expected_version)
        pid = parse_participant_id(input.participant_id)
        return await blocking(info.context.app.record_infusion, pid, input.to_domain(), request)

    @strawberry.mutation
    async def score_visit(self, info: Info, input: VisitScoreInput) -> CommandResult:
        request = _request(info, input.idempotency_key, input.expected_version)
        pid = parse_participant_id(input.participant_id)
        return await blocking(info.context.app.score_visit, pid, input.to_domain(), request)

    @strawberry.mutation
    async def correct_visit(self, info: Info, input: CorrectionInput) -> CommandResult:
        request = _request(info, input.idempotency_key, input.score.expected_version)
        pid = parse_participant_id(input.participant_id)
        score = input.to_domain()
        return await blocking(info.context.app.correct_visit, pid, score, input.reason, request)

    @strawberry.mutation
    async def report_adverse_event(self, info: Info, input: AdverseEventInput) -> CommandResult:
        request = _request(info, input.idempotency_key, input.expected_version)
        pid = parse_participant_id(input.participant_id)
        report = input.to_domain()
        return await blocking(info.context.app.report_adverse_event, pid, report, request)

    @strawberry.mutation
    async def update_adverse_event(self, info: Info, input: AeUpdateInput) -> CommandResult:
        request = _request(info, input.idempotency_key, input.expected_version)
        pid = parse_participant_id(input.participant_id)
        update = input.to_domain()
        return await blocking(info.context.app.update_adverse_event, pid, update, request)

    @strawberry.mutation
    async def withdraw(self, info: Info, input: WithdrawInput) -> CommandResult:
        request = _request(info, input.idempotency_key, input.expected_version)
        pid = parse_participant_id(input.participant_id)
        return await blocking(info.context.app.withdraw, pid, input.to_domain(), request)
