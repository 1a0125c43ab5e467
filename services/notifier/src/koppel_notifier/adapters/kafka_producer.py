"""The Kafka producer: delivery outcomes and answers from the outbox, and dead letters."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Sequence

import asyncpg
from aiokafka import AIOKafkaProducer

from koppel import kafka_clients, postgres_pools
from koppel.cloudevents import CloudEvent, encode
from koppel.dead_letters import DeadLetterCode, error_headers
from koppel.event_types import PAYLOADS, EventType, Source
from koppel.kafka_clients import KafkaConnection
from koppel_notifier.metrics import NotifierMetrics


def make_producer(kafka: KafkaConnection | str) -> AIOKafkaProducer:
    """acks=all and idempotence: an outcome or dead letter is either stored or we retry."""
    return kafka_clients.producer(
        kafka,
        acks="all",
        enable_idempotence=True,
        client_id="koppel-notifier",
        linger_ms=5,
    )


class OutboxPublisher:
    """Publishes outbox rows as CloudEvents on their topics, then deletes them.

    Delivery outcomes go to koppel.notifications.v1 keyed by consultant id, the page's
    answers to koppel.responses.v1 keyed by match id (`message_key`).

    At least once: a crash between publishing and deleting publishes again with the same
    CloudEvent id (the outbox row id), which consumers use to de-duplicate.
    """

    def __init__(
        self, pool: asyncpg.Pool, producer: AIOKafkaProducer, metrics: NotifierMetrics
    ) -> None:
        self._pool = pool
        self._producer = producer
        self._metrics = metrics

    async def publish_batch(self, limit: int = 500) -> int:
        async with postgres_pools.transaction(self._pool) as connection:
            rows = await connection.fetch(
                """
                SELECT id, consultant_id, event_type, data, created_at, traceparent, topic,
                       message_key
                FROM notifier_outbox
                ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED
                """,
                limit,
            )
            if not rows:
                return 0
            sends = [await self._send(row) for row in rows]
            await asyncio.gather(*sends)
            await connection.execute(
                "DELETE FROM notifier_outbox WHERE id = ANY($1::uuid[])",
                [row["id"] for row in rows],
            )
        for topic, count in Counter(row["topic"] for row in rows).items():
            self._metrics.events_produced.labels(topic).inc(count)
        return len(rows)

    async def _send(self, row: asyncpg.Record) -> asyncio.Future[object]:
        event_type = EventType(row["event_type"])
        data = PAYLOADS[event_type].model_validate(json.loads(row["data"]))
        key: str = row["message_key"] or row["consultant_id"]
        event = CloudEvent(
            id=str(row["id"]),
            source=Source.NOTIFIER.value,
            type=event_type.value,
            subject=key,
            time=row["created_at"],
            data=data.model_dump(mode="json"),
            traceparent=row["traceparent"],
        )
        value, headers = encode(event)
        future: asyncio.Future[object] = await self._producer.send(
            row["topic"], value=value, key=key.encode(), headers=headers
        )
        return future


class KafkaDeadLetters:
    """Dead letters through one producer: the consumer's `DeadLetterPublisher`."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer

    async def dead_letter(
        self,
        topic: str,
        *,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]],
        error_code: DeadLetterCode,
        error: str,
        source_topic: str,
        partition: int,
        offset: int,
    ) -> None:
        """Copy a record we cannot use to `topic`, with why; waits until the broker has it."""
        extra = error_headers(
            code=error_code, reason=error, topic=source_topic, partition=partition, offset=offset
        )
        await self._producer.send_and_wait(topic, value=value, key=key, headers=[*headers, *extra])
