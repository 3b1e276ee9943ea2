"""Configuration from the environment, read once by the composition root."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from domain.rules.schedule import DEFAULT_TIME_ZONE

DEFAULT_DATA_DIR = Path("var")


@dataclass(frozen=True)
class Settings:
    """Everything the service is configured with; see the README's Configuration section."""

    database_url: str | None
    data_dir: Path
    jwt_secret: str | None
    time_zone: str
    environment: str
    introspection: bool
    allowed_origins: tuple[str, ...]
    database_schema: str | None = None  # a PostgreSQL schema other than the URL's default
    cipher_key: str | None = None  # base64 AES key: event payloads are encrypted at rest
    seal_interval_s: float = 300.0  # `trial serve` seals the streams' heads this often; 0: never
    # permessage-deflate on subscriptions: a zlib context per connection and a compression per
    # push per subscriber; off, 1,000 subscribers get each push sooner and cost ~40 MB less.
    websocket_compression: bool = False
    # Hot standbys the API reads its read models from (infra.read_databases); none: the primary.
    read_database_urls: tuple[str, ...] = ()
    read_max_lag_s: float = 30.0  # a standby further behind than this is not read from

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        environment = env.get("TRIAL_ENV", "development").strip().lower()
        introspection = env.get("TRIAL_INTROSPECTION")
        origins = env.get("TRIAL_ALLOWED_ORIGINS", "http://localhost,http://127.0.0.1")
        return cls(
            database_url=env.get("TRIAL_DATABASE_URL") or None,
            data_dir=Path(env.get("TRIAL_DATA_DIR") or DEFAULT_DATA_DIR),
            jwt_secret=env.get("TRIAL_JWT_SECRET") or None,
            time_zone=env.get("TRIAL_TIME_ZONE") or DEFAULT_TIME_ZONE,
            environment=environment,
            introspection=(
                environment != "production" if introspection is None else _on(introspection)
            ),
            allowed_origins=tuple(o.strip() for o in origins.split(",") if o.strip()),
            database_schema=env.get("TRIAL_DATABASE_SCHEMA") or None,
            cipher_key=env.get("TRIAL_CIPHER_KEY") or None,
            seal_interval_s=float(env.get("TRIAL_SEAL_INTERVAL_S") or 300.0),
            websocket_compression=_on(env.get("TRIAL_WS_COMPRESSION", "off")),
            read_database_urls=tuple(
                url.strip()
                for url in (env.get("TRIAL_READ_DATABASE_URL") or "").split(",")
                if url.strip()
            ),
            read_max_lag_s=float(env.get("TRIAL_READ_MAX_LAG_S") or 30.0),
        )


def _on(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")
