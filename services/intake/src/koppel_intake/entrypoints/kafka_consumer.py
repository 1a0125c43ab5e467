"""The consumer of `koppel.intake.raw.v1`: validate, route, then commit.

aiokafka is used directly (not FastStream: docs/decisions/0001-faststream.md) because the
commit must follow the broker's acknowledgement of the *output*: for each partition batch we
route every record, produce all outputs (canonical events or dead letters) and await their
acks, and only then commit the offset after the batch. A crash or cancellation anywhere
before the commit means the batch is read again by the next owner of the partition
(at-least-once); re-processing yields the same canonical event ids, so consumers
de-duplicate. When the broker refuses the output, the partition is rewound to the first
unacknowledged record and retried after a pause; a bad record never blocks, since every
record has an output (see `raw_routing`).

Transactions (exactly-once) are not used: the producer is shared with the HTTP API, and
at-least-once with stable event ids is what the rest of Koppel is built for.
"""

from __future__ import annotations

import asyncio
import contextvars

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from koppel import kafka_clients
from koppel.consumer_lag import CONSUMER_LAG, ConsumerLag
from koppel.kafka_clients import KafkaConnection
from koppel.secret_sealing import SecretKeyring
from koppel.topics import RAW
from koppel_intake import metrics
from koppel_intake.service_layer.ports import EventPublisher, PublishError
from koppel_intake.service_layer.raw_routing import IncomingRecord, Routed, route
from koppel_intake.settings import DEFAULT_RAW_GROUP

log = structlog.get_logger(__name__)


class RawConsumer:
    def __init__(
        self,
        kafka: KafkaConnection | str,
        publisher: EventPublisher,
        *,
        keyring: SecretKeyring,
        group_id: str = DEFAULT_RAW_GROUP,
        topic: str = RAW,
        max_records: int = 200,
        retry_seconds: float = 2.0,
    ) -> None:
        self._kafka = kafka
        self._publisher = publisher
        self._keyring = keyring
        self._group_id = group_id
        self._topic = topic
        self._max_records = max_records
        self._retry_seconds = retry_seconds
        self._stopping = asyncio.Event()
        self.assigned = asyncio.Event()
        self._lag = ConsumerLag(CONSUMER_LAG, group_id)

    def stop(self) -> None:
        """Finish the batch in hand, commit it, and return from `run()`."""
        self._stopping.set()

    async def run(self) -> None:
        """Consume until `stop()`; reconnect with a pause whenever the broker goes away."""
        while not self._stopping.is_set():
            consumer = kafka_clients.consumer(
                self._kafka,
                self._topic,
                group_id=self._group_id,
                client_id="koppel-intake-raw",
                enable_auto_commit=False,
                auto_offset_reset="earliest",
            )
            try:
                await consumer.start()
                log.info("raw consumer started", topic=self._topic, group=self._group_id)
                await self._consume(consumer)
            except KafkaError as exc:
                log.warning("raw consumer lost the broker; retrying", error=str(exc))
                await self._pause()
            except Exception:
                # Never crash-loop the process: log, back off, rejoin from the last commit.
                log.exception("raw consumer failed; restarting it")
                await self._pause()
            finally:
                self.assigned.clear()
                self._lag.forget()
                await consumer.stop()

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        while not self._stopping.is_set():
            batches = await consumer.getmany(timeout_ms=500, max_records=self._max_records)
            if consumer.assignment():
                self.assigned.set()
            for partition, records in batches.items():
                await self._handle(consumer, partition, records)
            await self._lag.observe(consumer)

    async def _handle(
        self,
        consumer: AIOKafkaConsumer,
        partition: TopicPartition,
        records: list[ConsumerRecord[bytes, bytes]],
    ) -> None:
        outputs = [_route_in_own_context(record, self._keyring) for record in records]
        try:
            await self._publisher.publish([output.record for output in outputs])
        except PublishError as exc:
            log.warning(
                "outputs not acknowledged; will re-read the batch",
                partition=partition.partition,
                offset=records[0].offset,
                error=str(exc),
            )
            consumer.seek(partition, records[0].offset)
            await self._pause()
            return
        try:
            await consumer.commit({partition: records[-1].offset + 1})
        except KafkaError as exc:
            # The partition moved to another member, which will re-read from the last commit.
            log.warning("commit failed; the batch will be re-processed", error=str(exc))
        for output in outputs:
            if output.dead_lettered:
                metrics.RAW_CONSUMED.labels(topic=self._topic, outcome="dead_lettered").inc()
                metrics.DEAD_LETTERS.labels(code=output.code).inc()
            else:
                metrics.RAW_CONSUMED.labels(topic=self._topic, outcome="routed").inc()
                metrics.EVENTS_PUBLISHED.labels(
                    topic=output.record.topic, type=output.event_type
                ).inc()

    async def _pause(self) -> None:
        try:
            async with asyncio.timeout(self._retry_seconds):
                await self._stopping.wait()
        except TimeoutError:
            pass


def _route_in_own_context(record: ConsumerRecord[bytes, bytes], keyring: SecretKeyring) -> Routed:
    # A fresh copy of the context per record: what one record binds never leaks to the next.
    return contextvars.copy_context().run(_route_and_log, record, keyring)


def _route_and_log(record: ConsumerRecord[bytes, bytes], keyring: SecretKeyring) -> Routed:
    structlog.contextvars.bind_contextvars(
        topic=record.topic, partition=record.partition, offset=record.offset
    )
    routed = route(
        IncomingRecord(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key,
            value=record.value,
            headers=tuple(record.headers),
            timestamp_ms=record.timestamp,
        ),
        keyring=keyring,
    )
    if routed.dead_lettered:
        log.warning("raw record rejected; dead-lettering it", code=routed.code)
    else:
        log.info("raw record routed", type=routed.event_type, to=routed.record.topic)
    return routed
