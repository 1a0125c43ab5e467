"""Which shards this replica owns, and one restarting worker task per owned shard.

A consumer in the group `MATCHER_GROUP_ID` subscribes to `koppel.consultants.v1` with all
its partitions paused: it never reads, it only takes part in the group so that the broker
shares the consultant partitions (= shards) among the replicas. On revocation the shard's
consumer finishes its current transaction and stops before the partition can be handed to
another replica; on assignment a consumer takes the shard over (see `exactly_once`).

Each shard consumer gets a unit of work of its own from `unit_of_work`, a factory given by
`bootstrap` (the crash tests give one whose transactions fail where they want them to).

A consumer that fails is closed and started again after a pause, which repairs the shard from
Kafka and PostgreSQL. A record that keeps failing is dead-lettered after
`poison_after_failures` attempts, so one bad event never stops the matcher.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from koppel import kafka_clients
from koppel.kafka_clients import KafkaConnection
from koppel.topics import CONSULTANTS
from koppel_matcher import metrics
from koppel_matcher.adapters.state_store import ShardFencedError
from koppel_matcher.entrypoints.decoded_records import DecodedRecords
from koppel_matcher.entrypoints.kafka_consumer import (
    ShardConsumer,
    ShardConsumerConfig,
    WorkKey,
)
from koppel_matcher.service_layer.ports import ShardUnitOfWork

log = structlog.get_logger(__name__)

UnitOfWorkFactory = Callable[[int, AIOKafkaAdminClient], ShardUnitOfWork]
"""Makes the unit of work of shard n, given the replica's admin client."""

RESTART_PAUSE_SECONDS = 1.0
STOP_TIMEOUT_SECONDS = 30.0
_INFRASTRUCTURE_ERRORS = (
    KafkaError,
    ShardFencedError,
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    TimeoutError,
)


class _Shard:
    def __init__(self) -> None:
        self.stopping = asyncio.Event()
        self.consumer: ShardConsumer | None = None
        self.task: asyncio.Task[None] | None = None


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, supervisor: ShardSupervisor) -> None:
        self._supervisor = supervisor

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self._supervisor.release([tp.partition for tp in revoked])

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self._supervisor.acquire([tp.partition for tp in assigned])


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


class ShardSupervisor:
    """Group membership and the shard consumers of one replica."""

    def __init__(self, config: ShardConsumerConfig, unit_of_work: UnitOfWorkFactory) -> None:
        self._config = config
        self._unit_of_work = unit_of_work
        self._shards: dict[int, _Shard] = {}
        self._failures: Counter[WorkKey] = Counter()
        self._decoded = DecodedRecords()
        self._admin: AIOKafkaAdminClient | None = None
        self._membership: AIOKafkaConsumer | None = None
        self._poll_task: asyncio.Task[None] | None = None
        self._joined = False

    @property
    def ready(self) -> bool:
        """Joined the group and every owned shard is loaded and positioned."""
        return self._joined and all(
            shard.consumer is not None and shard.consumer.ready for shard in self._shards.values()
        )

    @property
    def owned_shards(self) -> list[int]:
        return sorted(self._shards)

    async def start(self) -> None:
        config = self._config
        self._admin = kafka_clients.admin(config.kafka, client_id=f"{config.instance_id}.admin")
        await self._admin.start()
        self._membership = membership_consumer(
            config.kafka, group_id=config.group_id, client_id=config.instance_id
        )
        self._membership.subscribe([CONSULTANTS], listener=_Rebalance(self))
        await self._membership.start()
        self._poll_task = asyncio.create_task(self._stay_in_group(), name="matcher-membership")

    async def broker_reachable(self) -> bool:
        if self._admin is None:
            return False
        try:
            async with asyncio.timeout(3):
                await self._admin.describe_cluster()
        except Exception:  # any failure: "not reachable"
            return False
        return True

    async def stop(self) -> None:
        if self._poll_task is not None:
            self._poll_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poll_task
        await self.release(list(self._shards))
        if self._membership is not None:
            await self._membership.stop()
        if self._admin is not None:
            await self._admin.close()

    async def _stay_in_group(self) -> None:
        assert self._membership is not None
        while True:
            # Partitions are paused: this only keeps the member alive (max.poll.interval).
            try:
                await self._membership.getmany(timeout_ms=1000)
            except KafkaError:
                log.exception("membership_poll_failed")
                await asyncio.sleep(RESTART_PAUSE_SECONDS)

    async def acquire(self, shards: list[int]) -> None:
        assert self._membership is not None
        self._membership.pause(*self._membership.assignment())
        for number in shards:
            if number not in self._shards:
                shard = _Shard()
                self._shards[number] = shard
                shard.task = asyncio.create_task(
                    self._keep_running(number, shard), name=f"matcher-shard-{number}"
                )
        self._joined = True
        log.info("shards_assigned", shards=sorted(shards), instance=self._config.instance_id)

    async def release(self, shards: list[int]) -> None:
        stopping = [self._shards.pop(number) for number in shards if number in self._shards]
        for shard in stopping:
            shard.stopping.set()
        for shard in stopping:
            if shard.task is None:
                continue
            # A consumer finishes its batch within moments; one stuck on an unreachable broker
            # or database is cancelled, which is safe (the next owner repairs the shard).
            done, _ = await asyncio.wait({shard.task}, timeout=STOP_TIMEOUT_SECONDS)
            if not done:
                shard.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await shard.task
                if shard.consumer is not None:
                    await shard.consumer.close()
        if stopping:
            log.info("shards_released", shards=sorted(shards))

    async def _keep_running(self, number: int, shard: _Shard) -> None:
        assert self._admin is not None
        while not shard.stopping.is_set():
            consumer = ShardConsumer(
                number,
                self._config,
                self._unit_of_work(number, self._admin),
                self._failures,
                self._decoded,
            )
            shard.consumer = consumer
            try:
                await consumer.open()
                await consumer.run(shard.stopping)
            except Exception as exc:
                metrics.SHARD_RESTARTS.labels(str(number)).inc()
                if consumer.current is not None and not isinstance(exc, _INFRASTRUCTURE_ERRORS):
                    self._failures[consumer.current] += 1
                log.exception("shard_failed", shard=number, record=consumer.current)
                await consumer.close()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(shard.stopping.wait(), RESTART_PAUSE_SECONDS)
                continue
            await consumer.close()
