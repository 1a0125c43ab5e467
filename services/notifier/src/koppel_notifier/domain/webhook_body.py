"""The JSON body of a webhook (DOMAIN.md §6), the same bytes on every attempt."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from koppel_notifier.domain.model import Kind


def webhook_body(kind: Kind, occurred_at: datetime, data: dict[str, Any]) -> bytes:
    """`{"type", "timestamp", "data"}`; `timestamp` is when the match event happened."""
    document = {"type": kind.value, "timestamp": occurred_at.isoformat(), "data": data}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def webhook_id(delivery_id: str) -> str:
    """The `webhook-id` header: derived from the delivery row, so stable across retries."""
    return f"msg_{delivery_id.replace('-', '')}"
