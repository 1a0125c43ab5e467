"""The records of one fetch in the order they were written, across topics and partitions.

Kafka orders records within a partition only; a fetch returns them grouped by partition.
A consumer reading two topics (the matcher: assignments and consultants; the notifier:
matches and consultants) that handled them partition by partition would, for a profile and
an assignment published a moment apart, handle whichever topic sorts first, and the match
would be credited to the wrong event (and carry the wrong trace). The more records
a fetch gathers, the more often that happens, so they are merged by timestamp; each
partition keeps its offset order whatever its timestamps.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from aiokafka import ConsumerRecord, TopicPartition

Record = TypeVar("Record", bound=ConsumerRecord[Any, Any])


def in_written_order(batches: Mapping[TopicPartition, Sequence[Record]]) -> list[Record]:
    """Every record of `batches`, by timestamp; ties and each partition in their own order."""
    partitions = [batches[tp] for tp in sorted(batches)]
    return list(heapq.merge(*partitions, key=_written_at))


def _written_at(record: ConsumerRecord[Any, Any]) -> int:
    timestamp: int = record.timestamp
    return timestamp
