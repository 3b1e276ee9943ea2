"""Frozen view dataclasses to JSON documents and back, guided by their type hints."""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import date, datetime
from enum import Enum
from functools import cache
from typing import Any, TypeVar
from uuid import UUID

T = TypeVar("T")


def to_document(value: Any) -> Any:
    """A JSON-native copy of a view: dates as ISO strings, enums and UUIDs as strings."""
    if isinstance(value, Enum):
        return value.value
    if value is None or isinstance(value, str | int | float):
        return value
    kind: Any = type(value)
    names = _field_names(kind)
    if names is not None:
        return {name: to_document(getattr(value, name)) for name in names}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(key): to_document(item) for key, item in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        return [to_document(item) for item in value]
    return value


@cache
def _field_names(kind: type) -> tuple[str, ...] | None:
    """A dataclass's field names in order; None for any other type."""
    if not dataclasses.is_dataclass(kind):
        return None
    return tuple(f.name for f in dataclasses.fields(kind))


def from_document(kind: type[T], document: Any) -> T:
    """The view of type ``kind`` that ``to_document`` turned into ``document``."""
    return typing.cast(T, _decode(kind, document))


@cache
def _hints(kind: type) -> dict[str, Any]:
    return typing.get_type_hints(kind)


def _decode(kind: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        return _decode(options[0], value)
    if origin is tuple:
        item = typing.get_args(kind)[0]
        return tuple(_decode(item, v) for v in value)
    if origin is list:
        return [_decode(typing.get_args(kind)[0], v) for v in value]
    if origin is dict:
        key_kind, item_kind = typing.get_args(kind)
        return {_decode(key_kind, k): _decode(item_kind, v) for k, v in value.items()}
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        # A key the type no longer has is one a document stored by an earlier version holds
        # (``reporting_overdue`` before it was read at query time): it is passed over.
        hints = _hints(kind)
        return kind(**{name: _decode(hints[name], v) for name, v in value.items() if name in hints})
    if isinstance(kind, type):
        if issubclass(kind, Enum):
            return kind(value)
        if kind is datetime:
            return datetime.fromisoformat(value)
        if kind is date:
            return date.fromisoformat(value)
        if kind is UUID:
            return UUID(value)
    return value
