"""A body whose Kafka record would exceed the record limit is a 413 up front, never a 503."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from koppel.api_tokens import ApiTokens
from koppel.secret_sealing import SecretKeyring
from koppel_intake.adapters.memory_publisher import InMemoryPublisher
from koppel_intake.entrypoints.http import create_app
from koppel_intake.service_layer.answers import Answers
from koppel_intake.service_layer.commands import Intake
from koppel_intake.settings import Settings
from koppel_testing.match_directory import InMemoryMatchDirectory

LIMIT = 2560
Body = Callable[..., dict[str, Any]]


@pytest.fixture
async def small_limit_client(
    publisher: InMemoryPublisher,
    token: str,
    keyring: SecretKeyring,
    directory: InMemoryMatchDirectory,
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with a record limit far below the body limit (1 MiB), as a topic may have."""
    intake = Intake(publisher, keyring, max_record_bytes=LIMIT)
    app = create_app(
        intake=intake,
        answers=Answers(intake, directory),
        publisher=publisher,
        tokens=ApiTokens.parse(f"crm:{token}"),
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as http:
        yield http


async def test_a_body_whose_record_exceeds_the_limit_is_a_413_naming_it(
    small_limit_client: httpx.AsyncClient,
    publisher: InMemoryPublisher,
    auth: dict[str, str],
    make_consultant: Body,
) -> None:
    body = make_consultant()
    # Sent as UTF-8, 2 bytes a character; on Kafka percent-encoded, 6 bytes a character.
    body["notification"]["webhook_url"] = "https://hooks.example.org/" + "é" * 300
    content = json.dumps(body, ensure_ascii=False).encode()
    assert len(content) < LIMIT

    response = await small_limit_client.put(
        "/v1/consultants/C-1",
        content=content,
        headers={**auth, "content-type": "application/json"},
    )

    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "urn:koppel:problem:record-too-large"
    assert f"limit of {LIMIT} bytes" in problem["detail"]
    assert publisher.records == []


async def test_a_body_whose_record_fits_is_accepted(
    small_limit_client: httpx.AsyncClient,
    publisher: InMemoryPublisher,
    auth: dict[str, str],
    make_consultant: Body,
) -> None:
    response = await small_limit_client.put(
        "/v1/consultants/C-1", json=make_consultant(), headers=auth
    )

    assert response.status_code == 202, response.text
    assert len(publisher.records) == 1


def test_the_record_limit_defaults_to_kafkas_and_is_configurable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KOPPEL_ENVIRONMENT", "development")
    monkeypatch.delenv("INTAKE_MAX_RECORD_BYTES", raising=False)
    assert Settings().max_record_bytes == 1024 * 1024

    monkeypatch.setenv("INTAKE_MAX_RECORD_BYTES", "65536")
    assert Settings().max_record_bytes == 65536
