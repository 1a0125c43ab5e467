"""The app on an in-memory publisher and match directory, and sample bodies, for the intake
unit tests (no broker, no matcher)."""

from __future__ import annotations

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
from koppel_testing import WEBHOOK_SECRET
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


def assignment(assignment_id: str = "A-1", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": assignment_id,
        "title": "Interim communicatieadviseur",
        "description": "Campagne omgevingswet",
        "organization": {"name": "Gemeente Zwolle", "type": "municipality", "inhabitants": 130000},
        "location": {"city": "Zwolle", "province": "overijssel", "lat": 52.5, "lon": 6.1},
        "level": "senior",
        "assignment_type": "project",
        "disciplines_required": ["campaigns"],
        "disciplines_preferred": ["social_media"],
        "hours_per_week": {"min": 28, "max": 32},
        "start_date": "2026-12-01",
        "duration_months": 6,
        "office_days_per_week": 2,
        "visibility": "public",
    }
    body.update(changes)
    return body


def consultant(consultant_id: str = "C-1", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": consultant_id,
        "name": "Sanne de Vries",
        "email": "sanne@example.org",
        "level": "senior",
        "years_experience": 9,
        "public_sector_years": 6,
        "disciplines": ["campaigns", "social_media"],
        "specialisms": ["campaigns"],
        "home": {"city": "Deventer", "province": "overijssel"},
        "max_office_days_per_week": 3,
        "available_from": "2026-11-01",
        "hours_per_week": {"min": 24, "max": 32},
        "notification": {
            "channels": ["email", "webhook"],
            "webhook_url": "https://hooks.example.org/koppel",
            "webhook_secret": WEBHOOK_SECRET,
        },
        "consent": True,
    }
    body.update(changes)
    return body


@pytest.fixture
def make_assignment() -> Callable[..., dict[str, Any]]:
    return assignment


@pytest.fixture
def make_consultant() -> Callable[..., dict[str, Any]]:
    return consultant
