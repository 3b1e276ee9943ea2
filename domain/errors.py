"""One error hierarchy for the domain; the API maps each class to one ``extensions.code``."""

from __future__ import annotations


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


def require(condition: bool, rule: str, message: str) -> None:
    """Raise ``BadInput(rule, message)`` unless ``condition`` holds."""
    if not condition:
        raise BadInput(rule, message)


class Forbidden(TrialError):
    """The caller's role or site may not do this."""

    code = "FORBIDDEN"
