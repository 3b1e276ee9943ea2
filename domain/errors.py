"""One error hierarchy for the domain (the API maps each class to one ``extensions.code``), and
the checks every input value shares."""

from __future__ import annotations

import dataclasses
import functools
from datetime import date, datetime
from typing import Any


class TrialError(Exception):
    """Base of every error the domain raises on purpose; ``code`` is the contract's error code."""

    code = "INTERNAL"

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"{rule}: {message}")
        self.rule = rule
        self.message = message


class BadInput(TrialError):
    """Malformed or out-of-range input: a PGA of 3.5, an ICE score of 11, a negative lab value."""

    code = "BAD_INPUT"


class DomainRuleViolation(TrialError):
    """A clinical or workflow rule refuses the command; ``rule`` names it."""

    code = "DOMAIN_RULE"


class NotFound(TrialError):
    """A command names a participant or adverse event that does not exist."""

    code = "NOT_FOUND"


class ConcurrencyConflict(TrialError):
    """The participant's version is not the one the command expected, or a concurrent write won."""

    code = "CONCURRENCY_CONFLICT"


class IdempotencyConflict(TrialError):
    """An idempotency key was reused with a different input."""

    code = "IDEMPOTENCY_CONFLICT"


class Forbidden(TrialError):
    """The caller's role or site may not do this."""

    code = "FORBIDDEN"


def require(condition: bool, rule: str, message: str) -> None:
    """Raise ``BadInput(rule, message)`` unless ``condition`` holds."""
    if not condition:
        raise BadInput(rule, message)


def storable(value: str | None, rule: str, name: str) -> None:
    """Refuse text PostgreSQL cannot store (NUL, lone surrogates) before anything is recorded."""
    if value is None:
        return
    require("\x00" not in value, rule, f"{name} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise BadInput(rule, f"{name} is not valid Unicode text") from error


EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)


def within_calendar(value: object) -> None:
    """Refuse dates and instants outside 1900–2199 in any field of a dataclass value: no trial
    record lies there, and date arithmetic (study days, the SAE clock) must never overflow."""
    kind: Any = type(value)
    for name in _field_names(kind):
        item = getattr(value, name)
        if isinstance(item, date):
            day = item.date() if isinstance(item, datetime) else item
            require(
                EARLIEST <= day <= LATEST,
                "DATE_RANGE",
                f"{name} {item.isoformat()} is outside {EARLIEST.year}–{LATEST.year}",
            )
        elif hasattr(type(item), "__dataclass_fields__"):
            within_calendar(item)


@functools.cache
def _field_names(kind: type) -> tuple[str, ...]:
    return tuple(field.name for field in dataclasses.fields(kind))


def check_not_future(when: date, limit: date, what: str) -> None:
    """A clinical date may not lie after today (in the trial's time zone), an instant not after
    now."""
    if when > limit:
        raise DomainRuleViolation("NO_FUTURE_DATE", f"{what} {when.isoformat()} is in the future")


def check_not_before(when: date, earliest: date, rule: str, what: str, earlier: str) -> None:
    """A clinical date may not precede the one it follows (the consent, the screening …)."""
    if when < earliest:
        raise DomainRuleViolation(rule, f"{what} {when} is before the {earlier} {earliest}")


def check_reason(reason: str) -> None:
    """A correction or an update says why."""
    storable(reason, "REASON", "reason")
    if not reason.strip():
        raise DomainRuleViolation("REASON_REQUIRED", "a correction or update needs a reason")
