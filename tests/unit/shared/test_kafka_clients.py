"""Kafka TLS and SASL from the environment (DOMAIN.md 8.6): the settings refuse what cannot
work and never show the password; every factory hands the security options to aiokafka."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import certifi
import pytest
from pydantic import SecretStr, ValidationError
from structlog.testing import capture_logs

from koppel import kafka_clients
from koppel.kafka_clients import KafkaConnection, client_options
from koppel.settings import KafkaSettings, ServiceSettings
from koppel_matcher.adapters.kafka_producer import transactional_producer
from koppel_matcher.entrypoints.supervisor import membership_consumer
from koppel_notifier.adapters.kafka_producer import make_producer
from koppel_notifier.entrypoints.kafka_consumer import make_consumer
from koppel_testing.configuration import start_refusal

PASSWORD = "correct-horse-battery-staple"
VARIABLES = (
    "KAFKA_BOOTSTRAP_SERVERS",
    "KAFKA_SECURITY_PROTOCOL",
    "KAFKA_SASL_MECHANISM",
    "KAFKA_SASL_USERNAME",
    "KAFKA_SASL_PASSWORD",
    "KAFKA_SASL_PASSWORD_FILE",
    "KAFKA_SSL_CAFILE",
    "KAFKA_SSL_CERTFILE",
    "KAFKA_SSL_KEYFILE",
    "KAFKA_SSL_CHECK_HOSTNAME",
)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No Kafka variable leaks in from the shell that runs the tests."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def sasl_ssl(env: pytest.MonkeyPatch, **overrides: str) -> None:
    values = {
        "KAFKA_BOOTSTRAP_SERVERS": "kafka-0:9093",
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_SASL_USERNAME": "koppel",
        "KAFKA_SASL_PASSWORD": PASSWORD,
        "KAFKA_SSL_CAFILE": certifi.where(),
    } | overrides
    for name, value in values.items():
        if value:
            env.setenv(name, value)
        else:
            env.delenv(name, raising=False)


def refusal(env: pytest.MonkeyPatch) -> str:
    """The one line a service exits with on this environment."""
    message = start_refusal(ServiceSettings, "koppel-test")
    assert "\n" not in message
    assert PASSWORD not in message
    return message


# --- settings ---------------------------------------------------------------------------------
def test_plaintext_by_default_with_nothing_but_the_servers(env: pytest.MonkeyPatch) -> None:
    assert client_options(ServiceSettings().kafka) == {
        "bootstrap_servers": "127.0.0.1:9092",
        "security_protocol": "PLAINTEXT",
    }


def test_sasl_ssl_from_the_environment(env: pytest.MonkeyPatch) -> None:
    sasl_ssl(env)
    connection = ServiceSettings().kafka
    assert connection.security_protocol == "SASL_SSL"
    assert connection.sasl_mechanism == "SCRAM-SHA-512"
    assert connection.sasl_username == "koppel"
    assert connection.sasl_password == SecretStr(PASSWORD)
    assert connection.ssl_cafile == Path(certifi.where())


@pytest.mark.parametrize("missing", ["KAFKA_SASL_PASSWORD", "KAFKA_SASL_USERNAME"])
def test_sasl_without_credentials_is_refused(env: pytest.MonkeyPatch, missing: str) -> None:
    sasl_ssl(env, **{missing: ""})
    assert f"needs {missing}" in refusal(env)


def test_sasl_without_a_mechanism_is_refused(env: pytest.MonkeyPatch) -> None:
    sasl_ssl(env, KAFKA_SASL_MECHANISM="", KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT")
    assert "KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT needs KAFKA_SASL_MECHANISM" in refusal(env)


@pytest.mark.parametrize("mechanism", ["GSSAPI", "OAUTHBEARER", "scram", "SCRAM-SHA-1"])
def test_unsupported_mechanism_is_refused(env: pytest.MonkeyPatch, mechanism: str) -> None:
    sasl_ssl(env, KAFKA_SASL_MECHANISM=mechanism)
    assert refusal(env).startswith("koppel-test: invalid configuration: KAFKA_SASL_MECHANISM: ")


def test_unknown_protocol_is_refused(env: pytest.MonkeyPatch) -> None:
    env.setenv("KAFKA_SECURITY_PROTOCOL", "TLS")
    assert "KAFKA_SECURITY_PROTOCOL: " in refusal(env)


def test_missing_ca_file_is_one_line_at_start_up(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    sasl_ssl(env, KAFKA_SSL_CAFILE=str(tmp_path / "absent-ca.pem"))
    assert refusal(env) == (
        "koppel-test: invalid configuration: KAFKA_SSL_CAFILE: Path does not point to a file"
    )


def test_credentials_without_a_sasl_protocol_are_refused(env: pytest.MonkeyPatch) -> None:
    """A password the protocol would ignore: the operator believes the link is protected."""
    sasl_ssl(env, KAFKA_SECURITY_PROTOCOL="SSL")
    assert "does not use SASL" in refusal(env)


def test_tls_files_without_tls_are_refused(env: pytest.MonkeyPatch) -> None:
    sasl_ssl(env, KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT")
    assert "KAFKA_SSL_* files are set but" in refusal(env)


def test_client_key_without_its_certificate_is_refused(env: pytest.MonkeyPatch) -> None:
    sasl_ssl(env, KAFKA_SSL_KEYFILE=certifi.where())
    assert "KAFKA_SSL_KEYFILE needs KAFKA_SSL_CERTFILE" in refusal(env)


def test_password_from_a_file(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "kafka-password"
    secret.write_text(f"{PASSWORD}\n")
    sasl_ssl(env, KAFKA_SASL_PASSWORD="", KAFKA_SASL_PASSWORD_FILE=str(secret))
    password = ServiceSettings().kafka.sasl_password
    assert password is not None
    assert password.get_secret_value() == PASSWORD


def test_password_file_that_cannot_be_read_is_named(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    sasl_ssl(env, KAFKA_SASL_PASSWORD="", KAFKA_SASL_PASSWORD_FILE=str(tmp_path / "absent"))
    assert "KAFKA_SASL_PASSWORD_FILE: cannot read " in refusal(env)


def test_empty_password_file_is_a_missing_password(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "kafka-password"
    secret.write_text("\n")
    sasl_ssl(env, KAFKA_SASL_PASSWORD="", KAFKA_SASL_PASSWORD_FILE=str(secret))
    assert "needs KAFKA_SASL_PASSWORD (or KAFKA_SASL_PASSWORD_FILE)" in refusal(env)


def test_password_and_password_file_together_are_refused(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "kafka-password"
    secret.write_text(PASSWORD)
    sasl_ssl(env, KAFKA_SASL_PASSWORD_FILE=str(secret))
    assert "not both" in refusal(env)


def test_the_password_is_masked_everywhere_it_could_be_printed(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "kafka-password"
    secret.write_text(PASSWORD)
    sasl_ssl(env)
    from_variable = ServiceSettings()
    sasl_ssl(env, KAFKA_SASL_PASSWORD="", KAFKA_SASL_PASSWORD_FILE=str(secret))
    from_file = ServiceSettings()
    for shown in (from_variable, from_variable.kafka, from_file, from_file.kafka):
        assert PASSWORD not in repr(shown)
        assert PASSWORD not in str(shown)
        assert PASSWORD not in shown.model_dump_json()


def test_empty_variables_count_as_unset(env: pytest.MonkeyPatch) -> None:
    """Compose's `${KAFKA_SASL_MECHANISM:-}` passes an empty value, not a mechanism name."""
    for name in ("KAFKA_SASL_MECHANISM", "KAFKA_SASL_PASSWORD", "KAFKA_SSL_CAFILE"):
        env.setenv(name, "")
    assert ServiceSettings().kafka.security_protocol == "PLAINTEXT"


