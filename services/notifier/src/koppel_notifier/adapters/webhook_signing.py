"""Standard Webhooks signatures (the `standardwebhooks` library, given UTC datetimes only)."""

from __future__ import annotations

from datetime import UTC, datetime

from standardwebhooks import Webhook


def signature_headers(secret: str, message_id: str, body: bytes, now: datetime) -> dict[str, str]:
    """`webhook-id`, `webhook-timestamp` and `webhook-signature` for one attempt.

    The library replaces the datetime's zone with UTC instead of converting it, so a local
    time would be signed as the wrong instant; we convert first.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    moment = now.astimezone(UTC)
    signature = Webhook(secret).sign(message_id, moment, body.decode())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signature,
    }
