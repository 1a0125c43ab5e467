"""What every Koppel consumer adds to a record it copies to `<topic>.dlq`: one spelling.

A dead letter keeps the original key, value and headers and gets these headers appended
(values UTF-8). `koppel.dead_letter_reading` (and `python -m koppel.dlq`) reads them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

CODE = "koppel-error-code"
REASON = "koppel-error-reason"
SOURCE_TOPIC = "koppel-error-source-topic"
SOURCE_PARTITION = "koppel-error-source-partition"
SOURCE_OFFSET = "koppel-error-source-offset"
AT = "koppel-error-at"
OMITTED = "koppel-error-omitted"
"""Set by intake when the original key, value or headers did not fit in the dead letter."""
SCRUBBED = "koppel-error-scrubbed"
"""Set by intake when it sealed (or removed) a clear webhook secret in the dead letter's value."""

MAX_REASON_CHARS = 2000


class DeadLetterCode(StrEnum):
    """The `koppel-error-code` values, for every service."""

    INVALID_ENVELOPE = "invalid_envelope"
    """Not JSON, not a CloudEvent, or a tombstone where none belongs."""
    INVALID_PAYLOAD = "invalid_payload"
    """A CloudEvent whose data fails the contract (the reason names every field)."""
    UNKNOWN_TYPE = "unknown_type"
    """A CloudEvents type that is unknown or does not belong on this topic."""
    KEY_MISMATCH = "key_mismatch"
    """The record key is missing or is not the entity id in the data."""
    SUBJECT_MISMATCH = "subject_mismatch"
    """The CloudEvents subject is not the entity id in the data."""
    TOO_LARGE = "too_large"
    """The canonical event would exceed Kafka's record size limit."""
    PROCESSING_FAILED = "processing_failed"
    """A valid record whose handling failed repeatedly (matcher; the log has the traceback),
    or that PostgreSQL refused to store (notifier; the reason names the SQLSTATE)."""
    INTERNAL_ERROR = "internal_error"
    """An unexpected error while routing the record (a bug; the log has the traceback)."""


def error_headers(
    *,
    code: DeadLetterCode,
    reason: str,
    topic: str,
    partition: int,
    offset: int,
    at: datetime | None = None,
) -> list[tuple[str, bytes]]:
    """The headers to append to a dead letter of the record at `topic`/`partition`/`offset`."""
    moment = at if at is not None else datetime.now(UTC)
    return [
        (CODE, DeadLetterCode(code).value.encode()),
        (REASON, reason[:MAX_REASON_CHARS].encode()),
        (SOURCE_TOPIC, topic.encode()),
        (SOURCE_PARTITION, str(partition).encode()),
        (SOURCE_OFFSET, str(offset).encode()),
        (AT, moment.isoformat().encode()),
    ]
