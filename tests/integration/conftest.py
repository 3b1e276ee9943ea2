"""Fixtures the integration tests share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.bootstrap import Service
from tests.integration.stories import unprojected


@pytest.fixture
def quiet(database_url: str, schema: str, tmp_path: Path) -> Iterator[Service]:
    """A service whose read models nobody projects until the test says so (it applies
    documents itself, starts a projector, or runs ``trial project`` beside it)."""
    built = unprojected(database_url, schema, tmp_path)
    yield built
    built.close()
