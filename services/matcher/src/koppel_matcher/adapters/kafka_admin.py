"""What the matcher asks the Kafka admin API: a topic's partitions, a group's committed offsets."""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from koppel_matcher.adapters.exactly_once import parse_seq_metadata


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


async def partitions_of(admin: AIOKafkaAdminClient, topic: str) -> list[int]:
    """The partition numbers of `topic` (empty when it does not exist)."""
    described = await admin.describe_topics([topic])
    return sorted(
        int(partition["partition"])
        for entry in described
        if entry["topic"] == topic and not entry["error_code"]
        for partition in entry["partitions"]
    )
