"""The erasure record both the matcher and the notifier keep, and the rule they check it by.

After a consultant is erased, each service keeps one row: a digest of the consultant id and
the time of the erasure, nothing else. A consultant record (or a match event) about that
consultant whose CloudEvents `time` is not after the erasure was written before it — a late
record, or one a dead-letter replay put back after the tombstone was compacted away — and
is ignored. A record whose time is after the erasure is a new registration and starts the
consultant afresh. The id is stored as a digest so that no table names the consultant.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime

_TIME_HEADER = "ce_time"


def erasure_key(consultant_id: str) -> str:
    """The key an erasure record is stored under: SHA-256 of the id, hex."""
    return hashlib.sha256(consultant_id.encode()).hexdigest()


def written_before_erasure(event_time: datetime | None, erased_at: datetime | None) -> bool:
    """Whether a record with `event_time` predates the erasure at `erased_at` (if any).

    A record without a time cannot show that it came after the erasure, so it counts as
    older; without an erasure nothing is older.
    """
    if erased_at is None:
        return False
    return event_time is None or event_time <= erased_at


def tombstone_time(
    headers: Iterable[tuple[str, bytes | None]] | None, record_timestamp_ms: int | None
) -> datetime:
    """When an erasure tombstone was decided: its `ce_time` header, else the record's time.

    Intake stamps `ce_time` on every tombstone (the DELETE's time, or the upstream event's
    `time` for a raw `consultant.erased`); a tombstone from elsewhere falls back on Kafka's
    record timestamp, and on now when even that is missing.
    """
    for name, value in headers or ():
        if name.lower() != _TIME_HEADER or value is None:
            continue
        try:
            moment = datetime.fromisoformat(value.decode())
        except (UnicodeDecodeError, ValueError):
            break
        if moment.tzinfo is not None:
            return moment
        break
    if record_timestamp_ms is not None and record_timestamp_ms > 0:
        return datetime.fromtimestamp(record_timestamp_ms / 1000, UTC)
    return datetime.now(UTC)
