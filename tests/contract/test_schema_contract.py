"""The served schema keeps every name of the published contract (docs/schema.graphql).

The contract is a copy of the sponsors' schema kept in the repository. Root fields that later
issues serve are listed in NOT_YET_SERVED; the test also fails when one of them appears, so
the list can only shrink.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
)

from api.schema import build_schema as build_served_schema

CONTRACT = Path(__file__).resolve().parents[2] / "docs" / "schema.graphql"

# (type, field) pairs of the contract that the read-side and audit issues will serve.
NOT_YET_SERVED: set[tuple[str, str]] = set()
# Types reachable only through the root fields above.
TYPES_OF_NOT_YET_SERVED: set[str] = set()


def contract() -> GraphQLSchema:
    return build_schema(CONTRACT.read_text())


def served() -> GraphQLSchema:
    return build_served_schema()._schema


def contract_types() -> list[GraphQLNamedType]:
    return [
        t
        for name, t in sorted(contract().type_map.items())
        if not name.startswith("__") and name not in TYPES_OF_NOT_YET_SERVED
    ]


def _kind(named: GraphQLNamedType) -> str:
    kinds = (GraphQLEnumType, GraphQLInputObjectType, GraphQLObjectType)
    return next((kind.__name__ for kind in kinds if isinstance(named, kind)), "scalar")


def test_not_yet_served_list_shrinks_when_a_later_issue_serves_a_type() -> None:
    served_types = set(served().type_map)

    assert not (TYPES_OF_NOT_YET_SERVED - {"Role", "JSON"}) & served_types


@pytest.mark.parametrize("expected", contract_types(), ids=lambda t: t.name)
def test_served_schema_keeps_contract_type_when_it_is_published(
    expected: GraphQLNamedType,
) -> None:
    actual = served().type_map.get(expected.name)

    assert actual is not None, f"type {expected.name} is missing"
    assert _kind(actual) == _kind(expected), f"{expected.name} changed kind"
    if isinstance(expected, GraphQLEnumType):
        assert isinstance(actual, GraphQLEnumType)
        assert set(expected.values) <= set(actual.values)
    if isinstance(expected, GraphQLObjectType | GraphQLInputObjectType):
        assert isinstance(actual, GraphQLObjectType | GraphQLInputObjectType)
        for name, field in expected.fields.items():
            if (expected.name, name) in NOT_YET_SERVED:
                assert name not in actual.fields, f"{expected.name}.{name} is served: update"
                continue
            assert name in actual.fields, f"{expected.name}.{name} is missing"
            assert str(actual.fields[name].type) == str(field.type), f"{expected.name}.{name}"
            if isinstance(expected, GraphQLObjectType):
                assert isinstance(actual, GraphQLObjectType)
                expected_args = field.args  # type: ignore[union-attr]
                actual_args = actual.fields[name].args
                for arg_name, arg in expected_args.items():
                    assert arg_name in actual_args, f"{expected.name}.{name}({arg_name})"
                    assert str(actual_args[arg_name].type) == str(arg.type)
