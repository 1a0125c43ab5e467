"""The app on an in-memory publisher and match directory, and sample bodies, for the intake
unit tests (no broker, no matcher)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from koppel.api_tokens import ApiTokens
from koppel.secret_sealing import SecretKeyring
from koppel_intake.adapters.memory_publisher import InMemoryPublisher
from koppel_intake.entrypoints.http import create_app
from koppel_intake.service_layer.answers import Answers
from koppel_intake.service_layer.commands import Intake
from koppel_testing.match_directory import InMemoryMatchDirectory

TOKEN = "s3cret-token-value"


@pytest.fixture
def token() -> str:
    return TOKEN


@pytest.fixture
def auth() -> dict[str, str]:
    """Headers of an authenticated caller."""
    return {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def publisher() -> InMemoryPublisher:
    return InMemoryPublisher()


@pytest.fixture
def directory() -> InMemoryMatchDirectory:
    return InMemoryMatchDirectory()


@pytest.fixture
async def client(
    publisher: InMemoryPublisher, keyring: SecretKeyring, directory: InMemoryMatchDirectory
) -> AsyncIterator[httpx.AsyncClient]:
    intake = Intake(publisher, keyring)
    app = create_app(
        intake=intake,
        answers=Answers(intake, directory),
        publisher=publisher,
        tokens=ApiTokens.parse(f"crm:{TOKEN},other:another-token"),
        max_body_bytes=1024 * 1024,
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as http:
        yield http
