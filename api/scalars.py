"""The contract's scalars for the domain's own values: an instant is a DateTime served in UTC, a
participant's UUID is an ID. ``api.schema`` overrides strawberry's defaults with these, so the
views' dataclasses serve as they are (``api.types`` registers them)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from strawberry import ID
from strawberry.schema.types.base_scalars import DateTimeDefinition
from strawberry.schema.types.scalar import DEFAULT_SCALAR_REGISTRY


def _in_utc(moment: datetime) -> str:
    """The contract: ISO 8601 with its offset, always returned in UTC."""
    return moment.astimezone(UTC).isoformat()


SCALAR_OVERRIDES: dict[object, Any] = {
    datetime: replace(DateTimeDefinition, serialize=_in_utc),
    UUID: DEFAULT_SCALAR_REGISTRY[ID],
}
