"""Where a read of a read model goes, given what the last checks found of each standby: the
first standby up and within the allowed lag, else the primary; a standby that fails a read is
set aside and the primary answers. A point-in-time read goes to that standby only once it holds
the events the primary had recorded when the read began. (The standbys themselves:
tests/integration/test_standby.py.)"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import psycopg
import pytest

from infra import read_databases
from infra.read_databases import STANDBY_TIMEOUT_S, ReadDatabase, ReadRouter
from infra.resilience import DatabaseUnavailable, current_deadline
from projections.store import ReadModelStore

LOST = psycopg.OperationalError("the server closed the connection")
NO_CONNECTION = DatabaseUnavailable(2)  # the pool had none for the read within its bound


class Store:
    """A read model's store that answers with its own name, or fails."""

    def __init__(self, name: str, fails: Exception | None = None) -> None:
        self.name, self.fails = name, fails

    def documents(self) -> str:
        if self.fails:
            raise self.fails
        return self.name


class App:
    """A database's application, as a point-in-time read sees it: its events' head, and its
    name (or a failure) for the read."""

    def __init__(self, name: str, head: int = 0, fails: Exception | None = None) -> None:
        self.name, self.fails = name, fails
        self.recorder = SimpleNamespace(max_notification_id=lambda: self.check() or head)

    def check(self) -> None:
        if self.fails:
            raise self.fails


def _standby(
    name: str,
    *,
    up: bool = True,
    lag_s: float = 0.0,
    fails: Exception | None = None,
    head: int = 0,
) -> Any:
    stores = cast(dict[str, ReadModelStore], {"participant_status": Store(name, fails)})
    app = cast(Any, App(name, head, fails))
    return ReadDatabase(name, app, stores, up=up, in_recovery=True, lag_s=lag_s)


def _router(*standbys: ReadDatabase, max_lag_s: float = 5.0) -> ReadRouter:
    primary = cast(dict[str, ReadModelStore], {"participant_status": Store("primary")})
    return ReadRouter(cast(Any, App("primary", head=10)), primary, standbys, max_lag_s)


def _read(router: ReadRouter) -> str:
    return router.read("participant_status", lambda store: cast(Any, store).documents())


def test_without_standbys_every_read_goes_to_the_primary() -> None:
    assert _read(_router()) == "primary"


def test_a_read_goes_to_the_first_standby_up_and_within_the_allowed_lag() -> None:
    router = _router(
        _standby("down", up=False), _standby("behind", lag_s=6.0), _standby("fit", lag_s=4.9)
    )

    assert _read(router) == "fit"


@pytest.mark.parametrize("lag_s", [5.1, 600.0])
def test_a_standby_further_behind_than_allowed_is_passed_over(lag_s: float) -> None:
    assert _read(_router(_standby("behind", lag_s=lag_s))) == "primary"


@pytest.mark.parametrize("error", [LOST, NO_CONNECTION])
def test_a_standby_that_fails_a_read_is_set_aside_and_the_primary_answers(
    error: Exception,
) -> None:
    failing = _standby("failing", fails=error)
    router = _router(failing)

    assert _read(router) == "primary"
    assert failing.up is False and str(error) in (failing.error or "")
    assert _read(router) == "primary"  # until a check finds it fit again


def test_a_standby_read_waits_for_connections_within_the_standbys_own_bound() -> None:
    router = _router(_standby("fit"))

    bound = router.read("participant_status", lambda store: current_deadline())

    assert bound is not None and bound.seconds == STANDBY_TIMEOUT_S
    assert current_deadline() is None  # the caller's bound is restored


def _replay(router: ReadRouter, head: int) -> str:
    """A point-in-time read begun when the primary's head is ``head``."""
    router.primary_app = cast(Any, App("primary", head=head))
    return router.replay(lambda app, stores: cast(Any, app).name)


def test_a_point_in_time_read_goes_to_a_fit_standby_that_holds_the_primarys_head() -> None:
    router = _router(_standby("behind", lag_s=6.0, head=10), _standby("fit", head=12))

    assert _replay(router, 10) == "fit"


@pytest.mark.parametrize("error", [LOST, NO_CONNECTION])
def test_a_standby_that_fails_a_point_in_time_read_is_set_aside(error: Exception) -> None:
    failing = _standby("failing", fails=error, head=10)
    router = _router(failing)

    assert _replay(router, 10) == "primary"
    assert failing.up is False and str(error) in (failing.error or "")


def test_a_standby_lagging_more_than_its_wait_is_not_waited_for_by_a_point_in_time_read() -> None:
    lagging = _standby("lagging", lag_s=STANDBY_TIMEOUT_S + 1, head=10)
    router = _router(lagging)

    assert _read(router) == "lagging"  # within TRIAL_READ_MAX_LAG_S: its read models serve
    assert _replay(router, 10) == "primary"


def test_a_standby_that_does_not_reach_the_head_in_time_is_not_waited_for_until_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(read_databases, "STANDBY_TIMEOUT_S", 0.05)
    short = _standby("short", head=9)
    router = _router(short)
    assert _replay(router, 10) == "primary"
    assert short.up is True  # lagging, not failing: its read models still serve
    monkeypatch.setattr(read_databases, "_holds", lambda app, head: pytest.fail("waited again"))

    assert _replay(router, 10) == "primary"
    short.behind = False  # what a check that finds it up does
    monkeypatch.undo()
    assert _replay(router, 9) == "short"


def test_without_a_fit_standby_a_point_in_time_read_does_not_ask_the_primary_for_its_head() -> None:
    router = _router(_standby("down", up=False))
    router.primary_app = cast(Any, App("primary", fails=True))  # its head would raise

    assert router.replay(lambda app, stores: cast(Any, app).name) == "primary"
