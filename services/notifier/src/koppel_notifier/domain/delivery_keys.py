"""The keys that make a delivery unique and give it the same id in every run."""

from __future__ import annotations

import uuid
from datetime import datetime

_DELIVERY_NAMESPACE = uuid.UUID("0b6f1f8e-6d2c-4c0e-9a57-2f9d8c1e4a30")


def delivery_id_for(dedupe_key: str) -> uuid.UUID:
    """Deterministic, so the same delivery has the same id (and webhook-id) in every run."""
    return uuid.uuid5(_DELIVERY_NAMESPACE, dedupe_key)


def registration_key(dedupe_key: str, erased_at: datetime | None) -> str:
    """`dedupe_key` for a consultant registered after the erasure at `erased_at`.

    Match ids are the same for every registration of an id, and delivery ids, webhook-ids
    and Message-IDs derive from the key: without the erasure in it, a receiver or a mail
    provider de-duplicating on them would drop the new registration's messages as repeats
    of the erased one's.
    """
    return dedupe_key if erased_at is None else f"{dedupe_key}|after:{erased_at.isoformat()}"


def digest_key(consultant_id: str, day_iso: str) -> str:
    """The `dedupe_key` of one consultant's digest for one day (before `registration_key`)."""
    return f"digest|{consultant_id}|{day_iso}|email"
