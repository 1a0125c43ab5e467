"""aiokafka clients of the matcher, built in one place with the settings they need.

aiokafka is used directly rather than FastStream because the matcher needs what FastStream
does not expose: transactional producers with `send_offsets_to_transaction`, one producer
per shard, manual partition assignment and seeking to offsets read with their metadata.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from koppel import kafka_clients
from koppel.dead_letters import DeadLetterCode, error_headers
from koppel.kafka_clients import KafkaConnection
from koppel.topics import dlq
from koppel_matcher.service_layer.exactly_once import parse_seq_metadata


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


def membership_consumer(
    kafka: KafkaConnection | str, *, group_id: str, client_id: str
) -> AIOKafkaConsumer:
    """The group member that only learns which consultant partitions (shards) it owns."""
    return kafka_clients.consumer(
        kafka,
        client_id=client_id,
        group_id=group_id,
        enable_auto_commit=False,
        isolation_level="read_committed",
        session_timeout_ms=6000,
        heartbeat_interval_ms=1500,
    )


async def committed_offsets(
    admin: AIOKafkaAdminClient, group_id: str, partitions: Sequence[TopicPartition]
) -> tuple[dict[TopicPartition, int], int | None]:
    """The group's committed offsets of `partitions` and the seq their metadata carries."""
    found = await admin.list_consumer_group_offsets(group_id, partitions=list(partitions))
    offsets: dict[TopicPartition, int] = {}
    seqs: set[int] = set()
    for tp, committed in found.items():
        if committed.offset < 0:
            continue
        offsets[tp] = committed.offset
        seq = parse_seq_metadata(committed.metadata)
        if seq is not None:
            seqs.add(seq)
    # Every commit of a shard writes the same seq to all its partitions atomically; only a
    # partition added later lacks it, so the highest seq seen is the shard's.
    return offsets, max(seqs) if seqs else None


def dead_letter(
    record: ConsumerRecord[bytes, bytes], *, code: DeadLetterCode, reason: str
) -> tuple[str, bytes | None, bytes | None, list[tuple[str, bytes]]]:
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


async def partitions_of(admin: AIOKafkaAdminClient, topic: str) -> list[int]:
    """The partition numbers of `topic` (empty when it does not exist)."""
    described = await admin.describe_topics([topic])
    return sorted(
        int(partition["partition"])
        for entry in described
        if entry["topic"] == topic and not entry["error_code"]
        for partition in entry["partitions"]
    )
