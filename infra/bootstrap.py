"""The one composition root: settings → database → application; nothing connects at import."""

from __future__ import annotations

import secrets
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg
from psycopg import sql

from domain.application import TrialApplication, utc_now
from infra.access_log import AccessLog
from infra.config import Settings
from infra.database import EmbeddedPostgres, eventsourcing_env
from infra.encryption import CipherKeyError, check_readable, cipher_env
from infra.read_databases import ReadRouter
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
    access_log: AccessLog
    jwt_secret: str
    reads: ReadRouter  # where the read models are read: hot standbys, else the primary
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
        self.reads.close()
        self.app.close()
        if self.embedded is not None:
            self.embedded.stop()

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


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
        # Processes starting together (API, projector) must not create the same tables at once:
        # PostgreSQL answers "tuple concurrently updated" to concurrent CREATE ... IF NOT EXISTS.
        with creating_tables(database_url, schema or "public"):
            app = application(env, settings, clock)
            read_models = ReadModels(app)
            access_log = AccessLog.open(app)
        secret = jwt_secret(settings)
        reads = ReadRouter.open(
            app, read_models.stores, settings.read_database_urls, settings.read_max_lag_s
        )
    except BaseException:
        if embedded is not None:
            embedded.stop()
        raise
    return Service(
        settings, database_url, env, app, read_models, access_log, secret, reads, embedded
    )


def application(
    env: dict[str, str], settings: Settings, clock: Callable[[], datetime]
) -> TrialApplication:
    """The application, its payloads encrypted when TRIAL_CIPHER_KEY is set; ``env`` gets the
    cipher settings too, so that the projector's runners decrypt with the same key."""
    try:
        env.update(cipher_env(settings.cipher_key))
    except CipherKeyError as error:
        raise ConfigurationError(str(error)) from error
    app = TrialApplication(env, clock=clock, time_zone=settings.time_zone)
    try:
        check_readable(app, settings.cipher_key)
    except CipherKeyError as error:
        app.close()
        raise ConfigurationError(str(error)) from error
    return app


@contextmanager
def creating_tables(database_url: str, schema: str) -> Iterator[None]:
    """Hold a session advisory lock, per schema, while this process creates its tables."""
    key = zlib.crc32(f"trial-create-tables:{schema}".encode())
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (key,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))


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