def test_command_line_tools_read_only_the_kafka_settings(env: pytest.MonkeyPatch) -> None:
    sasl_ssl(env)
    env.setenv("LOG_JSON", "sometimes")  # a service variable the tools do not read
    assert KafkaSettings().kafka.security_protocol == "SASL_SSL"


def test_a_connection_built_in_code_holds_the_same_rules() -> None:
    with pytest.raises(ValidationError, match="needs KAFKA_SASL_PASSWORD"):
        KafkaConnection(
            bootstrap_servers="b:9093",
            security_protocol="SASL_SSL",
            sasl_mechanism="PLAIN",
            sasl_username="koppel",
        )


# --- the options every client gets -----------------------------------------------------------
def test_sasl_ssl_options(env: pytest.MonkeyPatch) -> None:
    sasl_ssl(env)
    options = client_options(ServiceSettings().kafka)
    context = options.pop("ssl_context")
    assert options == {
        "bootstrap_servers": "kafka-0:9093",
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "koppel",
        "sasl_plain_password": PASSWORD,
    }
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.get_ca_certs()  # the CA file was loaded


def test_hostname_check_can_be_turned_off_but_not_verification(
    env: pytest.MonkeyPatch,
) -> None:
    sasl_ssl(env, KAFKA_SSL_CHECK_HOSTNAME="false")
    context = client_options(ServiceSettings().kafka)["ssl_context"]
    assert not context.check_hostname
    assert context.verify_mode == ssl.CERT_REQUIRED


