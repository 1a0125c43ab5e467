"""The service layer's port to Kafka, `EventPublisher`, and the records and errors it speaks.

`adapters.kafka_producer` implements it on aiokafka, `adapters.memory_publisher` in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

# Kafka header values may be null; a dead letter passes them on as received.
Headers = Sequence[tuple[str, bytes | None]]


@dataclass(frozen=True)
class OutgoingRecord:
    """One Kafka record to produce; `value=None` is a tombstone.

    Both `key` and `value` may be None: only the dead letter of such a record is.
    """

    topic: str
    key: bytes | None
    value: bytes | None
    headers: Headers = field(default_factory=tuple)


class PublishError(Exception):
    """The broker did not acknowledge (unreachable, timed out, refused); safe to retry."""


class RecordTooLarge(PublishError):  # noqa: N818 - reads as "the record is too large"
    """The record exceeds Kafka's size limit: sending it again can never succeed."""

    def __init__(self, size: int | None, limit: int) -> None:
        taking = "" if size is None else f" takes {size} bytes,"
        super().__init__(f"the record{taking} over Kafka's limit of {limit} bytes")
        self.size = size
        self.limit = limit


class EventPublisher(Protocol):
    async def publish(self, records: Sequence[OutgoingRecord]) -> None:
        """Produce `records` in order and return only when every one is acknowledged.

        Raise `PublishError` when any of them was not.
        """
        ...

    async def ready(self) -> bool:
        """True when the broker answers right now."""
        ...
