"""One codec for every payload: domain values to the JSON values events and documents carry.

``encode`` writes a dataclass as an object in field order, an enum as its value, a date or an
instant as ISO 8601 text (with the offset it was given), a set as a sorted list, mappings and
sequences item by item. ``decode(kind, value)`` reads it back by the type hints of ``kind``.
``dumps`` writes the JSON text of ``encode(value)``.

Decoding builds values without running their checks again (``build``): a payload was checked
when it was recorded, and a stream recorded under an earlier rule must replay whatever rule has
tightened since. A key the type no longer has is passed over, and a field the payload lacks takes
the field's default (a field without one is required): what an earlier version stored keeps
reading back.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Callable, Collection, Mapping
from datetime import date, datetime
from enum import Enum
from functools import cache
from typing import Any, TypeVar
from uuid import UUID

import orjson

T = TypeVar("T")
Decoder = Callable[[Any], Any]
Encoder = Callable[[Any], Any]


def encode(value: Any, omit: Collection[str] = ()) -> Any:
    """The JSON value of ``value``; ``omit`` names top-level fields a payload leaves out."""
    names = _field_names(typing.cast(Any, type(value))) if omit else None
    if names is not None:
        return {name: encode(getattr(value, name)) for name in names if name not in omit}
    try:
        encoder = _ENCODERS[type(value)]
    except KeyError:
        encoder = _ENCODERS[type(value)] = _encoder(type(value))
    return encoder(value)


_ENCODERS: dict[type, Encoder] = {}
_PLAIN = frozenset({str, int, float, bool, type(None)})  # their own JSON values


def _encoder(kind: type) -> Encoder:
    """How to encode a value of the type ``kind``: the first of ``encode``'s cases that
    matches, chosen once per type (a derivation encodes a few hundred values a participant)."""
    if kind is type(None) or (issubclass(kind, str | int | float) and not issubclass(kind, Enum)):
        return _same
    if dataclasses.is_dataclass(kind):
        return _dataclass_encoder(kind)
    if issubclass(kind, Enum):
        return _enum_value
    if issubclass(kind, datetime | date):
        return _isoformat
    if issubclass(kind, UUID):
        return str
    if issubclass(kind, Mapping):
        return lambda value: {encode(key): encode(item) for key, item in value.items()}
    if issubclass(kind, frozenset | set):
        return lambda value: sorted(encode(item) for item in value)
    if issubclass(kind, list | tuple):
        return lambda value: [encode(item) for item in value]
    name = kind.__name__

    def refuse(value: Any) -> Any:
        raise TypeError(f"no JSON value for {name}")

    return refuse


def _enum_value(value: Enum) -> Any:
    return value.value


def _isoformat(value: date) -> str:
    return value.isoformat()


def _dataclass_encoder(kind: type) -> Encoder:
    """An encoder compiled for ``kind``: one dictionary display of its fields, as
    ``_dataclass_decoder`` reads them back."""
    entries = [
        f"{name!r}: v if type(v := value.{name}) in plain else encode(v),"
        for name in _field_names(kind) or ()
    ]
    source = "\n".join(["def write(value):", "    return {", *entries, "    }"])
    scope: dict[str, Any] = {"encode": encode, "plain": _PLAIN}
    exec(source, scope)  # the source is made of the type's own field names
    writer: Encoder = scope["write"]
    return writer


def dumps(value: Any) -> str:
    """The JSON text of ``encode(value)``.

    orjson writes dataclasses, enums, UUIDs, tuples and dicts itself, a few times as fast as
    ``encode`` builds their JSON values: it does so for a value whose type (``_native``) holds
    nothing it would write otherwise; dates, instants and sets come back here. Any other value
    is encoded first.
    """
    kind: Any = type(value)
    if not _native(kind):
        return orjson.dumps(encode(value), option=orjson.OPT_NON_STR_KEYS).decode()
    options = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
    return orjson.dumps(value, default=_unnative, option=options).decode()


def _unnative(value: Any) -> Any:
    if isinstance(value, date):  # a datetime too
        return value.isoformat()
    if isinstance(value, frozenset | set):
        return sorted(encode(item) for item in value)
    raise TypeError(f"no JSON value for {type(value).__name__}")


_NATIVE = frozenset({str, int, float, bool, type(None), UUID, date, datetime})


@cache
def _native(kind: Any) -> bool:
    """Whether orjson writes a value of type ``kind`` as ``encode`` does (with ``_unnative``):
    a dataclass of init fields only (``encode`` writes no other), each of such a type; no
    ``Any``; dictionary keys text or enums; enum values text or numbers."""
    origin = typing.get_origin(kind)
    arguments = typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        return all(_native(option) for option in arguments)
    if origin in (tuple, list, frozenset, set):
        return all(_native(item) for item in arguments if item is not Ellipsis)
    if origin is dict:
        key, item = arguments
        return (key is str or _text_or_number_enum(key)) and _native(item)
    if kind in _NATIVE:
        return True
    if not isinstance(kind, type):
        return False
    if issubclass(kind, Enum):
        return _text_or_number_enum(kind)
    if dataclasses.is_dataclass(kind):
        # orjson writes the instance's __dict__ but names starting with "_": those must be the
        # init fields, as encode writes them (no cached property could add to them).
        hints = typing.get_type_hints(kind)
        return (
            "__slots__" not in vars(kind)
            and not any(
                isinstance(attribute, functools.cached_property)
                for cls in kind.__mro__
                for attribute in vars(cls).values()
            )
            and all(
                field.init and not field.name.startswith("_") and _native(hints[field.name])
                for field in dataclasses.fields(kind)
            )
        )
    return False


def _text_or_number_enum(kind: Any) -> bool:
    return (
        isinstance(kind, type)
        and issubclass(kind, Enum)
        and all(type(member.value) in (str, int, float) for member in kind)
    )


def decode(kind: type[T], value: Any) -> T:
    """The value of type ``kind`` that ``encode`` turned into ``value``."""
    key: Any = kind
    decoder = _decoder(key)
    result: T = value if decoder is None or value is None else decoder(value)
    return result


def build(kind: type[T], **values: Any) -> T:
    """A dataclass value from values already checked (or to be taken as recorded): the fields
    given, the defaults for the others, and no ``__post_init__``."""
    key: Any = kind
    defaults, factories = _defaults(key)
    instance = object.__new__(kind)
    instance.__dict__.update(defaults, **{name: make() for name, make in factories.items()})
    instance.__dict__.update(values)
    return instance


@cache
def _field_names(kind: Any) -> tuple[str, ...] | None:
    if not dataclasses.is_dataclass(kind):
        return None
    return tuple(field.name for field in dataclasses.fields(kind) if field.init)


@cache
def _defaults(kind: Any) -> tuple[dict[str, Any], dict[str, Callable[[], Any]]]:
    """The fields' defaults, and the factories of those that get a new value each (a list,
    a dict): one factory call per value built. A field ``__post_init__`` computes cannot be
    built without it: such a type is refused."""
    defaults: dict[str, Any] = {}
    factories: dict[str, Callable[[], Any]] = {}
    for field in dataclasses.fields(kind):
        if field.default is not dataclasses.MISSING:
            defaults[field.name] = field.default
        elif field.default_factory is not dataclasses.MISSING:
            factories[field.name] = field.default_factory
        elif not field.init:
            raise TypeError(f"{kind.__name__}.{field.name} is computed: build cannot make it")
    return defaults, factories


@cache
def _decoder(kind: Any) -> Decoder | None:
    """How to read a JSON value of the type ``kind``; None where the JSON value is the value."""
    origin = typing.get_origin(kind)
    arguments = typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        options = [_decoder(option) for option in arguments if option is not type(None)]
        return None if options[0] is None else _optional(options[0])
    if origin in (frozenset, set):
        item = _decoder(arguments[0]) or _same
        return lambda values: frozenset(map(item, values))
    if origin in (tuple, list):
        item = _decoder(arguments[0]) or _same
        sequence = tuple if origin is tuple else list
        return lambda values: sequence(map(item, values))
    if origin in (dict, Mapping):
        key, item = (_decoder(argument) or _same for argument in arguments)
        return lambda values: {key(k): item(v) for k, v in values.items()}
    if isinstance(kind, type):
        if dataclasses.is_dataclass(kind):
            return _dataclass_decoder(kind)
        if issubclass(kind, Enum):
            return _enum_decoder(kind)
        if kind is datetime:
            return datetime.fromisoformat
        if kind is date:
            return date.fromisoformat
        if kind is UUID:
            return UUID
    return None


def _same(value: Any) -> Any:
    return value


def _optional(item: Decoder) -> Decoder:
    return lambda value: None if value is None else item(value)


def _enum_decoder(kind: type[Enum]) -> Decoder:
    members = kind._value2member_map_

    def read(value: Any) -> Any:
        try:
            return members[value]
        except (KeyError, TypeError):
            return kind(value)  # an alias, or a value no member has: Enum's own answer

    return read


def _dataclass_decoder(kind: type) -> Decoder:
    """A reader compiled for ``kind``, as ``dataclasses`` compiles ``__init__``: one dictionary
    display of its fields, each read with its decoder. A replay reads every event of a stream,
    and a loop over the fields of each value would cost more than the rest of the replay.
    (A dataclass whose fields referred to itself would recurse here; no domain value does.)"""
    hints = typing.get_type_hints(kind)
    defaults, factories = _defaults(kind)
    scope: dict[str, Any] = {
        "new": object.__new__, "kind": kind, "defaults": defaults, "factories": factories,
    }  # fmt: skip
    entries = []
    for index, name in enumerate(_field_names(kind) or ()):
        if name in defaults:
            found = f"get({name!r}, defaults[{name!r}])"
        elif name in factories:
            found = f"(value[{name!r}] if {name!r} in value else factories[{name!r}]())"
        else:
            found = f"value[{name!r}]"
        decoder = _decoder(hints[name])
        if decoder is None:
            entries.append(f"{name!r}: {found},")
        else:
            scope[f"decode_{index}"] = decoder
            entries.append(f"{name!r}: None if (v := {found}) is None else decode_{index}(v),")
    source = "\n".join([
        "def read(value):",
        "    get = value.get",
        "    instance = new(kind)",
        "    instance.__dict__.update({", *(f"        {entry}" for entry in entries), "    })",
        "    return instance",
    ])  # fmt: skip
    exec(source, scope)  # the source is made of the type's own field names
    reader: Decoder = scope["read"]
    return reader
