"""Consumer lag as a Prometheus gauge: how far each consumer is behind its partitions.

`koppel_consumer_lag{topic,partition,group}` = the partition's high-water mark minus the
consumer's position (the next offset it will read), both as the client last saw them, so
observing it costs no broker round trip. Partitions the consumer no longer holds are
dropped from the gauge, so a rebalance leaves no stale series behind.
"""

from __future__ import annotations

import contextlib

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import IllegalStateError
from prometheus_client import REGISTRY, CollectorRegistry, Gauge

NAME = "koppel_consumer_lag"
_HELP = "Records not yet consumed: high-water mark minus position, per partition and group."


def consumer_lag_gauge(registry: CollectorRegistry = REGISTRY) -> Gauge:
    """The lag gauge registered in `registry` (call once per registry)."""
    return Gauge(NAME, _HELP, ["topic", "partition", "group"], registry=registry)


class ConsumerLag:
    """Updates `gauge` for one consumer in `group`; call `observe` after each poll."""

    def __init__(self, gauge: Gauge, group: str) -> None:
        self._gauge = gauge
        self._group = group
        self._seen: set[TopicPartition] = set()

    async def observe(self, consumer: AIOKafkaConsumer) -> None:
        assigned: set[TopicPartition] = set(consumer.assignment())
        for tp in assigned:
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue  # no fetch answered for it yet
            try:
                position = await consumer.position(tp)
            except IllegalStateError:
                continue  # revoked meanwhile
            self._gauge.labels(tp.topic, str(tp.partition), self._group).set(
                max(0, highwater - position)
            )
        self.forget(self._seen - assigned)
        self._seen = assigned

    def forget(self, partitions: set[TopicPartition] | None = None) -> None:
        """Drop the series of `partitions` (all this consumer reported when None)."""
        for tp in self._seen if partitions is None else partitions:
            with contextlib.suppress(KeyError):
                self._gauge.remove(tp.topic, str(tp.partition), self._group)
        if partitions is None:
            self._seen = set()


CONSUMER_LAG = consumer_lag_gauge()
"""The gauge in the default registry, for services that serve the default registry."""
