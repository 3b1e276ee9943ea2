"""Clinical rules of the CHT101 protocol as pure functions (clinical-rules.md).

No I/O and no eventsourcing import here: every function maps recorded inputs to a derived value.
"""

RULES_VERSION = "2026.1"
