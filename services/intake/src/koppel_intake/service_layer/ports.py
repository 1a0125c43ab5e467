"""The service layer's ports: `EventPublisher` (Kafka) with the records and errors it
speaks, and `MatchDirectory` (the matcher's read API), which answers are checked against.

`adapters.kafka_producer` implements the publisher on aiokafka, `adapters.memory_publisher`
in memory; `adapters.matcher_directory` asks the matcher over HTTP.
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


@dataclass(frozen=True)
class KnownMatch:
    """What intake needs to know of a match to accept an answer to it."""

    match_id: str
    consultant_id: str
    assignment_id: str
    status: str


class DirectoryUnavailableError(Exception):
    """The matcher could not say whether the match exists (unreachable, timed out, refused
    our token); the answer is not accepted, and asking again later may succeed."""


class MatchDirectory(Protocol):
    async def find(self, match_id: str) -> KnownMatch | None:
        """The match, or None when the matcher knows no match with this id.

        Raise `DirectoryUnavailableError` when the matcher cannot be asked.
        """
        ...
