"""The demo webhook receiver verifies Standard Webhooks signatures, refuses what does not
verify and logs every request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
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


def _post(
    receiver: WebhookReceiver,
    consultant_id: str,
    secret: str,
    body: bytes,
    *,
    signed_at: datetime | None = None,
    sent: bytes | None = None,
) -> int:
    """POST `sent` (else `body`) with a signature of `body` made at `signed_at` (else now)."""
    msg_id = "msg_" + consultant_id
    now = signed_at or datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, now, body.decode())
    response = httpx.post(
        f"http://127.0.0.1:{receiver.port}/webhooks/{consultant_id}",
        content=body if sent is None else sent,
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


def test_a_wrong_secret_is_refused_and_logged_as_unverified(receiver: WebhookReceiver) -> None:
    body = b'{"type": "match.found"}'

    assert _post(receiver, "c-derived", webhook_secret("c-derived", 6), body) == 401

    (entry,) = _entries(receiver)
    assert entry["verified"] is False
    assert "error" in entry


def test_a_changed_body_is_refused(receiver: WebhookReceiver) -> None:
    secret = webhook_secret("c-derived", 5)
    signed = b'{"type": "match.found", "data": {"score": 0.5}}'
    changed = b'{"type": "match.found", "data": {"score": 0.9}}'

    assert _post(receiver, "c-derived", secret, signed, sent=changed) == 401


def test_a_signature_older_than_five_minutes_is_refused(receiver: WebhookReceiver) -> None:
    secret = webhook_secret("c-derived", 5)
    six_minutes_ago = datetime.now(UTC) - timedelta(minutes=6)

    assert _post(receiver, "c-derived", secret, b"{}", signed_at=six_minutes_ago) == 401
    assert _post(receiver, "c-derived", secret, b"{}") == 204


def test_an_unsigned_request_is_refused(receiver: WebhookReceiver) -> None:
    response = httpx.post(f"http://127.0.0.1:{receiver.port}/webhooks/c-derived", content=b"{}")
    assert response.status_code == 401


def test_a_redelivery_is_flagged_as_duplicate(receiver: WebhookReceiver) -> None:
    secret = webhook_secret("c-twice", 5)
    _post(receiver, "c-twice", secret, b"{}")
    _post(receiver, "c-twice", secret, b"{}")

    assert [e["duplicate"] for e in _entries(receiver)] == [False, True]


def test_a_forged_request_does_not_make_the_real_one_a_duplicate(
    receiver: WebhookReceiver,
) -> None:
    _post(receiver, "c-twice", webhook_secret("c-twice", 6), b"{}")
    assert _post(receiver, "c-twice", webhook_secret("c-twice", 5), b"{}") == 204

    assert [(e["verified"], e["duplicate"]) for e in _entries(receiver)] == [
        (False, False),
        (True, False),
    ]


def test_other_paths_are_not_found(receiver: WebhookReceiver) -> None:
    response = httpx.post(f"http://127.0.0.1:{receiver.port}/elsewhere", content=b"{}")
    assert response.status_code == 404