def test_tls_without_a_ca_file_trusts_the_system_store(env: pytest.MonkeyPatch) -> None:
    env.setenv("KAFKA_SECURITY_PROTOCOL", "SSL")
    options = client_options(ServiceSettings().kafka)
    assert options["security_protocol"] == "SSL"
    assert options["ssl_context"].verify_mode == ssl.CERT_REQUIRED
    assert "sasl_plain_password" not in options


def test_plain_without_tls_is_allowed_with_a_warning(env: pytest.MonkeyPatch) -> None:
    sasl_ssl(
        env,
        KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT",
        KAFKA_SASL_MECHANISM="PLAIN",
        KAFKA_SSL_CAFILE="",
    )
    with capture_logs() as logs:
        options = client_options(ServiceSettings().kafka)
    assert options["sasl_mechanism"] == "PLAIN"
    assert [entry["log_level"] for entry in logs] == ["warning"]
    assert "in clear" in logs[0]["event"]
    assert PASSWORD not in str(logs)


def test_scram_without_tls_is_not_warned_about(env: pytest.MonkeyPatch) -> None:
    sasl_ssl(env, KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT", KAFKA_SSL_CAFILE="")
    with capture_logs() as logs:
        client_options(ServiceSettings().kafka)
    assert logs == []


# --- every factory, and the services' builders on top of them, pass them on ------------------
def _security_of(client: Any) -> dict[str, Any]:
    """What aiokafka's connection layer will use (the client is never started)."""
    inner = client.client if hasattr(client, "client") else client._client
    return {
        "security_protocol": inner._security_protocol,
        "sasl_mechanism": inner._sasl_mechanism,
        "sasl_plain_username": inner._sasl_plain_username,
        "sasl_plain_password": inner._sasl_plain_password,
        "tls": isinstance(inner._ssl_context, ssl.SSLContext),
    }


EXPECTED = {
    "security_protocol": "SASL_SSL",
    "sasl_mechanism": "SCRAM-SHA-512",
    "sasl_plain_username": "koppel",
    "sasl_plain_password": PASSWORD,
    "tls": True,
}


async def test_every_builder_passes_the_security_options(env: pytest.MonkeyPatch) -> None:
    sasl_ssl(env)
    kafka = ServiceSettings().kafka
    producers = [
        kafka_clients.producer(kafka, acks="all"),
        transactional_producer(kafka, transactional_id="t", client_id="c"),
        make_producer(kafka),
    ]
    consumers = [
        kafka_clients.consumer(kafka, "a-topic", group_id="g"),
        membership_consumer(kafka, group_id="g", client_id="c"),
        make_consumer(kafka, "g", fetch_max_wait_ms=100, fetch_min_bytes=1),
    ]
    admin = kafka_clients.admin(kafka)
    try:
        for client in (*producers, *consumers, admin):
            assert _security_of(client) == EXPECTED
    finally:
        for producer in producers:
            await producer.stop()
        for consumer in consumers:
            await consumer.stop()
        await admin.close()


async def test_a_bare_bootstrap_list_is_plaintext() -> None:
    producer = kafka_clients.producer("127.0.0.1:9092")
    try:
        assert _security_of(producer)["security_protocol"] == "PLAINTEXT"
        assert not _security_of(producer)["tls"]
    finally:
        await producer.stop()
