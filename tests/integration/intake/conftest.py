"""Real-Kafka helpers for the intake integration tests.

Each test reads topics from the end offsets it saw before acting, and each raw consumer
group starts at the end of the shared raw topic, so tests sharing one broker never see,
or re-process, each other's records.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from asgi_lifespan import LifespanManager

from koppel.secret_sealing import SecretKeyring
from koppel.topics import RAW
from koppel_demo.sandbox import free_port, start_group_at_end
from koppel_intake.adapters.kafka_producer import KafkaEventPublisher
from koppel_intake.bootstrap import build_app
from koppel_intake.entrypoints.kafka_consumer import RawConsumer
from koppel_intake.settings import Settings
from koppel_testing.databases import new_database

TOKEN = "integration-token"
MATCHER_TOKEN = "intake-suite-matcher-token"
Record: TypeAlias = "ConsumerRecord[bytes, bytes]"


class TopicReader:
    """Reads one topic from the end offsets it found when opened."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self._consumer = consumer
        self.seen: list[Record] = []

    @classmethod
    async def at_end(cls, bootstrap: str, topic: str) -> TopicReader:
        partitions = await _partitions(bootstrap, topic)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None
        )
        await consumer.start()
        consumer.assign(partitions)
        for partition, offset in (await consumer.end_offsets(partitions)).items():
            consumer.seek(partition, offset)
        return cls(consumer)

    async def wait_for(self, key: bytes, *, count: int = 1, within: float = 30.0) -> list[Record]:
        """The first `count` records with `key` since opening; fails after `within` seconds."""
        async with asyncio.timeout(within):
            while len(matching := [r for r in self.seen if r.key == key]) < count:
                batches = await self._consumer.getmany(timeout_ms=500)
                for records in batches.values():
                    self.seen.extend(records)
        return matching[:count]

    async def wait_until(
        self, key: bytes, done: Callable[[list[Record]], bool], *, within: float = 30.0
    ) -> list[Record]:
        """Records with `key` since opening, once `done(records)` holds.

        For assertions that must tolerate duplicates: another intake (say one started by
        `make up`) may route the same raw records on the shared broker too.
        """
        async with asyncio.timeout(within):
            while not done(matching := [r for r in self.seen if r.key == key]):
                batches = await self._consumer.getmany(timeout_ms=500)
                for records in batches.values():
                    self.seen.extend(records)
        return matching

    async def drain(self, seconds: float) -> list[Record]:
        """Everything that arrives within `seconds` (to assert that nothing more came)."""
        deadline = asyncio.get_running_loop().time() + seconds
        while asyncio.get_running_loop().time() < deadline:
            for records in (await self._consumer.getmany(timeout_ms=300)).values():
                self.seen.extend(records)
        return self.seen

    async def close(self) -> None:
        await self._consumer.stop()


async def _partitions(bootstrap: str, topic: str) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [description] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    numbers = sorted(partition["partition"] for partition in description["partitions"])
    assert numbers, f"topic {topic} does not exist"
    return [TopicPartition(topic, number) for number in numbers]


@pytest.fixture
async def reader(kafka: str) -> AsyncIterator[Callable[[str], Awaitable[TopicReader]]]:
    """Opens `TopicReader`s at the current end of a topic; closes them after the test."""
    opened: list[TopicReader] = []

    async def open_reader(topic: str) -> TopicReader:
        topic_reader = await TopicReader.at_end(kafka, topic)
        opened.append(topic_reader)
        return topic_reader

    yield open_reader
    for topic_reader in opened:
        await topic_reader.close()


@pytest.fixture
async def raw_producer(kafka: str) -> AsyncIterator[AIOKafkaProducer]:
    """A plain producer, standing in for an upstream system writing the raw topic."""
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    yield producer
    await producer.stop()


@pytest.fixture
async def api(kafka: str) -> AsyncIterator[httpx.AsyncClient]:
    """The production app (real Kafka publisher, real lifespan), raw consumer off."""
    settings = Settings(
        KOPPEL_ENVIRONMENT="development",
        KAFKA_BOOTSTRAP_SERVERS=kafka,
        INTAKE_API_TOKENS=f"it:{TOKEN}",
        INTAKE_RAW_CONSUMER=False,
    )
    app = build_app(settings)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://intake",
            headers={"Authorization": f"Bearer {TOKEN}"},
        ) as client:
            for _ in range(150):
                if (await client.get("/readyz")).status_code == 200:
                    break
                await asyncio.sleep(0.2)
            else:
                pytest.fail("intake never became ready")
            yield client


