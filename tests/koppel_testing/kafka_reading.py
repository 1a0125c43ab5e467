"""Readers of real Kafka topics for the integration tests.

Each reader starts at the end offsets it finds when opened, so tests sharing one broker
never see each other's earlier records.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeAlias, TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from koppel.cloudevents import CloudEvent, decode

Record: TypeAlias = "ConsumerRecord[bytes, bytes]"
Item = TypeVar("Item")


async def partitions_of(bootstrap: str, topic: str) -> list[TopicPartition]:
    """Every partition of `topic`, in order; fails if the topic does not exist."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [description] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    numbers = sorted(partition["partition"] for partition in description["partitions"])
    assert numbers, f"topic {topic} does not exist"
    return [TopicPartition(topic, number) for number in numbers]


class TopicReader:
    """Reads one topic from the end offsets it found when opened."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self._consumer = consumer
        self.seen: list[Record] = []

    @classmethod
    async def at_end(cls, bootstrap: str, topic: str) -> TopicReader:
        partitions = await partitions_of(bootstrap, topic)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None
        )
        await consumer.start()
        consumer.assign(partitions)
        for partition, offset in (await consumer.end_offsets(partitions)).items():
            consumer.seek(partition, offset)
        return cls(consumer)

    async def wait_for(self, key: bytes, *, count: int = 1, within: float = 30.0) -> list[Record]:
        """The first `count` records with `key` since opening; fails after `within` seconds."""
        found = await self.wait_until(key, lambda records: len(records) >= count, within=within)
        return found[:count]

    async def events(self, key: bytes, *, count: int = 1, within: float = 30.0) -> list[CloudEvent]:
        """The first `count` records with `key` since opening, decoded as CloudEvents."""
        records = await self.wait_for(key, count=count, within=within)
        return [decode(record.value, record.headers) for record in records]

    async def wait_until(
        self, key: bytes, done: Callable[[list[Record]], bool], *, within: float = 30.0
    ) -> list[Record]:
        """Records with `key` since opening, once `done(records)` holds.

        For assertions that must tolerate duplicates: another service (say one started by
        `make up`) may write the same keys on the shared broker too.
        """
        async with asyncio.timeout(within):
            while not done(matching := [r for r in self.seen if r.key == key]):
                await self._poll(500)
        return matching

    async def drain(self, seconds: float) -> list[Record]:
        """Everything that arrives within `seconds` (to assert that nothing more came)."""
        deadline = asyncio.get_running_loop().time() + seconds
        while asyncio.get_running_loop().time() < deadline:
            await self._poll(300)
        return self.seen

    async def _poll(self, timeout_ms: int) -> None:
        for records in (await self._consumer.getmany(timeout_ms=timeout_ms)).values():
            self.seen.extend(records)

    async def close(self) -> None:
        await self._consumer.stop()


OpenReader: TypeAlias = Callable[[str], Awaitable[TopicReader]]
"""The `reader` fixture: `await reader(topic)` opens a `TopicReader` at the topic's end."""


class Ledger:
    """What was appended to some topics between `open()` and `read()`.

    Publishing is awaited before a service answers a request, so once every response is
    in, everything the requests caused is already below the topics' end offsets: reading up
    to them needs no waiting and cannot miss anything.
    """

    def __init__(self, consumer: AIOKafkaConsumer, start: dict[TopicPartition, int]) -> None:
        self._consumer = consumer
        self._start = start

    @classmethod
    async def open(cls, bootstrap: str, topics: list[str]) -> Ledger:
        partitions = [p for topic in topics for p in await partitions_of(bootstrap, topic)]
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None
        )
        await consumer.start()
        consumer.assign(partitions)
        return cls(consumer, await consumer.end_offsets(partitions))

    async def read(self) -> list[Record]:
        """Every record appended since `open()`, up to the end offsets of now."""
        end = await self._consumer.end_offsets(list(self._start))
        records: list[Record] = []
        for partition, offset in self._start.items():
            self._consumer.seek(partition, offset)
        remaining = {p for p in self._start if end[p] > self._start[p]}
        async with asyncio.timeout(60):
            while remaining:
                batches = await self._consumer.getmany(*remaining, timeout_ms=500)
                for partition, batch in batches.items():
                    records.extend(r for r in batch if r.offset < end[partition])
                # The position, not the last offset seen: transaction markers take offsets too.
                for partition in list(remaining):
                    if await self._consumer.position(partition) >= end[partition]:
                        remaining.discard(partition)
        return records

    async def close(self) -> None:
        await self._consumer.stop()


OpenLedger: TypeAlias = Callable[[list[str]], Awaitable[Ledger]]
"""The `ledger` fixture: `await ledger(topics)` opens a `Ledger` of those topics."""


def new_trace() -> tuple[str, str]:
    """A fresh W3C `traceparent` and its trace id, to recognise what one test caused."""
    trace_id = secrets.token_hex(16)
    return f"00-{trace_id}-{secrets.token_hex(8)}-01", trace_id


def carries_trace(record: Record, trace_id: str) -> bool:
    """Whether a record belongs to the trace (in its value or its headers)."""
    needle = trace_id.encode()
    in_headers = any(value is not None and needle in value for _, value in record.headers)
    return in_headers or (record.value is not None and needle in record.value)


class Collector(Generic[Item]):
    """Reads the committed records of a topic from the moment it starts, in the background,
    keeping those that `parse` turns into an item and `keep` accepts."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        parse: Callable[[Record], Item | None],
        keep: Callable[[Item], bool] = lambda item: True,
    ) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=None,
            isolation_level="read_committed",
            enable_auto_commit=False,
        )
        self._bootstrap = bootstrap
        self._topic = topic
        self._parse = parse
        self._keep = keep
        self.items: list[Item] = []
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        partitions = await partitions_of(self._bootstrap, self._topic)
        await self._consumer.start()
        self._consumer.assign(partitions)
        await self._consumer.seek_to_end(*partitions)
        for partition in partitions:
            await self._consumer.position(partition)
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            for records in (await self._consumer.getmany(timeout_ms=100)).values():
                for record in records:
                    item = self._parse(record)
                    if item is not None and self._keep(item):
                        self.items.append(item)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()

    async def wait_for(self, count: int, within: float = 60.0) -> list[Item]:
        """The items once there are `count`; fails after `within` s (a service can stall for
        tens of seconds on a loaded 2-core machine)."""
        deadline = time.monotonic() + within
        while len(self.items) < count and time.monotonic() < deadline:  # noqa: ASYNC110 - polling a list another task fills
            await asyncio.sleep(0.1)
        assert len(self.items) >= count, f"expected {count} items, got {self.items!r}"
        return list(self.items)

    async def settle(self, seconds: float = 2.0) -> list[Item]:
        """Wait a while so that unexpected extra items would show up."""
        await asyncio.sleep(seconds)
        return list(self.items)
