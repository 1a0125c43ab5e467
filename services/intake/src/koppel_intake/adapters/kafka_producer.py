"""`EventPublisher` on aiokafka: idempotent producer, `acks=all`, sends awaited to the ack."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    InvalidProducerEpoch,
    KafkaError,
    MessageSizeTooLargeError,
    OutOfOrderSequenceNumber,
    ProducerClosed,
    ProducerFenced,
    UnknownProducerId,
)

from koppel import kafka_clients
from koppel.kafka_clients import KafkaConnection
from koppel_intake.service_layer.ports import OutgoingRecord, PublishError, RecordTooLarge

log = structlog.get_logger(__name__)

# Errors after which this producer never succeeds again. aiokafka's idempotent producer
# keeps its producer id and sequence numbers across a broker restart and then answers every
# send with OutOfOrderSequenceNumber (aio-libs/aiokafka#1017); only a new producer recovers.
_PRODUCER_IS_BROKEN = (
    OutOfOrderSequenceNumber,
    UnknownProducerId,
    InvalidProducerEpoch,
    ProducerFenced,
    ProducerClosed,
)


class KafkaEventPublisher:
    """Owns one producer, shared by the HTTP API and the raw-topic consumer.

    The producer is (re)connected in the background by `connect()`, so the process serves
    `/healthz` and answers `503` while the broker is away instead of refusing to start. A
    producer that can no longer succeed is replaced the same way; until the new one is up,
    `/readyz` fails and requests get `503`.
    """

    def __init__(
        self,
        kafka: KafkaConnection | str,
        *,
        client_id: str = "koppel-intake",
        timeout_seconds: float = 10.0,
        max_request_size: int = 1024 * 1024,
    ) -> None:
        self._kafka = kafka
        self._client_id = client_id
        self._timeout = timeout_seconds
        self._max_request_size = max_request_size
        self._producer: AIOKafkaProducer | None = None
        self._connected = asyncio.Event()
        self._replacing: asyncio.Task[None] | None = None

    async def connect(self, *, retry_seconds: float = 2.0) -> None:
        """Start the producer, retrying until the broker answers (cancel to give up)."""
        while self._producer is None:
            producer = kafka_clients.producer(
                self._kafka,
                client_id=self._client_id,
                enable_idempotence=True,
                acks="all",
                request_timeout_ms=int(self._timeout * 1000),
                linger_ms=0,
                max_request_size=self._max_request_size,
            )
            try:
                await producer.start()
            except KafkaError as exc:
                await producer.stop()
                log.warning("kafka producer cannot connect yet", error=str(exc))
                await asyncio.sleep(retry_seconds)
                continue
            self._producer = producer
            self._connected.set()
            log.info("kafka producer connected")

    async def wait_connected(self) -> None:
        await self._connected.wait()

    async def close(self) -> None:
        """Flush what is in flight and stop the producer."""
        if self._replacing is not None:
            self._replacing.cancel()
            await asyncio.gather(self._replacing, return_exceptions=True)
            self._replacing = None
        producer, self._producer = self._producer, None
        self._connected.clear()
        if producer is not None:
            await producer.stop()

    async def publish(self, records: Sequence[OutgoingRecord]) -> None:
        producer = self._producer
        if producer is None:
            raise PublishError("not connected to Kafka")
        try:
            async with asyncio.timeout(self._timeout):
                # send() enqueues in order; awaiting each future waits for the broker's ack.
                pending = [await _send(producer, record) for record in records]
                for future in pending:
                    await future
        except MessageSizeTooLargeError as exc:
            # The topic's max.message.bytes is below INTAKE_MAX_RECORD_BYTES.
            raise RecordTooLarge(None, self._max_request_size) from exc
        except _PRODUCER_IS_BROKEN as exc:
            self._replace(producer, exc)
            raise PublishError(f"Kafka did not acknowledge: {exc!r}") from exc
        except (KafkaError, TimeoutError) as exc:
            raise PublishError(f"Kafka did not acknowledge: {exc!r}") from exc

    def _replace(self, broken: AIOKafkaProducer, error: KafkaError) -> None:
        """Retire `broken` and connect a new producer in the background (once per producer)."""
        if self._producer is not broken:
            return
        log.warning("kafka producer cannot recover; replacing it", error=repr(error))
        self._producer = None
        self._connected.clear()
        self._replacing = asyncio.create_task(self._reconnect(broken), name="kafka-reconnect")

    async def _reconnect(self, broken: AIOKafkaProducer) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                await broken.stop()
        except (KafkaError, TimeoutError) as exc:
            log.warning("stopping the broken producer failed", error=repr(exc))
        await self.connect()

    async def ready(self) -> bool:
        producer = self._producer
        if producer is None:
            return False
        try:
            async with asyncio.timeout(2.0):
                await producer.client.fetch_all_metadata()
        except (KafkaError, TimeoutError):
            return False
        return True


async def _send(producer: AIOKafkaProducer, record: OutgoingRecord) -> asyncio.Future[Any]:
    """Enqueue `record`; the returned future resolves on the broker's acknowledgement."""
    if record.key is not None or record.value is not None:
        future: asyncio.Future[Any] = await producer.send(
            record.topic, value=record.value, key=record.key, headers=list(record.headers)
        )
        return future
    # Kafka allows a record with neither key nor value (other clients produce them onto the
    # raw topic) but `send()` refuses one; its dead letter goes through the batch API.
    batch = producer.create_batch()
    batch.append(key=None, value=None, timestamp=None, headers=list(record.headers))
    batch.close()
    partitions = sorted(await producer.partitions_for(record.topic))
    batch_future: asyncio.Future[Any] = await producer.send_batch(
        batch,
        record.topic,
        partition=random.choice(partitions),  # noqa: S311 - not security
    )
    return batch_future
