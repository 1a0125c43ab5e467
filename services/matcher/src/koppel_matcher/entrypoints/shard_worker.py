"""The worker of one shard: records in, match events out, one Kafka transaction per batch.

The protocol (take-over, repair, per-batch transaction) is described in
`service_layer.exactly_once`; this module is its Kafka and PostgreSQL plumbing, and the thin
entrypoint that turns each record into a call on `ShardMatcher`. Unreadable records go to the
topic's dead-letter topic inside the same transaction, so they too are handled exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import ValidationError

from koppel import tracing
from koppel.cloudevents import CloudEvent, decode, encode
from koppel.consumer_lag import CONSUMER_LAG, ConsumerLag
from koppel.contract import Assignment, AssignmentClosed, ConsultantErasure, ConsultantProfile
from koppel.contract.common import ID_PATTERN, EventData
from koppel.dead_letters import DeadLetterCode
from koppel.erasure import tombstone_time
from koppel.errors import EnvelopeError
from koppel.event_types import EventType
from koppel.kafka_clients import KafkaConnection
from koppel.record_order import in_written_order
from koppel.topics import ASSIGNMENTS, CONSULTANTS, MATCHES
from koppel_matcher import metrics
from koppel_matcher.adapters.kafka_clients import (
    committed_offsets,
    dead_letter,
    partitions_of,
    shard_consumer,
    transactional_producer,
)
from koppel_matcher.adapters.state_store import ShardTransaction, StateStore
from koppel_matcher.adapters.translation import TranslationError, profile_spec
from koppel_matcher.domain.model import ProfileSpec
from koppel_matcher.entrypoints import garbage_collection
from koppel_matcher.entrypoints.decoded_records import DecodedRecords
from koppel_matcher.entrypoints.fault_injection import CrashPoint
from koppel_matcher.service_layer.exactly_once import seq_metadata
from koppel_matcher.service_layer.matching import Outgoing, ShardMatcher

log = structlog.get_logger(__name__)

_ENTITY_ID = re.compile(ID_PATTERN)
_EXPECTED = {
    ASSIGNMENTS: {EventType.ASSIGNMENT_UPSERTED, EventType.ASSIGNMENT_CLOSED},
    CONSULTANTS: {EventType.CONSULTANT_UPSERTED, EventType.CONSULTANT_ERASED},
}

RecordKey = tuple[str, int, int]

IDLE_POLL_MS = 250

KEEPALIVE_COMMIT_SECONDS = 6 * 3600
"""An idle shard commits its unchanged offsets this often: its offset group has no members,
so the broker would otherwise drop the offsets after `offsets.retention.minutes` (7 days)."""


@dataclass(frozen=True, slots=True)
class WorkerConfig:
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
    crash_point: CrashPoint | None = None


class RejectedRecordError(Exception):
    """A record the matcher cannot use; it goes to the dead-letter topic with `code`."""

    def __init__(self, code: DeadLetterCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code


@dataclass
class _Batch:
    """What one transaction publishes and counts once it commits."""

    outgoing: list[Outgoing] = field(default_factory=list)
    dead_letters: list[tuple[str, bytes | None, bytes | None, list[tuple[str, bytes]]]] = field(
        default_factory=list
    )
    consumed: Counter[tuple[str, str]] = field(default_factory=Counter)
    dead: Counter[tuple[str, str]] = field(default_factory=Counter)


@dataclass
class _OpenTransaction:
    """A Kafka and a PostgreSQL transaction in progress, moving the shard to `seq`."""

    seq: int
    tx: ShardTransaction
    scope: contextlib.AsyncExitStack
    started: float
    records: int = 0
    batch: _Batch = field(default_factory=_Batch)

    def due(self, config: WorkerConfig) -> bool:
        """Commit now: something waits to be published, the batch is full, or it is old."""
        return bool(
            self.batch.outgoing
            or self.batch.dead_letters
            or self.records >= config.max_batch
            or time.monotonic() - self.started >= config.commit_interval_seconds
        )


class ShardWorker:
    """Owns one shard while its replica holds the consultant partition of the same number."""

    def __init__(
        self,
        shard: int,
        config: WorkerConfig,
        store: StateStore,
        admin: AIOKafkaAdminClient,
        failures: Counter[RecordKey],
        decoded: DecodedRecords | None = None,
    ) -> None:
        self.shard = shard
        self.ready = False
        self.current: RecordKey | None = None
        self._config = config
        self._store = store
        self._admin = admin
        self._failures = failures
        self._decoded = decoded if decoded is not None else DecodedRecords()
        self._matcher = ShardMatcher(shard, group=config.group_id)
        self._offsets_group = f"{config.group_id}.shard-{shard}"
        self._producer: AIOKafkaProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._partitions: list[TopicPartition] = []
        self._epoch = 0
        self._seq = 0
        self._shard_count = 1
        self._last_commit = time.monotonic()
        self._open: _OpenTransaction | None = None
        self._lag = ConsumerLag(CONSUMER_LAG, self._offsets_group)

    # -- life cycle ----------------------------------------------------------------------

    async def open(self) -> None:
        """Take the shard over: fence the previous owner, repair, load, position."""
        config = self._config
        client_id = f"{config.instance_id}.shard-{self.shard}"
        self._producer = transactional_producer(
            config.kafka,
            transactional_id=f"{config.group_id}.shard-{self.shard}",
            client_id=client_id,
        )
        await self._producer.start()  # InitProducerId: fences the previous owner in Kafka
        self._consumer = shard_consumer(
            config.kafka,
            client_id=client_id,
            max_records=config.max_batch,
            fetch_max_wait_ms=config.fetch_max_wait_ms,
            fetch_min_bytes=config.fetch_min_bytes,
        )
        await self._consumer.start()
        assignment_partitions = await partitions_of(self._admin, ASSIGNMENTS)
        self._shard_count = len(await partitions_of(self._admin, CONSULTANTS))
        if not assignment_partitions:
            raise RuntimeError(f"topic {ASSIGNMENTS} has no partitions (not created?)")
        self._partitions = [
            TopicPartition(CONSULTANTS, self.shard),
            *(TopicPartition(ASSIGNMENTS, p) for p in assignment_partitions),
        ]
        offsets, kafka_seq = await committed_offsets(
            self._admin, self._offsets_group, self._partitions
        )
        self._epoch, plan = await self._store.take_over(self.shard, kafka_seq)
        self._seq = plan.seq
        assignments, unreadable = await self._stored_assignments()
        self._matcher.load(
            assignments, await self._stored_profiles(), unreadable_assignments=unreadable
        )
        # The loaded state lives as long as the shard: move it out of the collector's
        # generations, so full collections do not walk it again and again (seconds each
        # with 100k profiles, which would land in the latency of events).
        gc.collect()
        gc.freeze()
        self._consumer.assign(self._partitions)
        missing = [tp for tp in self._partitions if tp not in offsets]
        for tp, offset in offsets.items():
            self._consumer.seek(tp, offset)
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
            epoch=self._epoch,
            seq=self._seq,
            recovery=plan.action.value,
            profiles=self._matcher.index.profile_count,
            assignments=self._matcher.index.assignment_count,
        )
        self.ready = True

    async def _stored_assignments(self) -> tuple[list[Assignment], list[str]]:
        """The shard's assignments, and the ids of rows the contract no longer accepts
        (skipped, loudly)."""
        loaded, unreadable = [], []
        for document in await self._store.load_assignments(self.shard):
            try:
                loaded.append(Assignment.model_validate(document))
            except ValidationError as exc:
                log.error("stored_assignment_unreadable", id=document.get("id"), error=str(exc))
                unreadable.append(str(document.get("id")))
        return loaded, unreadable

    async def _stored_profiles(self) -> list[ProfileSpec]:
        loaded = []
        for document in await self._store.load_profiles(self.shard):
            try:
                loaded.append(profile_spec(document))
            except TranslationError as exc:
                log.error("stored_profile_unreadable", id=document.get("id"), error=str(exc))
        return loaded

    async def close(self) -> None:
        self.ready = False
        garbage_collection.thaw()
        self._matcher.forget_gauges()
        if self._producer is not None:
            with contextlib.suppress(Exception):
                await self._producer.stop()
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
                if time.monotonic() - self._last_commit >= KEEPALIVE_COMMIT_SECONDS:
                    await self._commit()
            if self._open is not None:
                await self._finish()
        except BaseException as exc:
            await self._abandon(exc)
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
        if not await self._store.has_found(self.shard, due):
            self._matcher.forget_deadlines(due)
            return
        log.info("expiry_sweep", shard=self.shard, assignments=len(due))

        async def expire(tx: ShardTransaction, batch: _Batch) -> None:
            batch.outgoing += await self._matcher.expire(tx, due)

        await self._commit(extra=expire)

    # -- one transaction -----------------------------------------------------------------

    async def _process(self, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        """Handle `records` inside the open transaction (opened first when there is none).

        Once the transaction holds `max_events_per_transaction` events, it commits with the
        offsets of the records handled so far, and the rest go into a new one.
        """
        txn = self._open if self._open is not None else await self._begin()
        for index, record in enumerate(records):
            await self._handle(txn.tx, record, txn.batch)
            txn.records += 1
            rest = records[index + 1 :]
            if rest and len(txn.batch.outgoing) >= self._config.max_events_per_transaction:
                self.current = None
                log.info(
                    "transaction_split",
                    shard=self.shard,
                    events=len(txn.batch.outgoing),
                    records_left=len(rest),
                )
                await self._finish(resume_at=_first_offsets(rest))
                txn = await self._begin()
        self.current = None

    async def _commit(
        self, *, extra: Callable[[ShardTransaction, _Batch], Awaitable[None]] | None = None
    ) -> None:
        """One transaction of its own: `extra`'s work (or nothing) and the current offsets."""
        if self._open is not None:
            await self._finish()
        txn = await self._begin()
        if extra is not None:
            await extra(txn.tx, txn.batch)
        await self._finish()

    async def _begin(self) -> _OpenTransaction:
        assert self._producer is not None
        seq = self._seq + 1
        await self._producer.begin_transaction()
        scope = contextlib.AsyncExitStack()
        try:
            tx = await scope.enter_async_context(
                self._store.transaction(self.shard, epoch=self._epoch, seq=seq)
            )
        except BaseException:
            await scope.aclose()
            raise
        self._open = _OpenTransaction(seq=seq, tx=tx, scope=scope, started=time.monotonic())
        return self._open

    async def _finish(self, *, resume_at: dict[TopicPartition, int] | None = None) -> None:
        """Publish, commit PostgreSQL, then commit the offsets and the Kafka transaction.

        `resume_at`: offsets of fetched records not handled yet, committed instead of the
        consumer's position for their partitions.
        """
        producer, consumer, txn = self._producer, self._consumer, self._open
        assert producer is not None
        assert consumer is not None
        assert txn is not None
        batch = txn.batch
        sends = []
        for item in batch.outgoing:
            value, headers = encode(item.event)
            sends.append(
                await producer.send(MATCHES, value=value, key=item.key.encode(), headers=headers)
            )
        for topic, dead_key, dead_value, dead_headers in batch.dead_letters:
            sends.append(
                await producer.send(topic, value=dead_value, key=dead_key, headers=dead_headers)
            )
        await asyncio.gather(*sends)
        self._open = None
        await txn.scope.aclose()  # the database commits first (see exactly_once)
        self._seq = txn.seq
        if self._config.crash_point is not None and batch.outgoing:
            self._config.crash_point.database_committed()
        resume = resume_at or {}
        positions = {
            tp: (resume[tp] if tp in resume else await consumer.position(tp), seq_metadata(txn.seq))
            for tp in self._partitions
        }
        await producer.send_offsets_to_transaction(positions, self._offsets_group)
        await producer.commit_transaction()
        self._last_commit = time.monotonic()
        self._count(batch)
        self._matcher.publish_gauges()
        if txn.tx.holds_erased_data:
            with contextlib.suppress(Exception):
                # Undo rows may hold an erased consultant's data: drop them as soon as possible.
                await self._store.clear_undo(self.shard)

    async def _abandon(self, exc: BaseException) -> None:
        """Roll the open database transaction back after a failure (Kafka's aborts on restart)."""
        txn, self._open = self._open, None
        if txn is not None:
            with contextlib.suppress(Exception):
                await txn.scope.__aexit__(type(exc), exc, exc.__traceback__)

    def _count(self, batch: _Batch) -> None:
        for item in batch.outgoing:
            metrics.MATCHES_EMITTED.labels(item.event.type).inc()
        if batch.outgoing:
            metrics.EVENTS_PRODUCED.labels(MATCHES).inc(len(batch.outgoing))
        for topic, *_ in batch.dead_letters:
            metrics.EVENTS_PRODUCED.labels(topic).inc()
        for (topic, outcome), count in batch.consumed.items():
            metrics.EVENTS_CONSUMED.labels(topic, outcome).inc(count)
        for (topic, code), count in batch.dead.items():
            metrics.DEAD_LETTERS.labels(topic, code).inc(count)

    # -- one record ----------------------------------------------------------------------

    async def _handle(
        self, tx: ShardTransaction, record: ConsumerRecord[bytes, bytes], batch: _Batch
    ) -> None:
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
                outcome = await self._dispatch(tx, record, batch)
            except RejectedRecordError as exc:
                if not self._dead_letters_for(record):
                    outcome = "rejected_elsewhere"
                else:
                    log.warning("record_dead_lettered", code=exc.code, reason=str(exc))
                    letter = dead_letter(record, code=exc.code, reason=str(exc))
                    batch.dead_letters.append(letter)
                    batch.dead[(record.topic, exc.code)] += 1
                    outcome = "dead_lettered"
            batch.consumed[(record.topic, outcome)] += 1

    def _dead_letters_for(self, record: ConsumerRecord[bytes, bytes]) -> bool:
        """Every shard reads every assignment; only one of them dead-letters a bad one."""
        if record.topic != ASSIGNMENTS:
            return True
        return bool(record.partition % self._shard_count == self.shard)

    async def _dispatch(
        self, tx: ShardTransaction, record: ConsumerRecord[bytes, bytes], batch: _Batch
    ) -> str:
        key = _record_key(record)
        traceparent = tracing.from_headers(record.headers)
        if record.value is None:
            if record.topic != CONSULTANTS or key is None:
                raise RejectedRecordError(
                    DeadLetterCode.INVALID_ENVELOPE, "tombstone without a consultant id key"
                )
            erased_at = tombstone_time(record.headers, record.timestamp)
            with structlog.contextvars.bound_contextvars(
                entity_id=key, **tracing.log_context(traceparent)
            ):
                log.info("consultant_erasure")
                batch.outgoing += await self._matcher.consultant_erased(
                    tx, key, traceparent, erased_at
                )
            return "erased"
        value = record.value

        def decoded() -> tuple[CloudEvent, EventData]:
            try:
                event = decode(value, record.headers or ())
                if _event_type(event.type) not in _EXPECTED.get(record.topic, set()):
                    raise RejectedRecordError(
                        DeadLetterCode.UNKNOWN_TYPE, f"type {event.type!r} on {record.topic}"
                    )
                return event, event.payload()
            except EnvelopeError as exc:
                raise RejectedRecordError(exc.code, str(exc)) from exc

        if record.topic == ASSIGNMENTS:
            position = (record.topic, record.partition, record.offset)
            event, payload = self._decoded.get_or_decode(position, value, decoded)
        else:
            event, payload = decoded()
        traceparent = event.traceparent or traceparent
        entity_id = payload.entity_id
        if key != entity_id:
            raise RejectedRecordError(
                DeadLetterCode.KEY_MISMATCH, f"record key {key!r} is not the entity id"
            )
        with structlog.contextvars.bound_contextvars(
            event_id=event.id, entity_id=entity_id, **tracing.log_context(traceparent)
        ):
            if isinstance(payload, ConsultantProfile) and await self._matcher.predates_erasure(
                tx, payload.id, event.time
            ):
                log.info("record_predates_erasure")
                return "stale_after_erasure"
            try:
                outgoing = await self._apply(tx, payload, traceparent, event.time)
            except TranslationError as exc:
                raise RejectedRecordError(DeadLetterCode.INVALID_PAYLOAD, str(exc)) from exc
            if outgoing is None:
                log.info("assignment_closed_unknown")
                return "ignored"
            batch.outgoing += outgoing
            # Every shard reads every assignment: only the ones that publish are worth INFO.
            report = log.info if outgoing or record.topic == CONSULTANTS else log.debug
            report("event_processed", type=event.type, published=len(outgoing))
        return "processed"

    async def _apply(
        self,
        tx: ShardTransaction,
        payload: object,
        traceparent: str | None,
        written_at: datetime | None,
    ) -> list[Outgoing] | None:
        if isinstance(payload, Assignment):
            return await self._matcher.assignment_upserted(tx, payload, traceparent)
        if isinstance(payload, AssignmentClosed):
            return await self._matcher.assignment_closed(tx, payload, traceparent)
        if isinstance(payload, ConsultantProfile):
            return await self._matcher.profile_upserted(tx, payload, traceparent)
        if isinstance(payload, ConsultantErasure):
            erased_at = written_at or datetime.now(UTC)
            return await self._matcher.consultant_erased(
                tx, payload.consultant_id, traceparent, erased_at
            )
        raise RejectedRecordError(
            DeadLetterCode.UNKNOWN_TYPE, f"no handler for {type(payload).__name__}"
        )


def _event_type(name: str) -> EventType | None:
    try:
        return EventType(name)
    except ValueError:
        return None


def _first_offsets(records: list[ConsumerRecord[bytes, bytes]]) -> dict[TopicPartition, int]:
    """The offset of each partition's first record (each partition's in offset order)."""
    first: dict[TopicPartition, int] = {}
    for record in records:
        first.setdefault(TopicPartition(record.topic, record.partition), record.offset)
    return first


def _record_key(record: ConsumerRecord[bytes, bytes]) -> str | None:
    if record.key is None:
        return None
    try:
        key = record.key.decode()
    except UnicodeDecodeError:
        return None
    return key if _ENTITY_ID.fullmatch(key) else None
