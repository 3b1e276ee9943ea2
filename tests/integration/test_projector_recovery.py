"""The in-process projector restarts its runners by itself after the database dropped them."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.bootstrap import bootstrap
from tests.conftest import settings_for
from tests.integration.stories import (
    all_documents,
    all_replayed,
    drop_connections,
    enrol,
    wait_for_head,
)


def test_read_models_catch_up_when_the_database_dropped_every_projector_connection(
    database_url: str,
    schema: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # libpq names every connection this service opens, so only they are dropped below.
    name = f"recovery-{schema}"
    monkeypatch.setenv("PGAPPNAME", name)
    service = bootstrap(settings_for(database_url, tmp_path), schema=schema)
    try:
        service.start_projector()
        enrol(service.app, "NJ01-031")
        wait_for_head(service)

        dropped = drop_connections(database_url, name)
        enrol(service.app, "NJ01-032")
        wait_for_head(service, timeout=60)

        assert dropped > 0
        assert all_documents(service) == all_replayed(service.app)
        assert "restarting" in caplog.text  # the runners did stop, and were restarted
    finally:
        service.close()
