"""The matcher's transactional producer and the dead letters it produces.

aiokafka is used directly rather than FastStream because the matcher needs what FastStream
does not expose: transactional producers with `send_offsets_to_transaction`, one producer
per shard, manual partition assignment and seeking to offsets read with their metadata.
"""

from __future__ import annotations

from aiokafka import AIOKafkaProducer, ConsumerRecord

from koppel import kafka_clients
from koppel.dead_letters import DeadLetterCode, error_headers
from koppel.kafka_clients import KafkaConnection
from koppel.topics import dlq
from koppel_matcher.service_layer.ports import DeadLetter


def transactional_producer(
    kafka: KafkaConnection | str, *, transactional_id: str, client_id: str
) -> AIOKafkaProducer:
    return kafka_clients.producer(
        kafka,
        client_id=client_id,
        transactional_id=transactional_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        # One batch may publish thousands of matches (a popular assignment); leave it time.
        transaction_timeout_ms=120_000,
    )


def dead_letter(
    record: ConsumerRecord[bytes, bytes], *, code: DeadLetterCode, reason: str
) -> DeadLetter:
    """Topic, key, value and headers of the dead letter for `record`: original bytes kept."""
    headers = [(name, value) for name, value in (record.headers or ())]
    headers += error_headers(
        code=code,
        reason=reason,
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
    )
    return dlq(record.topic), record.key, record.value, headers
