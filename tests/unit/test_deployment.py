"""The Docker deployment files stay consistent with the service's configuration."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_compose_file_configures_the_service_through_the_database_url() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())

    api = compose["services"]["api"]
    db = compose["services"]["db"]

    assert api["environment"]["TRIAL_DATABASE_URL"].startswith("postgresql://trial:trial@db:5432/")
    assert db["environment"]["POSTGRES_DB"] in api["environment"]["TRIAL_DATABASE_URL"]
    assert api["depends_on"]["db"]["condition"] == "service_healthy"


def test_dockerfile_serves_the_api_on_all_interfaces() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert 'CMD ["trial", "serve", "--host", "0.0.0.0", "--port", "8000"]' in dockerfile


def test_compose_file_runs_a_hot_standby_and_an_api_reading_from_it() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    standby, reader, api = services["db-standby"], services["api-reader"], services["api"]

    assert "pg_basebackup -h db -U trial" in standby["command"]
    assert "-R -X stream" in standby["command"]
    assert "hot_standby=on" in standby["command"]
    assert any("allow-replication.sh" in volume for volume in services["db"]["volumes"])
    assert (ROOT / "deploy" / "allow-replication.sh").read_text().count("replication") >= 1
    assert reader["environment"]["TRIAL_READ_DATABASE_URL"].startswith(
        "postgresql://trial:trial@db-standby:5432/"
    )
    assert reader["environment"]["TRIAL_DATABASE_URL"] == api["environment"]["TRIAL_DATABASE_URL"]
    assert reader["depends_on"]["db-standby"]["condition"] == "service_healthy"
