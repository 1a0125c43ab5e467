"""The app on an in-memory publisher for the intake unit tests (no broker)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from koppel.api_tokens import ApiTokens
from koppel.secret_sealing import SecretKeyring
from koppel_intake.adapters.memory_publisher import InMemoryPublisher
from koppel_intake.entrypoints.http import create_app
from koppel_intake.service_layer.commands import Intake

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
async def client(
    publisher: InMemoryPublisher, keyring: SecretKeyring
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        intake=Intake(publisher, keyring),
        publisher=publisher,
        tokens=ApiTokens.parse(f"crm:{TOKEN},other:another-token"),
        max_body_bytes=1024 * 1024,
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as http:
        yield http
