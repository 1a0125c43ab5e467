"""Decoded assignment records shared by the shard consumers of one replica.

Every shard reads every partition of `koppel.assignments.v1`, so with six shards in one
process each assignment record was decoded and validated six times. A record is
immutable once written, so (topic, partition, offset) names its content; the bytes are
compared as well, so a recreated topic reusing offsets can never serve a stale decode.
Only successful decodes are kept: a rejected record is rare and decoded again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from koppel.cloudevents import CloudEvent
from koppel.contract.common import EventData

Decoded = tuple[CloudEvent, EventData]


@dataclass(frozen=True, slots=True)
class _Entry:
    value: bytes
    decoded: Decoded


class DecodedRecords:
    """A bounded, least-recently-used memo of decoded records by position."""

    def __init__(self, capacity: int = 4096) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[tuple[str, int, int], _Entry] = OrderedDict()

    def get_or_decode(
        self, position: tuple[str, int, int], value: bytes, decode: Callable[[], Decoded]
    ) -> Decoded:
        """The decoded record at `position`; `decode()` runs (and may raise) on a miss."""
        entry = self._entries.get(position)
        if entry is not None and entry.value == value:
            self._entries.move_to_end(position)
            return entry.decoded
        decoded = decode()
        self._entries[position] = _Entry(value, decoded)
        self._entries.move_to_end(position)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)
        return decoded
