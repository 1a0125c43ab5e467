"""The demo webhook receiver verifies Standard Webhooks signatures and logs every request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from standardwebhooks import Webhook

from koppel_demo.data import webhook_secret
from koppel_demo.webhook_receiver import WebhookReceiver


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[WebhookReceiver]:
    secrets = tmp_path / "secrets.json"
    secrets.write_text(json.dumps({"c-file": webhook_secret("c-file", 99)}))
    server = WebhookReceiver(tmp_path / "hooks.jsonl", secrets_path=secrets, seed=5, port=0)
    server.start()
    yield server
    server.stop()


def _post(receiver: WebhookReceiver, consultant_id: str, secret: str, body: bytes) -> int:
    msg_id = "msg_" + consultant_id
    now = datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, now, body.decode())
    response = httpx.post(
        f"http://127.0.0.1:{receiver.port}/webhooks/{consultant_id}",
        content=body,
        headers={
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature,
        },
    )
    return response.status_code


def _entries(receiver: WebhookReceiver) -> list[dict[str, object]]:
    lines = receiver.log.path.read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_a_correctly_signed_webhook_is_logged_as_verified(receiver: WebhookReceiver) -> None:
    body = json.dumps({"type": "match.found", "data": {"match_id": "m1", "score": 0.8}}).encode()

    assert _post(receiver, "c-derived", webhook_secret("c-derived", 5), body) == 204
    assert _post(receiver, "c-file", webhook_secret("c-file", 99), body) == 204

    first, second = _entries(receiver)
    assert first["verified"] is True
    assert first["consultant_id"] == "c-derived"
    assert first["payload"] == {"type": "match.found", "data": {"match_id": "m1", "score": 0.8}}
    assert second["verified"] is True
    assert second["duplicate"] is False


def test_a_wrong_secret_is_logged_as_unverified(receiver: WebhookReceiver) -> None:
    body = b'{"type": "match.found"}'

    assert _post(receiver, "c-derived", webhook_secret("c-derived", 6), body) == 204

    (entry,) = _entries(receiver)
    assert entry["verified"] is False
    assert "error" in entry


def test_a_redelivery_is_flagged_as_duplicate(receiver: WebhookReceiver) -> None:
    secret = webhook_secret("c-twice", 5)
    _post(receiver, "c-twice", secret, b"{}")
    _post(receiver, "c-twice", secret, b"{}")

    assert [e["duplicate"] for e in _entries(receiver)] == [False, True]


def test_other_paths_are_not_found(receiver: WebhookReceiver) -> None:
    response = httpx.post(f"http://127.0.0.1:{receiver.port}/elsewhere", content=b"{}")
    assert response.status_code == 404
