"""Blocking work (database calls) off the event loop, with a deadline on its database waits."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import ParamSpec, TypeVar

import anyio.to_thread

from infra.resilience import Deadline, run_within

P = ParamSpec("P")
T = TypeVar("T")


async def blocking(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run database work in a worker thread so the event loop keeps serving others.

    From now (waiting for a free worker thread included), the work waits for the database at
    most TRIAL_DATABASE_TIMEOUT; then it fails with ``DatabaseUnavailable``, answered as
    SERVICE_UNAVAILABLE (``infra.resilience``).
    """
    return await within(None, function, *args, **kwargs)


async def within(
    seconds: float | None, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """``blocking`` with a deadline of its own: ``seconds`` instead of TRIAL_DATABASE_TIMEOUT."""
    deadline = Deadline.from_now(seconds)
    work = partial(run_within, deadline, function, *args, **kwargs)
    return await anyio.to_thread.run_sync(work)
