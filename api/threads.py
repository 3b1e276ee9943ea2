"""Blocking work (database calls) off the event loop."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import ParamSpec, TypeVar

import anyio.to_thread

P = ParamSpec("P")
T = TypeVar("T")


async def blocking(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run database work in a worker thread so the event loop keeps serving others."""
    return await anyio.to_thread.run_sync(partial(function, *args, **kwargs))
