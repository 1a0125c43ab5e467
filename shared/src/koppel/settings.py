"""Settings every service shares, read from the environment (names fixed by DOMAIN.md §7)."""

from __future__ import annotations

import sys
from typing import Annotated, Any, Self, TypeVar
from urllib.parse import unquote

from pydantic import (
    BeforeValidator,
    Field,
    FilePath,
    PostgresDsn,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from koppel.kafka_clients import KafkaConnection, SaslMechanism, SecurityProtocol, security_problems
from koppel.secret_policy import ENVIRONMENT_VARIABLE, Environment, known_value, read_secret_file

SecretFromFile = Annotated[SecretStr, BeforeValidator(read_secret_file)]
"""A `<NAME>_FILE` variable: it names a file (a mounted secret), the field holds its content."""


class KafkaSettings(BaseSettings):
    """How every Kafka client connects (DOMAIN.md 8.6); the command-line tools read only this."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092", validation_alias="KAFKA_BOOTSTRAP_SERVERS"
    )
    kafka_security_protocol: SecurityProtocol = Field(
        default="PLAINTEXT", validation_alias="KAFKA_SECURITY_PROTOCOL"
    )
    kafka_sasl_mechanism: SaslMechanism | None = Field(
        default=None, validation_alias="KAFKA_SASL_MECHANISM"
    )
    kafka_sasl_username: str | None = Field(default=None, validation_alias="KAFKA_SASL_USERNAME")
    kafka_sasl_password: SecretStr | None = Field(
        default=None, validation_alias="KAFKA_SASL_PASSWORD"
    )
    kafka_sasl_password_file: SecretFromFile | None = Field(
        default=None, validation_alias="KAFKA_SASL_PASSWORD_FILE"
    )
    kafka_ssl_cafile: FilePath | None = Field(default=None, validation_alias="KAFKA_SSL_CAFILE")
    kafka_ssl_certfile: FilePath | None = Field(
        default=None,
        validation_alias="KAFKA_SSL_CERTFILE",
        description="client certificate, for brokers that authenticate clients by TLS",
    )
    kafka_ssl_keyfile: FilePath | None = Field(default=None, validation_alias="KAFKA_SSL_KEYFILE")
    kafka_ssl_check_hostname: bool = Field(
        default=True, validation_alias="KAFKA_SSL_CHECK_HOSTNAME"
    )

    @field_validator(
        "kafka_sasl_mechanism",
        "kafka_sasl_username",
        "kafka_sasl_password",
        "kafka_sasl_password_file",
        "kafka_ssl_cafile",
        "kafka_ssl_certfile",
        "kafka_ssl_keyfile",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        """`KAFKA_SASL_MECHANISM=` (compose's `${VAR:-}`) means not set, not an empty name."""
        return None if value == "" else value

    @model_validator(mode="after")
    def _kafka_security_holds_together(self) -> Self:
        problems = []
        if self.kafka_sasl_password is not None and self.kafka_sasl_password_file is not None:
            problems.append("set KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE, not both")
        problems += security_problems(
            protocol=self.kafka_security_protocol,
            mechanism=self.kafka_sasl_mechanism,
            username=self.kafka_sasl_username,
            password=self.kafka_sasl_password or self.kafka_sasl_password_file,
            tls_files_set=bool(
                self.kafka_ssl_cafile or self.kafka_ssl_certfile or self.kafka_ssl_keyfile
            ),
            keyfile_without_certfile=bool(self.kafka_ssl_keyfile and not self.kafka_ssl_certfile),
        )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def kafka(self) -> KafkaConnection:
        """The connection every Kafka client of the process is built with."""
        return KafkaConnection(
            bootstrap_servers=self.kafka_bootstrap_servers,
            security_protocol=self.kafka_security_protocol,
            sasl_mechanism=self.kafka_sasl_mechanism,
            sasl_username=self.kafka_sasl_username,
            sasl_password=self.kafka_sasl_password or self.kafka_sasl_password_file,
            ssl_cafile=self.kafka_ssl_cafile,
            ssl_certfile=self.kafka_ssl_certfile,
            ssl_keyfile=self.kafka_ssl_keyfile,
            ssl_check_hostname=self.kafka_ssl_check_hostname,
        )


class ServiceSettings(KafkaSettings):
    """Base for each service's `Settings`; build it in `bootstrap.py`, never at import time."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

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

    # The HTTP server (uvicorn), the same for every service; see docs/security.md (HTTP servers).
    http_limit_concurrency: int = Field(
        default=256,
        ge=1,
        validation_alias="HTTP_LIMIT_CONCURRENCY",
        description="Connections and requests in progress at once; beyond it the server"
        " answers 503 at once instead of queueing without bound. Intake buffers each body"
        " (up to 1 MiB), so this also bounds that memory to about 256 MiB.",
    )
    http_keep_alive_seconds: int = Field(
        default=5,
        ge=1,
        le=300,
        validation_alias="HTTP_KEEP_ALIVE_SECONDS",
        description="How long an idle keep-alive connection is held open: a client that"
        " opens connections and goes quiet holds a concurrency slot only this long. Set it"
        " above a load balancer's idle timeout when one sits in front.",
    )
    http_max_header_bytes: int = Field(
        default=16 * 1024,
        ge=1024,
        validation_alias="HTTP_MAX_HEADER_BYTES",
        description="The request line and headers together (h11's max incomplete event"
        " size); a larger head is refused with 400 rather than buffered. 16 KiB holds a"
        " bearer token, a traceparent and ordinary proxy headers many times over.",
    )
    http_shutdown_grace_seconds: int = Field(
        default=20,
        ge=0,
        validation_alias="HTTP_SHUTDOWN_GRACE_SECONDS",
        description="On SIGTERM, how long requests in progress may still finish before"
        " their connections are closed; below Kubernetes' 30 s grace period, so the"
        " service's own shutdown (flushing, draining sends) still fits after it.",
    )


class DatabaseSettings(ServiceSettings):
    """For the services that keep state in PostgreSQL."""

    database_url: PostgresDsn = Field(
        default=PostgresDsn("postgresql://koppel:koppel@127.0.0.1:5432/koppel"),
        validation_alias="DATABASE_URL",
    )

    @model_validator(mode="after")
    def _no_known_database_password(self) -> Self:
        # Outside development the DSN is the operator's: the default one's password is in
        # this repository. A DSN without a password (certificate or peer authentication)
        # is fine; one with a placeholder or published password is not.
        if self.environment is Environment.DEVELOPMENT:
            return self
        if "database_url" not in self.model_fields_set:
            raise ValueError(f"DATABASE_URL must be set unless {ENVIRONMENT_VARIABLE}=development")
        password = self.database_url.hosts()[0].get("password")
        reason = None if password is None else known_value(unquote(password))
        if reason is not None:
            raise ValueError(f"DATABASE_URL's password {reason}")
        return self

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


def kafka_from_environment(program: str, bootstrap_servers: str) -> KafkaConnection:
    """A command-line tool's connection: brokers from its flag, security from the environment."""
    settings = settings_from_environment(KafkaSettings, program)
    return settings.kafka.model_copy(update={"bootstrap_servers": bootstrap_servers})