@dataclass(frozen=True)
class MatcherEndpoint:
    """Where the intake asks whose a match is: `INTAKE_MATCHER_URL`, `INTAKE_MATCHER_API_TOKEN`."""

    url: str
    token: str

    def settings(self) -> dict[str, str]:
        return {"INTAKE_MATCHER_URL": self.url, "INTAKE_MATCHER_API_TOKEN": self.token}


@pytest.fixture(scope="session")
async def matcher_read_api(
    kafka: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[MatcherEndpoint]:
    """A `koppel-matcher` process on a database of its own, for the intakes under fuzzing:
    their answer routes ask it about every match id they are sent (it knows none of them)."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("matcher") / "matcher.log"
    run = uuid.uuid4().hex[:10]
    async with new_database(database_url) as dsn:
        env = {
            **os.environ,
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
        process = _spawn_matcher(env, log_path)
        endpoint = MatcherEndpoint(f"http://127.0.0.1:{port}", MATCHER_TOKEN)
        try:
            await _until_ready(endpoint.url, process, log_path)
            yield endpoint
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _spawn_matcher(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    # Popen returns at once (it does not wait for the child), so it is fine in async code.
    with log_path.open("wb") as log_file:
        return subprocess.Popen(
            [sys.executable, "-m", "koppel_matcher"],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )


def _tail(log_path: Path) -> str:
    return log_path.read_text(errors="replace")[-3000:]


async def _until_ready(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    # A deadline with room: importing and connecting takes seconds on a loaded 2-core machine.
    deadline = time.monotonic() + 90
    async with httpx.AsyncClient(base_url=url) as client:
        while time.monotonic() < deadline:
            assert process.poll() is None, f"matcher exited:\n{_tail(log_path)}"
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/readyz", timeout=5)).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    pytest.fail(f"matcher never became ready:\n{_tail(log_path)}")


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
        partitions = await _partitions(kafka, RAW)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=kafka, group_id=group_id, enable_auto_commit=False
        )
        await consumer.start()
        try:
            return {p.partition: await consumer.committed(p) for p in partitions}
        finally:
            await consumer.stop()

    return read


class RunningConsumer:
    """A `RawConsumer` task that tests can stop politely or kill abruptly."""

    def __init__(self, consumer: RawConsumer, task: asyncio.Task[None]) -> None:
        self.consumer = consumer
        self.task = task

    async def kill(self) -> None:
        """Cancel mid-work: whatever was not committed must be read again."""
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task

    async def stop(self) -> None:
        self.consumer.stop()
        await asyncio.wait_for(self.task, timeout=30)


@pytest.fixture
def group_id(unique_id: str) -> str:
    return f"koppel-intake-it-{unique_id}"


@pytest.fixture
async def start_consumer(
    kafka: str, group_id: str, keyring: SecretKeyring
) -> AsyncIterator[Callable[..., Awaitable[RunningConsumer]]]:
    """Starts raw consumers of one fresh group (positioned at the end of the raw topic)."""
    await start_group_at_end(kafka, group_id, (RAW,))
    running: list[RunningConsumer] = []

    async def start(publisher: Any) -> RunningConsumer:
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


def assignment(assignment_id: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": assignment_id,
        "title": "Interim woordvoerder",
        "organization": {"name": "Provincie Utrecht", "type": "province"},
        "location": {"city": "Utrecht", "province": "utrecht", "lat": 52.09, "lon": 5.12},
        "level": "senior",
        "assignment_type": "bridging",
        "disciplines_required": ["press_relations"],
        "hours_per_week": {"min": 24, "max": 32},
        "start_date": "2026-12-14",
        "duration_months": 4,
        "office_days_per_week": 3,
    }
    body.update(changes)
    return body


def consultant(consultant_id: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": consultant_id,
        "name": "Joost Bakker",
        "email": "joost@example.org",
        "level": "senior",
        "years_experience": 12,
        "disciplines": ["press_relations", "crisis_communication"],
        "home": {"city": "Amersfoort", "province": "utrecht"},
        "max_office_days_per_week": 3,
        "available_from": "2026-12-01",
        "hours_per_week": {"min": 24, "max": 36},
        "consent": True,
    }
    body.update(changes)
    return body


@pytest.fixture
def make_assignment() -> Callable[..., dict[str, Any]]:
    return assignment


@pytest.fixture
def make_consultant() -> Callable[..., dict[str, Any]]:
    return consultant


@pytest.fixture
def new_id(unique_id: str) -> Callable[[str], str]:
    """Entity ids unique to this test: `new_id("A")` → `A-<unique>`."""
    return lambda prefix: f"{prefix}-{unique_id}-{uuid.uuid4().hex[:6]}"
