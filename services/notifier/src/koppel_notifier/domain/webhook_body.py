"""The JSON body of a webhook (DOMAIN.md §6), the same bytes on every attempt."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from koppel.public_title import shown_title
from koppel_notifier.domain.model import Kind


def webhook_body(
    kind: Kind, occurred_at: datetime, data: dict[str, Any], *, consultant_language: str
) -> bytes:
    """`{"type", "timestamp", "data"}`; `timestamp` is when the match event happened.

    A built title (confidential assignment, no `public_title`) is given in the language the
    event names, that of its reasons, so a `match.found` sends the same bytes on every
    attempt; a withdrawal names no language and follows `consultant_language`.
    """
    assignment = data.get("assignment")
    if isinstance(assignment, dict) and assignment.get("title_is_built"):
        language = str(data.get("language") or consultant_language)
        data = {**data, "assignment": {**assignment, "title": shown_title(assignment, language)}}
    document = {"type": kind.value, "timestamp": occurred_at.isoformat(), "data": data}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def webhook_id(delivery_id: str) -> str:
    """The `webhook-id` header: derived from the delivery row, so stable across retries."""
    return f"msg_{delivery_id.replace('-', '')}"
