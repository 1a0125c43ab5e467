"""Every Kafka client of Koppel is built here, with the connection's TLS and SASL settings.

One place decides how a client reaches and authenticates to the brokers (DOMAIN.md 8.6),
so no service, tool or command can connect in clear by forgetting an argument. The callers
add only what their role needs (group, transactions, fetch sizes).

A bare string where a connection is expected is a bootstrap list on a PLAINTEXT listener:
what the local broker of the tests and benchmarks offers.
"""

from __future__ import annotations

import ssl
from typing import Any, Literal, Self

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.helpers import create_ssl_context
from pydantic import BaseModel, ConfigDict, FilePath, SecretStr, model_validator

log = structlog.get_logger(__name__)

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]

_TLS: frozenset[str] = frozenset({"SSL", "SASL_SSL"})
_SASL: frozenset[str] = frozenset({"SASL_PLAINTEXT", "SASL_SSL"})


class KafkaConnection(BaseModel):
    """Where the brokers are and how a client proves itself to them; the password is masked."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bootstrap_servers: str
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: FilePath | None = None
    ssl_certfile: FilePath | None = None
    ssl_keyfile: FilePath | None = None
    ssl_check_hostname: bool = True

    @model_validator(mode="after")
    def _holds_together(self) -> Self:
        problems = security_problems(
            protocol=self.security_protocol,
            mechanism=self.sasl_mechanism,
            username=self.sasl_username,
            password=self.sasl_password,
            tls_files_set=bool(self.ssl_cafile or self.ssl_certfile or self.ssl_keyfile),
            keyfile_without_certfile=bool(self.ssl_keyfile and not self.ssl_certfile),
        )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in _TLS

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol in _SASL


def security_problems(
    *,
    protocol: str,
    mechanism: str | None,
    username: str | None,
    password: SecretStr | None,
    tls_files_set: bool,
    keyfile_without_certfile: bool,
) -> list[str]:
    """What makes a connection's security settings unusable, named as the operator sets them.

    Settings that the protocol would ignore are refused too: a password set without a SASL
    protocol, or a CA file without TLS, means the operator believes the connection is
    protected when it is not.
    """
    problems = []
    has_password = password is not None and bool(password.get_secret_value())
    if protocol in _SASL:
        missing = [
            name
            for name, given in (
                ("KAFKA_SASL_MECHANISM", bool(mechanism)),
                ("KAFKA_SASL_USERNAME", bool(username)),
                ("KAFKA_SASL_PASSWORD (or KAFKA_SASL_PASSWORD_FILE)", has_password),
            )
            if not given
        ]
        if missing:
            problems.append(f"KAFKA_SECURITY_PROTOCOL={protocol} needs {', '.join(missing)}")
    elif mechanism or username or has_password:
        problems.append(
            f"KAFKA_SASL_* is set but KAFKA_SECURITY_PROTOCOL={protocol} does not use SASL "
            "(SASL_SSL or SASL_PLAINTEXT)"
        )
    if tls_files_set and protocol not in _TLS:
        problems.append(
            f"KAFKA_SSL_* files are set but KAFKA_SECURITY_PROTOCOL={protocol} does not use "
            "TLS (SSL or SASL_SSL)"
        )
    if keyfile_without_certfile:
        problems.append("KAFKA_SSL_KEYFILE needs KAFKA_SSL_CERTFILE")
    return problems


def as_connection(connection: KafkaConnection | str) -> KafkaConnection:
    """`connection` itself, or a PLAINTEXT connection to the bootstrap list it is."""
    if isinstance(connection, str):
        return KafkaConnection(bootstrap_servers=connection)
    return connection


def client_options(connection: KafkaConnection | str) -> dict[str, Any]:
    """The keyword arguments with which any aiokafka client reaches and authenticates."""
    connection = as_connection(connection)
    options: dict[str, Any] = {
        "bootstrap_servers": connection.bootstrap_servers,
        "security_protocol": connection.security_protocol,
    }
    if connection.uses_tls:
        options["ssl_context"] = _ssl_context(connection)
    if connection.uses_sasl:
        assert connection.sasl_password is not None  # the validator requires it with SASL
        options["sasl_mechanism"] = connection.sasl_mechanism
        options["sasl_plain_username"] = connection.sasl_username
        options["sasl_plain_password"] = connection.sasl_password.get_secret_value()
        if connection.sasl_mechanism == "PLAIN" and not connection.uses_tls:
            _warn_password_in_clear()
    return options


def producer(connection: KafkaConnection | str, **options: Any) -> AIOKafkaProducer:
    """A producer on `connection`; `options` are the producer's own (acks, transactions…)."""
    return AIOKafkaProducer(**client_options(connection), **options)


def consumer(connection: KafkaConnection | str, *topics: str, **options: Any) -> AIOKafkaConsumer:
    """A consumer on `connection`, subscribed to `topics` if any are given."""
    return AIOKafkaConsumer(*topics, **client_options(connection), **options)


def admin(connection: KafkaConnection | str, **options: Any) -> AIOKafkaAdminClient:
    """An admin client on `connection`."""
    return AIOKafkaAdminClient(**client_options(connection), **options)


def _ssl_context(connection: KafkaConnection) -> ssl.SSLContext:
    """Verifies the brokers against the CA file (the system's CAs without one)."""
    context: ssl.SSLContext = create_ssl_context(
        cafile=connection.ssl_cafile,
        certfile=connection.ssl_certfile,
        keyfile=connection.ssl_keyfile,
    )
    context.check_hostname = connection.ssl_check_hostname
    return context


def _warn_password_in_clear() -> None:
    """SASL/PLAIN without TLS puts the password on the network as is: allowed, but said."""
    log.warning(
        "kafka SASL PLAIN without TLS sends the password in clear; "
        "use KAFKA_SECURITY_PROTOCOL=SASL_SSL or a SCRAM mechanism"
    )
