"""The GraphQL schema: queries, mutations and subscriptions with the API's extensions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
)
from strawberry.extensions.base_extension import SchemaExtension
from strawberry.tools import merge_types

from api.access_log import AccessLogQuery
from api.audit import AuditQuery
from api.errors import ErrorCodes
from api.mutations import Mutation
from api.queries import Query
from api.subscriptions import Subscription

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
    query = merge_types("Query", (Query, AccessLogQuery, AuditQuery))
    return TrialSchema(
        query=query, mutation=Mutation, subscription=Subscription, extensions=extensions
    )
