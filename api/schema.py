"""The GraphQL schema: queries, mutations and subscriptions with the API's extensions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.extensions.base_extension import SchemaExtension
from strawberry.tools import merge_types

from api import enums
from api.access_log import AccessLogQuery
from api.audit import AuditQuery
from api.errors import ErrorCodes
from api.mutations import Mutation
from api.push_once import SharedExecutor
from api.queries import Query
from api.scalars import SCALAR_OVERRIDES
from api.subscriptions import Subscription

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 5000
CACHED_DOCUMENTS = 128  # distinct query texts whose parse and validation are remembered

# The depth and alias limits' validation rules, made once: each QueryDepthLimiter or
# MaxAliasesLimiter makes a new rule class, and a new class per request would make every
# request a miss in the validation cache, whose key includes the rules.
LIMIT_RULES = [
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
]


class TrialSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Refused commands are answers, not faults: ErrorCodes logs the unexpected errors."""


def build_schema(*, introspection: bool = True) -> strawberry.Schema:
    """The schema with error codes and limits on depth, aliases and tokens.

    A document's parse and validation are cached by its text (LRU, ``CACHED_DOCUMENTS``):
    clients send the same few documents with different variables, and validating one costs
    more CPU than the command it carries. A document over the token limit fails to parse and
    is never cached, so the limit holds for every request."""
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        ErrorCodes,
        lambda: AddValidationRules(LIMIT_RULES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: ParserCache(maxsize=CACHED_DOCUMENTS),
        lambda: ValidationCache(maxsize=CACHED_DOCUMENTS),
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    enums.register()
    query = merge_types("Query", (Query, AccessLogQuery, AuditQuery))
    return TrialSchema(
        query=query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        scalar_overrides=SCALAR_OVERRIDES,
        execution_context_class=SharedExecutor,
    )
