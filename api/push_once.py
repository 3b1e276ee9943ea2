"""Push once: subscribers pushed the same value share one execution and one encoding of it.

A change to a participant is read once per process, as each role may see it (``SharedReads``
in ``api.subscriptions``): every subscriber with the same masking is pushed the very same
object. Executing the subscription's selection set on it, and encoding the result as JSON, gave
the same answer for each of them, computed a thousand times for a thousand subscribers. Here:

- ``share(value)`` marks a pushed object as one that does not depend on who receives it
  (masking and the site check are done before, per subscriber);
- ``SharedExecutor`` executes a subscription event whose payload is shared once per document
  operation and variables, and hands every subscriber the same result;
- ``encode_next`` writes a ``next`` message around the result's data encoded once.

What stays per subscriber: its site check, its read-access log row and its message id. The
caches hold the last ``SIZE`` values, strongly, so an object's identity cannot be reused while
a result is kept for it.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any, TypeVar

from graphql import OperationType
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

T = TypeVar("T")
SIZE = 512


class _Lru:
    def __init__(self, size: int = SIZE) -> None:
        self.size = size
        self.items: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable) -> Any:
        return self.items.get(key)

    def put(self, key: Hashable, value: Any) -> None:
        self.items[key] = value
        while len(self.items) > self.size:
            self.items.popitem(last=False)


class Counters:
    """How often an execution and an encoding were made, and how often reused (tests, bench)."""

    def __init__(self) -> None:
        self.executed = self.reused_executions = self.encoded = self.reused_encodings = 0


_shared = _Lru()  # id(value) -> value: the payloads marked shared
_results = _Lru()  # (id(value), id(operation), variables) -> (value, operation, result)
_encodings = _Lru()  # id(data) -> (data, its JSON)
counters = Counters()


def share(value: T) -> T:
    """Mark ``value`` as a push whose execution does not depend on who receives it."""
    _shared.put(id(value), value)
    return value


class SharedExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, executing a shared subscription payload once per operation
    and variables."""

    def build_per_event_executor(self, payload: Any) -> Any:
        """For a payload executed already with this operation and variables, its result
        (without copying the executor for it); else graphql-core's per-event executor."""
        if self.operation.operation is OperationType.SUBSCRIPTION:
            cached = _results.get(self._key(payload))
            if cached is not None and cached[0] is payload and cached[1] is self.operation:
                counters.reused_executions += 1
                return _Executed(cached[2])
        return super().build_per_event_executor(payload)

    def execute_operation(self, serially: bool | None = None) -> Any:
        payload = self.root_value
        if (
            self.operation.operation is not OperationType.SUBSCRIPTION
            or _shared.get(id(payload)) is not payload
        ):
            return super().execute_operation(serially)
        counters.executed += 1
        result = super().execute_operation(serially)
        if self.is_awaitable(result):
            result = asyncio.ensure_future(result)
        _results.put(self._key(payload), (payload, self.operation, result))
        return _Executed(result).execute_operation(serially)

    def _key(self, payload: Any) -> Hashable:
        # A subscription's variables are its own for its lifetime: encoded once, not per push.
        variables: str | None = self.__dict__.get("_variables")
        if variables is None:
            variables = json.dumps(self.variable_values.coerced, sort_keys=True, default=str)
            self.__dict__["_variables"] = variables
        return (id(payload), id(self.operation), variables)


class _Executed:
    """A subscription event executed already: its result, for one more subscriber."""

    def __init__(self, result: Any) -> None:
        self.result = result

    def execute_operation(self, serially: bool | None = None) -> Any:
        if isinstance(self.result, asyncio.Future):
            return _shielded(self.result)
        _mark_data(self.result)
        return self.result


async def _shielded(result: asyncio.Future[Any]) -> Any:
    done = await asyncio.shield(result)
    _mark_data(done)
    return done


def _mark_data(result: Any) -> None:
    data = getattr(result, "data", None)
    if data is not None and not getattr(result, "errors", None):
        _shared.put(id(data), data)


def encode_next(message: Any) -> str | None:
    """The JSON of a ``next`` message whose data is a shared result's, its data encoded once;
    None for any other message."""
    if not isinstance(message, dict) or message.get("type") != "next":
        return None
    payload = message.get("payload")
    if not isinstance(payload, dict) or payload.keys() != {"data"}:
        return None
    data = payload["data"]
    if _shared.get(id(data)) is not data:
        return None
    cached = _encodings.get(id(data))
    encoded: str
    if cached is not None and cached[0] is data:
        counters.reused_encodings += 1
        encoded = cached[1]
    else:
        counters.encoded += 1
        encoded = json.dumps(data, separators=(",", ":"))
        _encodings.put(id(data), (data, encoded))
    head = json.dumps({"id": message["id"], "type": "next"}, separators=(",", ":"))
    return head[:-1] + ',"payload":{"data":' + encoded + "}}"
