"""The in-process projector restarts its runners by itself after the database dropped them."""

from __future__ import annotations

import psycopg
import pytest

from infra.bootstrap import Service
from tests.integration.stories import all_documents, all_replayed, enrol, wait_for_head


def test_read_models_catch_up_when_the_database_dropped_every_projector_connection(
    service: Service, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    enrol(service.app, "NJ01-031")
    wait_for_head(service)

    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'"
        )
    enrol(service.app, "NJ01-032")
    wait_for_head(service, timeout=60)

    assert all_documents(service) == all_replayed(service.app)
    assert "restarting" in caplog.text  # the runners did stop, and were restarted
