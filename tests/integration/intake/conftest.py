"""Real-Kafka helpers for the intake integration tests.

Each test reads topics from the end offsets it saw before acting, and each raw consumer
group starts at the end of the shared raw topic, so tests sharing one broker never see,
or re-process, each other's records.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from koppel.secret_sealing import SecretKeyring
from koppel.topics import RAW
from koppel_demo.sandbox import free_port, start_group_at_end
from koppel_intake.adapters.kafka_producer import KafkaEventPublisher
from koppel_intake.entrypoints.kafka_consumer import RawConsumer
from koppel_intake.service_layer.ports import EventPublisher
from koppel_testing.databases import new_database
from koppel_testing.integration_intake import MatcherEndpoint, RunningConsumer, StartConsumer
from koppel_testing.integration_processes import ServiceProcess
from koppel_testing.kafka_reading import partitions_of

MATCHER_TOKEN = "intake-suite-matcher-token"


@pytest.fixture
async def raw_producer(kafka: str) -> AsyncIterator[AIOKafkaProducer]:
    """A plain producer, standing in for an upstream system writing the raw topic."""
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    yield producer
    await producer.stop()


@pytest.fixture(scope="module")
async def matcher_read_api(
    kafka: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[MatcherEndpoint]:
    """A `koppel-matcher` process on a database of its own, for the intakes under fuzzing:
    their answer routes ask it about every match id they are sent (it knows none of them).

    It lives only as long as one test module: like any matcher on the shared topics it
    matches what other suites publish, and its match events would reach their notifiers
    (the test directories are no packages, so "package" scope would mean the session)."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("matcher") / "matcher.log"
    run = uuid.uuid4().hex[:10]
    async with new_database(database_url) as dsn:
        env = {
            "KOPPEL_ENVIRONMENT": "development",
            "KAFKA_BOOTSTRAP_SERVERS": kafka,
            "DATABASE_URL": dsn,
            "MATCHER_API_TOKENS": f"intake:{MATCHER_TOKEN}",
            "MATCHER_GROUP_ID": f"intake-suite-matcher-{run}",
            "MATCHER_INSTANCE_ID": f"intake-suite-{run}",
            "MATCHER_INITIAL_OFFSET": "latest",
            "MATCHER_HOST": "127.0.0.1",
            "MATCHER_PORT": str(port),
            "LOG_JSON": "true",
        }
        matcher = ServiceProcess.start("koppel_matcher", env, port, log_path)
        try:
            # A deadline with room: importing and connecting takes seconds on a loaded
            # 2-core machine.
            await matcher.wait_ready(within=90)
            yield MatcherEndpoint(matcher.url, MATCHER_TOKEN)
        finally:
            matcher.stop()


@pytest.fixture
async def publisher(kafka: str) -> AsyncIterator[KafkaEventPublisher]:
    connected = KafkaEventPublisher(kafka)
    await connected.connect()
    yield connected
    await connected.close()


@pytest.fixture
def committed_offsets(kafka: str, group_id: str) -> Callable[[], Awaitable[dict[int, int | None]]]:
    """Reads this test's group's committed offset per raw-topic partition."""

    async def read() -> dict[int, int | None]:
        partitions = await partitions_of(kafka, RAW)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=kafka, group_id=group_id, enable_auto_commit=False
        )
        await consumer.start()
        try:
            return {p.partition: await consumer.committed(p) for p in partitions}
        finally:
            await consumer.stop()

    return read


@pytest.fixture
def group_id(unique_id: str) -> str:
    return f"koppel-intake-it-{unique_id}"


@pytest.fixture
async def start_consumer(
    kafka: str, group_id: str, keyring: SecretKeyring
) -> AsyncIterator[StartConsumer]:
    """Starts raw consumers of one fresh group (positioned at the end of the raw topic)."""
    await start_group_at_end(kafka, group_id, (RAW,))
    running: list[RunningConsumer] = []

    async def start(publisher: EventPublisher) -> RunningConsumer:
        consumer = RawConsumer(
            kafka, publisher, keyring=keyring, group_id=group_id, retry_seconds=0.5
        )
        task = asyncio.create_task(consumer.run())
        handle = RunningConsumer(consumer, task)
        running.append(handle)
        async with asyncio.timeout(30):
            while not consumer.assigned.is_set():
                if task.done():
                    task.result()
                await asyncio.sleep(0.1)
        return handle

    yield start
    for handle in running:
        if not handle.task.done():
            await handle.kill()


@pytest.fixture
def new_id(unique_id: str) -> Callable[[str], str]:
    """Entity ids unique to this test: `new_id("A")` → `A-<unique>`."""
    return lambda prefix: f"{prefix}-{unique_id}-{uuid.uuid4().hex[:6]}"
