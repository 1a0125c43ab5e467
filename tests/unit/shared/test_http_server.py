"""Every service's uvicorn server carries the shared HTTP limits; the start-up gate answers."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka.errors import KafkaConnectionError
from pydantic_settings import BaseSettings

from koppel.http_server import FramingGuard, Receive, Scope, Send, server_config
from koppel.settings import ServiceSettings
from koppel.startup import StartupGate, startup_reason
from koppel_intake.settings import Settings as IntakeSettings
from koppel_matcher.settings import Settings as MatcherSettings
from koppel_notifier.settings import Settings as NotifierSettings

UNREACHABLE = "database unreachable"
REFUSED = "database refused the credentials"
NO_BROKER = "broker unreachable"
SERVICES = [IntakeSettings, MatcherSettings, NotifierSettings]
VARIABLES = (
    "HTTP_LIMIT_CONCURRENCY",
    "HTTP_KEEP_ALIVE_SECONDS",
    "HTTP_MAX_HEADER_BYTES",
    "HTTP_SHUTDOWN_GRACE_SECONDS",
)


@pytest.fixture(autouse=True)
def _no_http_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    # The services' own secrets are not what these tests are about.
    monkeypatch.setenv("KOPPEL_ENVIRONMENT", "development")


async def _app(scope: Scope, receive: Receive, send: Send) -> None:
    """Stands for a service's own app."""
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def test_defaults() -> None:
    settings = ServiceSettings()
    assert settings.http_limit_concurrency == 256
    assert settings.http_keep_alive_seconds == 5
    assert settings.http_max_header_bytes == 16 * 1024
    assert settings.http_shutdown_grace_seconds == 20


@pytest.mark.parametrize("settings_class", SERVICES)
def test_each_services_server_carries_the_limits(settings_class: type[BaseSettings]) -> None:
    settings = settings_class()
    assert isinstance(settings, ServiceSettings)

    config = server_config(_app, settings, host="127.0.0.1", port=8000)

    assert config.limit_concurrency == 256
    assert config.timeout_keep_alive == 5
    assert config.h11_max_incomplete_event_size == 16 * 1024
    assert config.timeout_graceful_shutdown == 20
    assert config.http == "h11"  # the only protocol that bounds the request head
    assert config.proxy_headers is False


@pytest.mark.parametrize("settings_class", SERVICES)
def test_the_limits_come_from_the_environment(
    settings_class: type[BaseSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in zip(VARIABLES, ("32", "30", "4096", "3"), strict=True):
        monkeypatch.setenv(name, value)
    settings = settings_class()
    assert isinstance(settings, ServiceSettings)

    config = server_config(_app, settings, host="127.0.0.1", port=8000)

    assert (
        config.limit_concurrency,
        config.timeout_keep_alive,
        config.h11_max_incomplete_event_size,
        config.timeout_graceful_shutdown,
    ) == (32, 30, 4096, 3)


def _client(gate: StartupGate) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=gate), base_url="http://svc")


async def test_the_gate_is_alive_and_says_why_it_is_not_ready() -> None:
    gate = StartupGate()
    gate.reason = "database unreachable"
    async with _client(gate) as client:
        assert (await client.get("/healthz")).status_code == 200
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {
            "ready": False,
            "status": "not_ready",
            "reason": "database unreachable",
        }
        assert (await client.get("/v1/anything")).status_code == 503

        gate.open(_app)
        assert (await client.get("/readyz")).status_code == 204


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (ConnectionRefusedError(111, "Connect call failed ('10.0.0.5', 5432)"), UNREACHABLE),
        (asyncpg.CannotConnectNowError("the database system is starting up"), UNREACHABLE),
        (asyncpg.InvalidPasswordError("password authentication failed"), REFUSED),
        (KafkaConnectionError("Unable to bootstrap from kafka.internal:9092"), NO_BROKER),
        (ValueError("bad migration"), "start-up failed (ValueError)"),
    ],
)
def test_startup_reasons_name_no_host(error: Exception, reason: str) -> None:
    assert startup_reason(error) == reason


async def _answer_of(scope: dict[str, Any]) -> list[MutableMapping[str, Any]]:
    """What the guard sends for `scope`; an app that is reached answers 204."""
    sent: list[MutableMapping[str, Any]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await FramingGuard(app, max_target_bytes=100)(scope, receive, send)
    return sent


def _scope(headers: list[tuple[bytes, bytes]], raw_path: bytes = b"/v1/x") -> dict[str, Any]:
    return {"type": "http", "headers": headers, "raw_path": raw_path, "query_string": b""}


async def test_content_length_with_transfer_encoding_is_a_400_that_closes() -> None:
    headers = [(b"content-length", b"5"), (b"transfer-encoding", b"chunked")]
    [start, _body] = await _answer_of(_scope(headers))

    assert start["status"] == 400
    assert (b"connection", b"close") in start["headers"]


async def test_a_request_target_over_the_limit_is_a_400() -> None:
    [start, _body] = await _answer_of(_scope([], raw_path=b"/" + b"a" * 100))

    assert start["status"] == 400


async def test_an_ordinary_request_reaches_the_app() -> None:
    [start] = await _answer_of(_scope([(b"content-length", b"5")], raw_path=b"/" + b"a" * 99))

    assert start["status"] == 204
