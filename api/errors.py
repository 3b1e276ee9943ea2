"""Every error leaves the API with the contract's ``extensions.code`` and no internals."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import psycopg
import psycopg_pool
from eventsourcing.persistence import InterfaceError, OperationalError
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionResult, StreamExecutionResult

from domain.errors import TrialError
from infra.resilience import DatabaseUnavailable

log = logging.getLogger("trial.api")

UNAVAILABLE = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    psycopg_pool.PoolTimeout,
    DatabaseUnavailable,
    ConnectionError,
)


VARIABLE_COERCION = re.compile(r"Variable '\$\w+' has invalid ")


def error_code(error: GraphQLError) -> tuple[str | None, str]:
    """The contract's code for an error, and the message a client may see."""
    original = error.original_error
    # A variable value that fails coercion (an unknown enum value, a wrong type, a malformed
    # date) is bad input. graphql-core reports it before execution (no path), wrapping the enum's
    # or scalar's own error, so it is recognised by its message before looking inside.
    if error.path is None and VARIABLE_COERCION.match(error.message):
        return "BAD_INPUT", error.message
    if original is None:
        # Parse and validation errors of the document follow the GraphQL specification.
        return None, error.message
    if isinstance(original, TrialError):
        return original.code, str(original)
    if isinstance(original, UNAVAILABLE):
        log.warning("database unavailable: %s", original)
        return "SERVICE_UNAVAILABLE", "the database is unreachable; retry later"
    if isinstance(original, GraphQLError):
        return error_code(original)
    log.error("internal error", exc_info=original)
    return "INTERNAL", "internal error"


def with_code(error: GraphQLError) -> GraphQLError:
    code, message = error_code(error)
    if code is None:
        return error
    return GraphQLError(
        message=message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions={**(error.extensions or {}), "code": code},
    )


class ErrorCodes(SchemaExtension):
    """Map each raised error to its ``extensions.code``; mask what is not ours."""

    def on_operation(self) -> Iterator[None]:
        yield
        _with_codes(self.execution_context.result)

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        # Over WebSocket each result (a subscription's push, a query's answer) is sent before
        # the operation ends, so it is mapped here; mapping twice changes nothing.
        _with_codes(result)
        yield


def _with_codes(result: object) -> None:
    if isinstance(result, GraphQLExecutionResult | ExecutionResult) and result.errors:
        result.errors = [with_code(error) for error in result.errors]
