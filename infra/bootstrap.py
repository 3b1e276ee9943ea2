"""The one composition root: settings → database → application; nothing connects at import."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg
from psycopg import sql

from domain.application import TrialApplication, utc_now
from infra.config import Settings
from infra.database import EmbeddedPostgres, eventsourcing_env
from projections.runner import Projector, ReadModels

RECORDER_TOPIC = "infra.recorder:TrialRecorder"
JWT_SECRET_FILE = "jwt-secret"


class ConfigurationError(RuntimeError):
    """The service cannot start with this configuration; the message says what to set."""


@dataclass
class Service:
    """Everything a process needs, built once; ``close`` releases it."""

    settings: Settings
    database_url: str
    env: dict[str, str]
    app: TrialApplication
    read_models: ReadModels
    jwt_secret: str
    embedded: EmbeddedPostgres | None = None
    closers: list[Callable[[], None]] = field(default_factory=list)

    def start_projector(self) -> Projector:
        """Run every projection in this process until ``close``."""
        projector = Projector(self.env)
        projector.start()
        self.closers.append(projector.stop)
        return projector

    def close(self) -> None:
        for closer in reversed(self.closers):
            closer()
        self.app.close()
        if self.embedded is not None:
            self.embedded.stop()


def bootstrap(
    settings: Settings,
    *,
    schema: str | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> Service:
    """Build the service: start the embedded database if no URL is set, create tables."""
    embedded = None
    database_url = settings.database_url
    if database_url is None:
        embedded = EmbeddedPostgres(settings.data_dir / "pgdata")
        database_url = embedded.start()
    try:
        env = eventsourcing_env(database_url)
        env["APPLICATION_RECORDER_TOPIC"] = RECORDER_TOPIC
        schema = schema or settings.database_schema
        if schema:
            create_schema(database_url, schema)
            env["POSTGRES_SCHEMA"] = schema
        app = TrialApplication(env, clock=clock, time_zone=settings.time_zone)
        read_models = ReadModels(app)
        secret = jwt_secret(settings)
    except BaseException:
        if embedded is not None:
            embedded.stop()
        raise
    return Service(settings, database_url, env, app, read_models, secret, embedded)


def create_schema(database_url: str, schema: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))


def jwt_secret(settings: Settings) -> str:
    """TRIAL_JWT_SECRET, or outside production a development secret kept in the data dir."""
    if settings.jwt_secret:
        return settings.jwt_secret
    if settings.production:
        raise ConfigurationError("TRIAL_JWT_SECRET must be set when TRIAL_ENV=production")
    path: Path = settings.data_dir / JWT_SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
