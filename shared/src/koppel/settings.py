"""Settings every service shares, read from the environment (names fixed by DOMAIN.md §7)."""

from __future__ import annotations

import sys
from typing import TypeVar

from pydantic import Field, PostgresDsn, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from koppel.secret_policy import ENVIRONMENT_VARIABLE, Environment


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

    # Production unless said otherwise: secrets are then checked (koppel.secret_policy).
    environment: Environment = Field(
        default=Environment.PRODUCTION,
        validation_alias=ENVIRONMENT_VARIABLE,
        description="production (default) or development (accepts development defaults).",
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


SettingsT = TypeVar("SettingsT", bound=BaseSettings)


def describe_settings_error(error: ValidationError) -> str:
    """One line per bad variable, named as the operator set it; values are never shown."""
    lines = []
    for problem in error.errors(include_input=False, include_url=False):
        message = problem["msg"].removeprefix("Value error, ")
        name = ".".join(str(part) for part in problem["loc"])
        lines.append(f"{name}: {message}" if name else message)
    return "; ".join(lines)


def settings_from_environment(cls: type[SettingsT], program: str) -> SettingsT:
    """Build `cls` from the environment, or exit with a one-line message (no traceback).

    A misconfigured container should say what to fix in its first log line, not bury it
    in a stack trace, and must not echo a secret it was given.
    """
    try:
        return cls()
    except ValidationError as error:
        sys.exit(f"{program}: invalid configuration: {describe_settings_error(error)}")
