"""Watches Koppel's topics from "now" on, without a consumer group, and tallies what it sees."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field

from aiokafka import TopicPartition

from koppel import kafka_clients
from koppel.cloudevents import decode
from koppel.contract import (
    MatchFound,
    MatchUpdated,
    MatchWithdrawn,
    NotificationDelivered,
    NotificationFailed,
)
from koppel.errors import EnvelopeError, PayloadError
from koppel.kafka_clients import KafkaConnection
from koppel.topics import ASSIGNMENTS, CONSULTANTS, MATCHES, NOTIFICATIONS, RAW, dlq

WATCHED = (ASSIGNMENTS, CONSULTANTS, MATCHES, NOTIFICATIONS)
DEAD_LETTER_TOPICS = tuple(
    dlq(topic) for topic in (RAW, ASSIGNMENTS, CONSULTANTS, MATCHES, NOTIFICATIONS)
)


@dataclass
class Tally:
    """What the topics carried about `keys` (the demo's entity ids) since the watcher started.

    Records with other keys are ignored: on a shared broker other runs and tests publish too.
    """

    keys: frozenset[str] = frozenset()
    events_by_type: Counter[str] = field(default_factory=Counter)
    dead_letters: Counter[str] = field(default_factory=Counter)
    undecodable: int = 0
    error: str | None = None
    found: dict[str, MatchFound] = field(default_factory=dict)  # by match id, latest revision
    first_found_at: dict[str, float] = field(default_factory=dict)  # by match id, event time
    updated: list[MatchUpdated] = field(default_factory=list)
    withdrawn: list[MatchWithdrawn] = field(default_factory=list)
    withdrawn_ids: set[str] = field(default_factory=set)  # matches whose latest event withdrew
    delivered: list[NotificationDelivered] = field(default_factory=list)
    failed: list[NotificationFailed] = field(default_factory=list)
    last_match_activity: float | None = None  # monotonic time of the latest match/delivery

    @property
    def deliveries(self) -> int:
        return len(self.delivered) + len(self.failed)

    @property
    def standing(self) -> list[MatchFound]:
        """The matches still standing: found, and not withdrawn since."""
        return [m for match_id, m in self.found.items() if match_id not in self.withdrawn_ids]

    def record(
        self, topic: str, key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]]
    ) -> None:
        if not self._about_us(key):
            return
        if topic in DEAD_LETTER_TOPICS:
            self.dead_letters[topic] += 1
            return
        if value is None:  # an erasure tombstone on the consultants topic
            self.events_by_type["(tombstone)"] += 1
            return
        try:
            event = decode(value, headers)
            payload = event.payload() if topic in (MATCHES, NOTIFICATIONS) else None
        except (EnvelopeError, PayloadError):
            self.undecodable += 1
            return
        if isinstance(payload, NotificationDelivered | NotificationFailed):
            # Kept either way (the summary sorts them out once every match has been read),
            # but only those about the demo's matches count as activity.
            if isinstance(payload, NotificationDelivered):
                self.delivered.append(payload)
            else:
                self.failed.append(payload)
            if any(match_id in self.found for match_id in payload.match_ids):
                self.events_by_type[event.type] += 1
                self.last_match_activity = time.monotonic()
            return
        if not self._about_us_too(payload):
            return
        if topic == MATCHES:
            self.last_match_activity = time.monotonic()
        self.events_by_type[event.type] += 1
        if isinstance(payload, MatchUpdated):
            self.updated.append(payload)
        if isinstance(payload, MatchFound):
            self.found[payload.match_id] = payload
            self.withdrawn_ids.discard(payload.match_id)
            if event.time is not None:
                self.first_found_at.setdefault(payload.match_id, event.time.timestamp())
        elif isinstance(payload, MatchWithdrawn):
            self.withdrawn.append(payload)
            self.withdrawn_ids.add(payload.match_id)

    def _about_us(self, key: bytes | None) -> bool:
        return not self.keys or (key is not None and key.decode(errors="replace") in self.keys)

    def _about_us_too(self, payload: object) -> bool:
        """A match is keyed by its consultant: its assignment must be one of ours as well."""
        if not self.keys:
            return True
        if isinstance(payload, MatchFound):
            return payload.assignment.id in self.keys
        if isinstance(payload, MatchWithdrawn):
            return payload.assignment_id in self.keys
        return True  # the entity topics: the key said it all


class TopicWatcher:
    """Reads every partition of the watched topics from their end offsets at `start()`."""

    def __init__(self, kafka: KafkaConnection | str, keys: frozenset[str] = frozenset()) -> None:
        self.tally = Tally(keys)
        self._kafka = kafka
        self._consumer = kafka_clients.consumer(
            kafka,
            group_id=None,
            enable_auto_commit=False,
            # The matcher publishes in transactions: count only what was committed.
            isolation_level="read_committed",
            client_id="koppel-demo-watcher",
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        partitions = await _partitions(self._kafka, (*WATCHED, *DEAD_LETTER_TOPICS))
        await self._consumer.start()
        self._consumer.assign(partitions)
        ends = await self._consumer.end_offsets(partitions)
        for partition, offset in ends.items():
            self._consumer.seek(partition, offset)
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        try:
            while True:
                batches = await self._consumer.getmany(timeout_ms=500, max_records=2000)
                for partition, records in batches.items():
                    for record in records:
                        self.tally.record(
                            partition.topic, record.key, record.value, list(record.headers)
                        )
        except Exception as exc:  # reported in the summary instead of lost with the task
            self.tally.error = f"{type(exc).__name__}: {exc}"

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()


async def _partitions(
    kafka: KafkaConnection | str, topics: tuple[str, ...]
) -> list[TopicPartition]:
    """Every partition of those `topics` that exist (a missing DLQ is simply not watched)."""
    admin = kafka_clients.admin(kafka, client_id="koppel-demo")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        present = [topic for topic in topics if topic in existing]
        descriptions = await admin.describe_topics(present) if present else []
    finally:
        await admin.close()
    return [
        TopicPartition(description["topic"], partition["partition"])
        for description in descriptions
        for partition in description["partitions"]
    ]
