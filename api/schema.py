"""The GraphQL schema: thin resolvers — parse, one application call, map."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any, ParamSpec, TypeVar
from uuid import UUID

import anyio.to_thread
import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
)
from strawberry.extensions.base_extension import SchemaExtension

from api.context import Info
from api.enums import ParticipantStatus
from api.errors import ErrorCodes
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
from api.types import CommandResult, Participant
from domain.application import Request
from domain.errors import BadInput
from domain.participant import participant_id
from domain.views import participant_view

P = ParamSpec("P")
T = TypeVar("T")


async def blocking(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run database work in a worker thread so the event loop keeps serving others."""
    return await anyio.to_thread.run_sync(partial(function, *args, **kwargs))


def _request(info: Info, idempotency_key: str | None, expected_version: int | None) -> Request:
    return Request(info.context.principal.actor, idempotency_key, expected_version)


def _participant(
    info: Info, pid: UUID, *, as_of: datetime | None = None, at_version: int | None = None
) -> Participant | None:
    principal = info.context.principal
    if as_of is not None and as_of.tzinfo is None:
        raise BadInput("AS_OF", "asOf needs a UTC offset")
    if at_version is not None and at_version < 0:
        raise BadInput("AT_VERSION", f"atVersion {at_version} is negative")
    participant = info.context.app.participant(pid, at_version=at_version, as_of=as_of)
    if participant is None:
        return None
    principal.check_read(participant.site)
    reference = as_of or info.context.now()
    view = participant_view(participant, reference, as_of)
    return Participant.of(view, pii=principal.sees_pii)


def _participants(
    info: Info, site: str | None, status: ParticipantStatus | None
) -> list[Participant]:
    principal = info.context.principal
    if site is not None:
        principal.check_read(site)
    app = info.context.app
    now = info.context.now()
    found = []
    for pid in app.participant_ids():
        participant = app.participant(pid)
        if participant is None or not principal.can_read(participant.site):
            continue
        if site is not None and participant.site != site:
            continue
        if status is not None and participant.status is not status:
            continue
        found.append(Participant.of(participant_view(participant, now), pii=principal.sees_pii))
    return found


@strawberry.type
class Query:
    @strawberry.field
    async def participant(
        self,
        info: Info,
        id: strawberry.ID,
        as_of: datetime | None = None,
        at_version: int | None = None,
    ) -> Participant | None:
        pid = parse_participant_id(id)
        return await blocking(_participant, info, pid, as_of=as_of, at_version=at_version)

    @strawberry.field
    async def participant_by_subject(
        self, info: Info, subject_id: str, as_of: datetime | None = None
    ) -> Participant | None:
        pid = participant_id(subject_id.strip())
        return await blocking(_participant, info, pid, as_of=as_of)

    @strawberry.field
    async def participants(
        self, info: Info, site: str | None = None, status: ParticipantStatus | None = None
    ) -> list[Participant]:
        return await blocking(_participants, info, site, status)


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def consent(self, info: Info, input: ConsentInput) -> CommandResult:
        request = _request(info, input.idempotency_key, None)
        return CommandResult.of(
            await blocking(info.context.app.consent, input.to_domain(), request)
        )

    @strawberry.mutation
    async def screen(self, info: Info, input: ScreeningInput) -> CommandResult:
        request = _request(info, input.idempotency_key, input.expected_version)
        pid = parse_participant_id(input.participant_id)
        return CommandResult.of(
            await blocking(info.context.app.screen, pid, input.to_domain(), request)
        )

    @strawberry.mutation
    async def record_infusion(self, info: Info, input: InfusionInput) -> CommandResult:
        request = _request(info, input.idempotency_key, input.expected_version)
        pid = parse_participant_id(input.participant_id)
        return CommandResult.of(
            await blocking(info.context.app.record_infusion, pid, input.to_domain(), request)
        )

    @strawberry.mutation
    async def score_visit(self, info: Info, input: VisitScoreInput) -> CommandResult:
        request = _request(info, input.idempotency_key, input.expected_version)
        pid = parse_participant_id(input.participant_id)
        return CommandResult.of(
            await blocking(info.context.app.score_visit, pid, input.to_domain(), request)
        )

    @strawberry.mutation
    async def correct_visit(self, info: Info, input: CorrectionInput) -> CommandResult:
        request = _request(info, input.idempotency_key, input.score.expected_version)
        pid = parse_participant_id(input.participant_id)
        score = input.to_domain()
        return CommandResult.of(
            await blocking(info.context.app.correct_visit, pid, score, input.reason, request)
        )

    @strawberry.mutation
    async def report_adverse_event(self, info: Info, input: AdverseEventInput) -> CommandResult:
        request = _request(info, input.idempotency_key, input.expected_version)
        pid = parse_participant_id(input.participant_id)
        report = input.to_domain()
        return CommandResult.of(
            await blocking(info.context.app.report_adverse_event, pid, report, request)
        )

    @strawberry.mutation
    async def update_adverse_event(self, info: Info, input: AeUpdateInput) -> CommandResult:
        request = _request(info, input.idempotency_key, input.expected_version)
        pid = parse_participant_id(input.participant_id)
        update = input.to_domain()
        return CommandResult.of(
            await blocking(info.context.app.update_adverse_event, pid, update, request)
        )

    @strawberry.mutation
    async def withdraw(self, info: Info, input: WithdrawInput) -> CommandResult:
        request = _request(info, input.idempotency_key, input.expected_version)
        pid = parse_participant_id(input.participant_id)
        return CommandResult.of(
            await blocking(info.context.app.withdraw, pid, input.to_domain(), request)
        )


MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 5000


class TrialSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Refused commands are answers, not faults: ErrorCodes logs the unexpected errors."""


def build_schema(*, introspection: bool = True) -> strawberry.Schema:
    """The schema with error codes and limits on depth, aliases and tokens."""
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        ErrorCodes,
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    return TrialSchema(query=Query, mutation=Mutation, extensions=extensions)
