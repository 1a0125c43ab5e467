"""The poll loop of one shard: records in, handler calls, match events out, batch by batch.

Each record goes through `records.RecordDispatcher` (decoded, translated into domain specs,
handed to `ShardMatcher`); the events it returns, and the dead letters of unusable records,
go into the shard's open `ShardUnitOfWork` transaction, which commits them with the input
offsets (the protocol: `adapters.exactly_once`). Unreadable records thus go to the topic's
dead-letter topic inside the same transaction, so they too are handled exactly once. Between
batches the loop runs the shard's timed work the same way, each in a transaction of its
own: the expiry sweep, and the capacity wake-ups (`service_layer.capacity_schedule`).

The module is longer than most: it is one class whose life cycle, loop and transaction
boundaries (when to begin, split and commit) are one argument, read best in one place.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from koppel import kafka_clients
from koppel.consumer_lag import CONSUMER_LAG, ConsumerLag
from koppel.dead_letters import DeadLetterCode
from koppel.kafka_clients import KafkaConnection
from koppel.record_order import in_written_order
from koppel.topics import ASSIGNMENTS, MATCHES, RESPONSES
from koppel_matcher import metrics
from koppel_matcher.adapters.clock import SystemClock
from koppel_matcher.adapters.kafka_producer import dead_letter
from koppel_matcher.entrypoints import garbage_collection
from koppel_matcher.entrypoints.decoded_records import DecodedRecords
from koppel_matcher.entrypoints.records import RecordDispatcher, RejectedRecordError
from koppel_matcher.entrypoints.translation import stored_assignments, stored_profiles
from koppel_matcher.service_layer.matching import Outgoing, ShardMatcher
from koppel_matcher.service_layer.ports import (
    Clock,
    Partition,
    ShardRepository,
    ShardUnitOfWork,
)

log = structlog.get_logger(__name__)

RecordKey = tuple[str, int, int]
"""(topic, partition, offset) of a record being handled."""
WakeUpKey = tuple[str, str]
"""("wakeup", consultant id) of a capacity wake-up being run."""
WorkKey = RecordKey | WakeUpKey
"""What a shard was working on when it failed: counted, so that after
`poison_after_failures` failures it is set aside instead of failing the shard forever."""

IDLE_POLL_MS = 250

KEEPALIVE_COMMIT_SECONDS = 6 * 3600
"""An idle shard commits its unchanged offsets this often: its offset group has no members,
so the broker would otherwise drop the offsets after `offsets.retention.minutes` (7 days)."""


@dataclass(frozen=True, slots=True)
class ShardConsumerConfig:
    kafka: KafkaConnection | str
    group_id: str
    instance_id: str
    fetch_max_wait_ms: int
    fetch_min_bytes: int
    initial_offset: str = "earliest"
    sweep_interval_seconds: float = 30.0
    max_batch: int = 500
    commit_interval_seconds: float = 0.2
    """How long records that publish nothing may wait in the open transaction."""
    max_events_per_transaction: int = 5_000
    """A transaction holds its events in memory until it commits, and must commit within
    the producer's transaction timeout: a fetched batch whose records publish more (500
    assignments against 100,000 profiles publish ~275,000 matches) is split."""
    poison_after_failures: int = 3
    clock: Clock = field(default_factory=SystemClock)
    """What the shard's rules and schedule take the current moment from."""


def shard_consumer(
    kafka: KafkaConnection | str,
    *,
    client_id: str,
    max_records: int,
    fetch_max_wait_ms: int,
    fetch_min_bytes: int,
) -> AIOKafkaConsumer:
    """A consumer without group membership: partitions are assigned and positioned by hand.

    Every shard fetches every assignment partition: see `settings.FETCH_MAX_WAIT_MS` for why
    a fetch gathers records for a while rather than answering at the first byte.
    """
    return kafka_clients.consumer(
        kafka,
        client_id=client_id,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        max_poll_records=max_records,
        fetch_max_wait_ms=fetch_max_wait_ms,
        fetch_min_bytes=fetch_min_bytes,
    )


