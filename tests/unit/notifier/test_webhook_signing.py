"""Standard Webhooks signing, checked against the specification's published test vector."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from standardwebhooks import Webhook

from koppel_notifier.adapters.webhook_signing import signature_headers
from koppel_notifier.domain.model import Kind
from koppel_notifier.domain.webhook_body import webhook_body, webhook_id
from koppel_testing import WEBHOOK_SECRET as SECRET

MESSAGE_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = b'{"test": 2432232314}'
EXPECTED = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_reproduces_the_published_test_vector() -> None:
    headers = signature_headers(SECRET, MESSAGE_ID, BODY, datetime.fromtimestamp(TIMESTAMP, UTC))
    assert headers == {
        "webhook-id": MESSAGE_ID,
        "webhook-timestamp": str(TIMESTAMP),
        "webhook-signature": EXPECTED,
    }


def test_a_local_time_is_converted_not_relabelled() -> None:
    amsterdam = timezone(timedelta(hours=1))
    local = datetime.fromtimestamp(TIMESTAMP, UTC).astimezone(amsterdam)
    headers = signature_headers(SECRET, MESSAGE_ID, BODY, local)
    assert headers["webhook-timestamp"] == str(TIMESTAMP)
    assert headers["webhook-signature"] == EXPECTED


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        signature_headers(SECRET, MESSAGE_ID, BODY, datetime(2026, 1, 1))


def test_a_receiver_verifies_our_body_and_headers() -> None:
    body = webhook_body(
        Kind.FOUND,
        datetime(2026, 3, 1, 9, tzinfo=UTC),
        {"match_id": "m-1", "score": 0.8},
        consultant_language="nl",
    )
    headers = signature_headers(SECRET, webhook_id("d-1"), body, datetime.now(UTC))
    assert Webhook(SECRET).verify(body, headers) == {
        "type": "match.found",
        "timestamp": "2026-03-01T09:00:00+00:00",
        "data": {"match_id": "m-1", "score": 0.8},
    }


def test_webhook_id_is_derived_from_the_delivery() -> None:
    delivery_id = "0b6f1f8e-6d2c-4c0e-9a57-2f9d8c1e4a30"
    assert (
        webhook_id(delivery_id) == webhook_id(delivery_id) == "msg_0b6f1f8e6d2c4c0e9a572f9d8c1e4a30"
    )
