"""Settings every service shares, read from the environment (names fixed by DOMAIN.md §7)."""

from __future__ import annotations

from pydantic import Field, PostgresDsn
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Base for each service's `Settings`; build it in `bootstrap.py`, never at import time."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092", validation_alias="KAFKA_BOOTSTRAP_SERVERS"
    )
    log_level: str = Field(default="INFO", validation_alias="LOG_LEVEL")
    log_json: bool | None = Field(
        default=None,
        validation_alias="LOG_JSON",
        description="JSON logs; default: JSON unless stderr is a terminal.",
    )


class DatabaseSettings(ServiceSettings):
    """For the services that keep state in PostgreSQL."""

    database_url: PostgresDsn = Field(
        default=PostgresDsn("postgresql://koppel:koppel@127.0.0.1:5432/koppel"),
        validation_alias="DATABASE_URL",
    )

    @property
    def database_dsn(self) -> str:
        """The DSN as asyncpg takes it."""
        return str(self.database_url)
