"""A webhook URL intake can tell is unusable is a 422 naming notification.webhook_url."""

from __future__ import annotations

import httpx
import pytest

from koppel_intake.adapters.memory_publisher import InMemoryPublisher
from koppel_testing.builders import consultant_document, webhook_notification


@pytest.mark.parametrize(
    "url",
    ["https://hooks.example.org/" + "a" * 2023,  # 2,049 characters
     "https://user:hunter2@hooks.example.org/koppel"],
)  # fmt: skip
async def test_a_too_long_or_credentialed_webhook_url_is_a_422(
    auth: dict[str, str],
    client: httpx.AsyncClient,
    publisher: InMemoryPublisher,
    url: str,
) -> None:
    body = consultant_document(notification=webhook_notification())
    body["notification"]["webhook_url"] = url

    response = await client.put("/v1/consultants/C-1", json=body, headers=auth)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    fields = [error["field"] for error in response.json()["errors"]]
    assert fields == ["body.notification.webhook_url"]
    assert "hunter2" not in response.text
    assert publisher.records == []


async def test_a_webhook_url_of_2048_characters_over_http_is_accepted(
    auth: dict[str, str],
    client: httpx.AsyncClient,
    publisher: InMemoryPublisher,
) -> None:
    body = consultant_document(notification=webhook_notification())
    body["notification"]["webhook_url"] = "http://hooks.example.org/" + "a" * 2023

    response = await client.put("/v1/consultants/C-1", json=body, headers=auth)

    assert response.status_code == 202, response.text
    assert len(publisher.records) == 1
