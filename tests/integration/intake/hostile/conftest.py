"""A real `koppel-intake` process for the hostile-input tests, and ways to see what it published.

The process runs as in production (uvicorn, real Kafka producer, optionally the raw
consumer in a group of the test's own, positioned at the end of the raw topic). Its log
goes to a file, never to a pipe nobody reads: hundreds of rejected records log hundreds of
lines, which would fill a pipe and stall the process.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from koppel.topics import RAW
from koppel_demo.sandbox import free_port, start_group_at_end

ROOT = Path(__file__).resolve().parents[4]
HOSTILE_TOKEN = "hostile-token-7c1e"
Record: TypeAlias = "ConsumerRecord[bytes, bytes]"


def new_trace() -> tuple[str, str]:
    """A fresh W3C `traceparent` and its trace id, to recognise what one test caused."""
    trace_id = secrets.token_hex(16)
    return f"00-{trace_id}-{secrets.token_hex(8)}-01", trace_id


@dataclass
class IntakeProcess:
    """`python -m koppel_intake`, started by a test."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def assert_alive(self) -> None:
        assert self.process.poll() is None, f"koppel-intake exited:\n{self.log()[-5000:]}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _spawn(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    # Popen returns at once (it does not wait for the child), so it is fine in async code.
    with log_path.open("wb") as log_file:
        return subprocess.Popen(
            [sys.executable, "-m", "koppel_intake"],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )


async def start_intake(
    bootstrap: str,
    log_path: Path,
    *,
    raw_group: str | None = None,
    matcher: Mapping[str, str] | None = None,
) -> IntakeProcess:
    """Start the process and wait until `/readyz` answers 200 (the producer is connected);
    `matcher` holds the settings naming the matcher that answers are checked against."""
    port = free_port()
    env = {
        **os.environ,
        "KOPPEL_ENVIRONMENT": "development",
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "INTAKE_API_TOKENS": f"hostile:{HOSTILE_TOKEN}",
        "INTAKE_HOST": "127.0.0.1",
        "INTAKE_PORT": str(port),
        "INTAKE_RAW_CONSUMER": "true" if raw_group else "false",
        "INTAKE_RAW_GROUP": raw_group or "unused",
        "LOG_JSON": "true",
        **(matcher or {}),
    }
    intake = IntakeProcess(_spawn(env, log_path), port, log_path)
    # A deadline with room: on a loaded 2-core machine the process alone takes seconds to
    # import and connect.
    deadline = time.monotonic() + 60
    try:
        async with httpx.AsyncClient(base_url=intake.url) as client:
            while time.monotonic() < deadline:
                intake.assert_alive()
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        return intake
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
    except BaseException:
        intake.stop()
        raise
    intake.stop()
    pytest.fail(f"koppel-intake never became ready:\n{intake.log()[-5000:]}")


@pytest.fixture
async def hostile_intake(
    kafka: str, tmp_path: Path
) -> AsyncIterator[Callable[..., Awaitable[IntakeProcess]]]:
    """Starts `koppel-intake` processes; `raw_group=` also runs the raw consumer in that group,
    committed at the end of the raw topic first so it skips the topic's history."""
    started: list[IntakeProcess] = []

    async def start(*, raw_group: str | None = None) -> IntakeProcess:
        if raw_group is not None:
            await start_group_at_end(kafka, raw_group, [RAW])
        intake = await start_intake(
            kafka, tmp_path / f"intake-{len(started)}.log", raw_group=raw_group
        )
        started.append(intake)
        return intake

    yield start
    for intake in started:
        intake.stop()


@pytest.fixture
def hostile_token() -> str:
    return HOSTILE_TOKEN


@pytest.fixture(scope="module")
async def http_intake(
    kafka: str, tmp_path_factory: pytest.TempPathFactory, matcher_read_api: Any
) -> AsyncIterator[IntakeProcess]:
    """One process (raw consumer off) for a module's HTTP tests, with a real matcher."""
    intake = await start_intake(
        kafka,
        tmp_path_factory.mktemp("intake") / "intake.log",
        matcher=matcher_read_api.settings(),
    )
    yield intake
    intake.stop()


@pytest.fixture
async def raw_partitions(kafka: str) -> list[TopicPartition]:
    return await partitions_of(kafka, RAW)


async def partitions_of(bootstrap: str, topic: str) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [description] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    numbers = sorted(partition["partition"] for partition in description["partitions"])
    assert numbers, f"topic {topic} does not exist"
    return [TopicPartition(topic, number) for number in numbers]


class Ledger:
    """What was appended to some topics between `open()` and `read()`.

    Publishing is awaited before the intake answers a request, so once every response is
    in, everything the requests caused is already below the topics' end offsets: reading up
    to them needs no waiting and cannot miss anything.
    """

    def __init__(self, consumer: AIOKafkaConsumer, start: dict[TopicPartition, int]) -> None:
        self._consumer = consumer
        self._start = start

    @classmethod
    async def open(cls, bootstrap: str, topics: list[str]) -> Ledger:
        partitions = [p for topic in topics for p in await partitions_of(bootstrap, topic)]
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None
        )
        await consumer.start()
        consumer.assign(partitions)
        return cls(consumer, await consumer.end_offsets(partitions))

    async def read(self) -> list[Record]:
        """Every record appended since `open()`, up to the end offsets of now."""
        end = await self._consumer.end_offsets(list(self._start))
        records: list[Record] = []
        for partition, offset in self._start.items():
            self._consumer.seek(partition, offset)
        remaining = {p for p in self._start if end[p] > self._start[p]}
        async with asyncio.timeout(60):
            while remaining:
                batches = await self._consumer.getmany(*remaining, timeout_ms=500)
                for partition, batch in batches.items():
                    records.extend(r for r in batch if r.offset < end[partition])
                # The position, not the last offset seen: transaction markers take offsets too.
                for partition in list(remaining):
                    if await self._consumer.position(partition) >= end[partition]:
                        remaining.discard(partition)
        return records

    async def close(self) -> None:
        await self._consumer.stop()


@pytest.fixture
async def ledger(kafka: str) -> AsyncIterator[Callable[[list[str]], Awaitable[Ledger]]]:
    opened: list[Ledger] = []

    async def open_ledger(topics: list[str]) -> Ledger:
        ledger = await Ledger.open(kafka, topics)
        opened.append(ledger)
        return ledger

    yield open_ledger
    for ledger in opened:
        await ledger.close()


def carries_trace(record: Record, trace_id: str) -> bool:
    """Whether a canonical record belongs to the trace (in its value or its `ce_` headers)."""
    needle = trace_id.encode()
    in_headers = any(value is not None and needle in value for _, value in record.headers)
    return in_headers or (record.value is not None and needle in record.value)
