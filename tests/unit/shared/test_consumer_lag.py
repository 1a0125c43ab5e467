"""The consumer lag gauge: high-water mark minus position, stale partitions dropped."""

from __future__ import annotations

from aiokafka import TopicPartition
from aiokafka.errors import IllegalStateError
from prometheus_client import CollectorRegistry

from koppel.consumer_lag import ConsumerLag, consumer_lag_gauge


class FakeConsumer:
    """Only what `ConsumerLag` reads: assignment, highwater and position."""

    def __init__(self, partitions: dict[TopicPartition, tuple[int | None, int]]) -> None:
        self.partitions = partitions
        self.revoked: set[TopicPartition] = set()

    def assignment(self) -> set[TopicPartition]:
        return set(self.partitions)

    def highwater(self, tp: TopicPartition) -> int | None:
        return self.partitions[tp][0]

    async def position(self, tp: TopicPartition) -> int:
        if tp in self.revoked:
            raise IllegalStateError("not assigned")
        return self.partitions[tp][1]


def _value(registry: CollectorRegistry, topic: str, partition: int) -> float | None:
    return registry.get_sample_value(
        "koppel_consumer_lag", {"topic": topic, "partition": str(partition), "group": "g"}
    )


async def test_lag_is_highwater_minus_position_and_unknown_highwater_is_skipped() -> None:
    registry = CollectorRegistry()
    lag = ConsumerLag(consumer_lag_gauge(registry), "g")
    consumer = FakeConsumer({TopicPartition("t", 0): (120, 100), TopicPartition("t", 1): (None, 0)})
    await lag.observe(consumer)
    assert _value(registry, "t", 0) == 20
    assert _value(registry, "t", 1) is None


async def test_partitions_no_longer_assigned_disappear() -> None:
    registry = CollectorRegistry()
    lag = ConsumerLag(consumer_lag_gauge(registry), "g")
    consumer = FakeConsumer({TopicPartition("t", 0): (5, 5), TopicPartition("t", 1): (9, 4)})
    await lag.observe(consumer)
    assert (_value(registry, "t", 0), _value(registry, "t", 1)) == (0, 5)

    del consumer.partitions[TopicPartition("t", 1)]
    await lag.observe(consumer)
    assert _value(registry, "t", 1) is None

    lag.forget()
    assert _value(registry, "t", 0) is None


async def test_a_partition_revoked_during_observation_is_skipped() -> None:
    registry = CollectorRegistry()
    lag = ConsumerLag(consumer_lag_gauge(registry), "g")
    consumer = FakeConsumer({TopicPartition("t", 0): (5, 1)})
    consumer.revoked.add(TopicPartition("t", 0))
    await lag.observe(consumer)
    assert _value(registry, "t", 0) is None
