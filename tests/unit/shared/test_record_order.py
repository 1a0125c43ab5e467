"""Records of one fetch in written order: merged by timestamp, each partition kept in order."""

from __future__ import annotations

from aiokafka import ConsumerRecord, TopicPartition

from koppel.record_order import in_written_order

ASSIGNMENTS = TopicPartition("koppel.assignments.v1", 0)
CONSULTANTS = TopicPartition("koppel.consultants.v1", 3)


def _record(tp: TopicPartition, offset: int, timestamp: int) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic=tp.topic,
        partition=tp.partition,
        offset=offset,
        timestamp=timestamp,
        timestamp_type=0,
        key=None,
        value=None,
        checksum=None,
        serialized_key_size=0,
        serialized_value_size=0,
        headers=(),
    )


def _positions(records: list[ConsumerRecord[bytes, bytes]]) -> list[tuple[str, int]]:
    return [(record.topic, record.offset) for record in records]


def test_a_profile_written_before_an_assignment_comes_first() -> None:
    batches = {
        ASSIGNMENTS: [_record(ASSIGNMENTS, 7, 1_000_050)],
        CONSULTANTS: [_record(CONSULTANTS, 2, 1_000_000)],
    }
    assert _positions(in_written_order(batches)) == [
        (CONSULTANTS.topic, 2),
        (ASSIGNMENTS.topic, 7),
    ]


def test_partitions_interleave_by_timestamp() -> None:
    batches = {
        ASSIGNMENTS: [_record(ASSIGNMENTS, 1, 10), _record(ASSIGNMENTS, 2, 30)],
        CONSULTANTS: [_record(CONSULTANTS, 5, 20), _record(CONSULTANTS, 6, 40)],
    }
    assert _positions(in_written_order(batches)) == [
        (ASSIGNMENTS.topic, 1),
        (CONSULTANTS.topic, 5),
        (ASSIGNMENTS.topic, 2),
        (CONSULTANTS.topic, 6),
    ]


def test_a_partition_keeps_its_offset_order_even_when_timestamps_go_back() -> None:
    # A producer's clock may step back: offsets, not timestamps, order one partition.
    batches = {
        ASSIGNMENTS: [_record(ASSIGNMENTS, 1, 50), _record(ASSIGNMENTS, 2, 10)],
        CONSULTANTS: [_record(CONSULTANTS, 9, 40)],
    }
    merged = _positions(in_written_order(batches))
    assert merged.index((ASSIGNMENTS.topic, 1)) < merged.index((ASSIGNMENTS.topic, 2))
    assert sorted(merged) == sorted(_positions([r for rs in batches.values() for r in rs]))


def test_equal_timestamps_keep_partition_order() -> None:
    batches = {
        CONSULTANTS: [_record(CONSULTANTS, 1, 5)],
        ASSIGNMENTS: [_record(ASSIGNMENTS, 1, 5)],
    }
    assert _positions(in_written_order(batches)) == [
        (ASSIGNMENTS.topic, 1),
        (CONSULTANTS.topic, 1),
    ]


def test_an_empty_fetch_is_empty() -> None:
    assert in_written_order({}) == []