@dataclass
class _Pending:
    """The open transaction as the loop sees it: where the handlers write, and what it
    counts once it commits."""

    repository: ShardRepository
    started: float
    records: int = 0
    outgoing: list[Outgoing] = field(default_factory=list)
    dead_letter_topics: list[str] = field(default_factory=list)
    consumed: Counter[tuple[str, str]] = field(default_factory=Counter)
    dead: Counter[tuple[str, str]] = field(default_factory=Counter)
    woken: int = 0

    def due(self, config: ShardConsumerConfig) -> bool:
        """Commit now: something waits to be published, the batch is full, or it is old."""
        return bool(
            self.outgoing
            or self.dead_letter_topics
            or self.records >= config.max_batch
            or time.monotonic() - self.started >= config.commit_interval_seconds
        )


class ShardConsumer:
    """Owns one shard while its replica holds the consultant partition of the same number."""

    def __init__(
        self,
        shard: int,
        config: ShardConsumerConfig,
        uow: ShardUnitOfWork,
        failures: Counter[WorkKey],
        decoded: DecodedRecords | None = None,
        *,
        consumer: Callable[..., AIOKafkaConsumer] = shard_consumer,
    ) -> None:
        """`consumer` builds the Kafka consumer (as `shard_consumer`; unit tests give a fake)."""
        self.shard = shard
        self.ready = False
        self.current: WorkKey | None = None
        self._config = config
        self._uow = uow
        self._failures = failures
        self._matcher = ShardMatcher(shard, group=config.group_id, clock=config.clock.now)
        self._records = RecordDispatcher(
            self._matcher, decoded if decoded is not None else DecodedRecords()
        )
        self._make_consumer = consumer
        self._consumer: AIOKafkaConsumer | None = None
        self._partitions: list[TopicPartition] = []
        self._shard_count = 1
        self._last_commit = time.monotonic()
        self._open: _Pending | None = None
        self._lag = ConsumerLag(CONSUMER_LAG, f"{config.group_id}.shard-{shard}")

    # -- life cycle ----------------------------------------------------------------------

    async def open(self) -> None:
        """Take the shard over: fence the previous owner, repair, load, position."""
        config = self._config
        taken = await self._uow.take_over()
        self._consumer = self._make_consumer(
            config.kafka,
            client_id=f"{config.instance_id}.shard-{self.shard}",
            max_records=config.max_batch,
            fetch_max_wait_ms=config.fetch_max_wait_ms,
            fetch_min_bytes=config.fetch_min_bytes,
        )
        await self._consumer.start()
        self._shard_count = taken.shard_count
        self._records.shard_count = taken.shard_count
        self._partitions = [TopicPartition(topic, number) for topic, number in taken.partitions]
        assignments, unreadable = stored_assignments(taken.assignments)
        self._matcher.load(
            assignments,
            stored_profiles(taken.profiles),
            unreadable_assignments=unreadable,
            declined=taken.declined,
            next_wakeup=taken.next_wakeup,
        )
        # The loaded state lives as long as the shard: move it out of the collector's
        # generations, so full collections do not walk it again and again (seconds each
        # with 100k profiles, which would land in the latency of events).
        gc.collect()
        gc.freeze()
        self._consumer.assign(self._partitions)
        missing = [tp for tp in self._partitions if (tp.topic, tp.partition) not in taken.committed]
        for (topic, number), offset in taken.committed.items():
            self._consumer.seek(TopicPartition(topic, number), offset)
        if missing:
            if config.initial_offset == "latest":
                await self._consumer.seek_to_end(*missing)
            else:
                await self._consumer.seek_to_beginning(*missing)
            # Make the starting point durable before anything is read from it.
            await self._commit()
        log.info(
            "shard_taken_over",
            shard=self.shard,
            epoch=taken.epoch,
            seq=taken.seq,
            recovery=taken.recovery,
            profiles=self._matcher.index.profile_count,
            assignments=self._matcher.index.assignment_count,
        )
        self.ready = True

    async def close(self) -> None:
        self.ready = False
        garbage_collection.thaw()
        self._matcher.forget_gauges()
        await self._uow.close()
        self._lag.forget()
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await self._consumer.stop()

    async def run(self, stopping: asyncio.Event) -> None:
        """Process records until `stopping` is set; raise on any failure (the caller restarts).

        Records that publish nothing (most assignments, for most shards) are gathered into
        the open transaction for up to `commit_interval_seconds`; a batch that publishes
        something commits at once, so only silent work waits.
        """
        assert self._consumer is not None
        last_sweep = 0.0
        try:
            while not stopping.is_set():
                batch = await self._consumer.getmany(timeout_ms=self._poll_timeout_ms())
                records = in_written_order(batch)
                if records:
                    await self._process(records)
                if self._open is not None and self._open.due(self._config):
                    await self._finish()
                await self._lag.observe(self._consumer)
                if time.monotonic() - last_sweep >= self._config.sweep_interval_seconds:
                    last_sweep = time.monotonic()
                    await self.sweep()
                if self._matcher.wakeups.is_due():
                    await self.wake_up()
                if time.monotonic() - self._last_commit >= KEEPALIVE_COMMIT_SECONDS:
                    await self._commit()
            if self._open is not None:
                await self._finish()
        except BaseException as exc:
            self._open = None
            await self._uow.abort(exc)
            raise

    def _poll_timeout_ms(self) -> int:
        if self._open is None:
            return IDLE_POLL_MS
        left = self._open.started + self._config.commit_interval_seconds - time.monotonic()
        return max(1, min(IDLE_POLL_MS, int(left * 1000)))

    async def sweep(self) -> None:
        """Withdraw the matches of assignments whose `closes_at` has passed."""
        due = self._matcher.due_for_expiry()
        if not due:
            return
        if self._open is not None:
            await self._finish()  # the sweep must see the state the open batch wrote
        if not await self._uow.has_found(due):
            self._matcher.forget_deadlines(due)
            return
        log.info("expiry_sweep", shard=self.shard, assignments=len(due))

        async def expire(txn: _Pending) -> None:
            self._publish(txn, await self._matcher.expire(txn.repository, due))

        await self._commit(extra=expire)

    async def wake_up(self) -> None:
        """Match again the consultants whose commitment has ended, in a transaction of its own."""
        if self._open is not None:
            await self._finish()  # the wake-up must see the state the open batch wrote

        async def rematch(txn: _Pending) -> None:
            woken, outgoing = await self._matcher.capacity_freed(txn.repository, self._attempt)
            txn.woken += woken
            self._publish(txn, outgoing)

        await self._commit(extra=rematch)
        self.current = None
        self._matcher.wakeups.restart_from(await self._uow.next_wakeup())

    def _attempt(self, consultant_id: str) -> bool:
        """Whether to match the consultant at their wake-up: not after it failed the shard
        `poison_after_failures` times (it then only moves on to their next end moment)."""
        key: WakeUpKey = ("wakeup", consultant_id)
        self.current = key
        failures = self._failures[key]
        if failures < self._config.poison_after_failures:
            return True
        log.error(
            "wakeup_set_aside", shard=self.shard, consultant_id=consultant_id, failures=failures
        )
        metrics.WAKEUPS_SET_ASIDE.inc()
        return False

    # -- one transaction -----------------------------------------------------------------

    async def _process(self, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        """Handle `records` inside the open transaction (opened first when there is none).

        Once the transaction holds `max_events_per_transaction` events, it commits with the
        offsets of the records handled so far, and the rest go into a new one.
        """
        txn = self._open if self._open is not None else await self._begin()
        for index, record in enumerate(records):
            await self._handle(txn, record)
            txn.records += 1
            rest = records[index + 1 :]
            if rest and len(txn.outgoing) >= self._config.max_events_per_transaction:
                self.current = None
                log.info(
                    "transaction_split",
                    shard=self.shard,
                    events=len(txn.outgoing),
                    records_left=len(rest),
                )
                await self._finish(resume_at=_first_offsets(rest))
                txn = await self._begin()
        self.current = None

    async def _commit(self, *, extra: Callable[[_Pending], Awaitable[None]] | None = None) -> None:
        """One transaction of its own: `extra`'s work (or nothing) and the current offsets."""
        if self._open is not None:
            await self._finish()
        txn = await self._begin()
        if extra is not None:
            await extra(txn)
        await self._finish()

    async def _begin(self) -> _Pending:
        repository = await self._uow.begin()
        self._open = _Pending(repository=repository, started=time.monotonic())
        return self._open

    def _publish(self, txn: _Pending, outgoing: list[Outgoing]) -> None:
        for item in outgoing:
            self._uow.publish(item.key, item.event)
        txn.outgoing += outgoing

    async def _finish(self, *, resume_at: dict[TopicPartition, int] | None = None) -> None:
        """Commit the open transaction with the shard's positions.

        `resume_at`: offsets of fetched records not handled yet, committed instead of the
        consumer's position for their partitions.
        """
        consumer, txn = self._consumer, self._open
        assert consumer is not None
        assert txn is not None
        resume = resume_at or {}
        offsets: dict[Partition, int] = {
            (tp.topic, tp.partition): resume[tp] if tp in resume else await consumer.position(tp)
            for tp in self._partitions
        }
        await self._uow.commit(offsets)
        self._open = None
        self._last_commit = time.monotonic()
        self._count(txn)
        self._matcher.publish_gauges()

    def _count(self, txn: _Pending) -> None:
        for item in txn.outgoing:
            metrics.MATCHES_EMITTED.labels(item.event.type).inc()
        if txn.outgoing:
            metrics.EVENTS_PRODUCED.labels(MATCHES).inc(len(txn.outgoing))
        for topic in txn.dead_letter_topics:
            metrics.EVENTS_PRODUCED.labels(topic).inc()
        for (topic, outcome), count in txn.consumed.items():
            metrics.EVENTS_CONSUMED.labels(topic, outcome).inc(count)
        if txn.woken:
            log.info("capacity_wakeups", shard=self.shard, consultants=txn.woken)
            metrics.CAPACITY_WAKEUPS.inc(txn.woken)
        for (topic, code), count in txn.dead.items():
            metrics.DEAD_LETTERS.labels(topic, code).inc(count)

    # -- one record ----------------------------------------------------------------------

    async def _handle(self, txn: _Pending, record: ConsumerRecord[bytes, bytes]) -> None:
        """Handle one record into `txn`: its events, or its dead letter."""
        key: RecordKey = (record.topic, record.partition, record.offset)
        self.current = key
        with structlog.contextvars.bound_contextvars(
            shard=self.shard,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
        ):
            try:
                if self._failures[key] >= self._config.poison_after_failures:
                    raise RejectedRecordError(
                        DeadLetterCode.PROCESSING_FAILED,
                        f"processing failed {self._failures[key]} times; see the logs",
                    )
                outcome, outgoing = await self._records.dispatch(txn.repository, record)
                self._publish(txn, outgoing)
            except RejectedRecordError as exc:
                if not self._dead_letters_for(record):
                    outcome = "rejected_elsewhere"
                else:
                    log.warning("record_dead_lettered", code=exc.code, reason=str(exc))
                    letter = dead_letter(record, code=exc.code, reason=str(exc))
                    self._uow.dead_letter(letter)
                    txn.dead_letter_topics.append(letter[0])
                    txn.dead[(record.topic, exc.code)] += 1
                    outcome = "dead_lettered"
            txn.consumed[(record.topic, outcome)] += 1

    def _dead_letters_for(self, record: ConsumerRecord[bytes, bytes]) -> bool:
        """Every shard reads every assignment and answer; only one dead-letters a bad one."""
        if record.topic not in (ASSIGNMENTS, RESPONSES):
            return True
        return bool(record.partition % self._shard_count == self.shard)


def _first_offsets(records: list[ConsumerRecord[bytes, bytes]]) -> dict[TopicPartition, int]:
    """The offset of each partition's first record (each partition's in offset order)."""
    first: dict[TopicPartition, int] = {}
    for record in records:
        first.setdefault(TopicPartition(record.topic, record.partition), record.offset)
    return first
