"""Helpers for the matcher's integration tests: test data, a producer, a match collector.

All tests share the canonical topics, so every entity id carries the test's `unique_id`
and the collector keeps only events about those ids. Matchers under test start from the
end of the topics (`MATCHER_INITIAL_OFFSET=latest`) in a fresh database with a unique group.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.partitioner import DefaultPartitioner

from koppel.cloudevents import CloudEvent, decode, encode, new_event
from koppel.contract import Assignment, AssignmentClosed, ConsultantProfile
from koppel.errors import EnvelopeError
from koppel.event_types import EventType, Source
from koppel.topics import ASSIGNMENTS, CONSULTANTS, MATCHES
from koppel.vocabulary import CloseReason
from koppel_demo.sandbox import free_port
from koppel_matcher.adapters.kafka_admin import partitions_of
from koppel_matcher.bootstrap import Matcher, start_matcher
from koppel_matcher.settings import MatcherSettings

TODAY = date.today()
READ_TOKEN = "matcher-read-token-Vq3xT9kLm2Rz7Hc4"
"""The bearer token of the read API in these tests (`ops:` in MATCHER_API_TOKENS)."""


def assignment(assignment_id: str, **changes: Any) -> Assignment:
    """An open senior crisis-communication assignment in Utrecht, 3 office days."""
    document: dict[str, Any] = {
        "id": assignment_id,
        "title": "Woordvoerder crisiscommunicatie",
        "organization": {"name": "Gemeente Utrecht", "type": "municipality", "inhabitants": 370000},
        "location": {"city": "Utrecht", "province": "utrecht", "lat": 52.0907, "lon": 5.1214},
        "level": "senior",
        "assignment_type": "project",
        "disciplines_required": ["crisis_communication"],
        "disciplines_preferred": ["press_relations"],
        "hours_per_week": {"min": 24, "max": 32},
        "start_date": (TODAY + timedelta(days=14)).isoformat(),
        "duration_months": 6,
        "office_days_per_week": 3,
        "visibility": "public",
        "status": "open",
    }
    document.update(changes)
    return Assignment.model_validate(document)


def profile(consultant_id: str, **changes: Any) -> ConsultantProfile:
    """A senior crisis-communication consultant near Utrecht who fits `assignment()`."""
    document: dict[str, Any] = {
        "id": consultant_id,
        "name": "Sanne de Vries",
        "email": f"{consultant_id}@example.org",
        "level": "senior",
        "years_experience": 8,
        "public_sector_years": 5,
        "disciplines": ["crisis_communication", "press_relations"],
        "specialisms": ["crisis_communication"],
        "work_style": "specialist",
        "home": {"city": "Amersfoort", "province": "utrecht", "lat": 52.1561, "lon": 5.3878},
        "max_travel_km": 60,
        "max_office_days_per_week": 3,
        "available_from": TODAY.isoformat(),
        "hours_per_week": {"min": 24, "max": 32},
        "consent": True,
        "active": True,
    }
    document.update(changes)
    return ConsultantProfile.model_validate(document)


class Publisher:
    """Produces Koppel events onto the canonical topics, as intake would."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer

    async def event(self, topic: str, key: str, event: CloudEvent) -> None:
        value, headers = encode(event)
        await self.producer.send_and_wait(topic, value=value, key=key.encode(), headers=headers)

    async def assignment(self, item: Assignment, traceparent: str | None = None) -> None:
        event = new_event(
            EventType.ASSIGNMENT_UPSERTED,
            source=Source.INTAKE.value,
            subject=item.id,
            data=item,
            traceparent=traceparent,
        )
        await self.event(ASSIGNMENTS, item.id, event)

    async def close(self, assignment_id: str, reason: CloseReason) -> None:
        data = AssignmentClosed(
            assignment_id=assignment_id, reason=reason, closed_at=datetime.now(UTC)
        )
        event = new_event(
            EventType.ASSIGNMENT_CLOSED,
            source=Source.INTAKE.value,
            subject=assignment_id,
            data=data,
        )
        await self.event(ASSIGNMENTS, assignment_id, event)

    async def profile(self, item: ConsultantProfile) -> None:
        event = new_event(
            EventType.CONSULTANT_UPSERTED, source=Source.INTAKE.value, subject=item.id, data=item
        )
        await self.event(CONSULTANTS, item.id, event)

    async def erase(self, consultant_id: str) -> None:
        await self.producer.send_and_wait(CONSULTANTS, value=None, key=consultant_id.encode())

    async def raw(
        self, topic: str, key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]]
    ) -> None:
        await self.producer.send_and_wait(topic, value=value, key=key, headers=headers)


class Collector:
    """Reads committed records of a topic from the moment it starts, keeping the matching ones."""

    def __init__(self, bootstrap: str, topic: str, keep: Callable[[Any], bool]) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=None,
            isolation_level="read_committed",
            enable_auto_commit=False,
        )
        self._topic = topic
        self._bootstrap = bootstrap
        self._keep = keep
        self.items: list[Any] = []
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._consumer.start()
        admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap)
        await admin.start()
        try:
            partitions = await partitions_of(admin, self._topic)
        finally:
            await admin.close()
        tps = [TopicPartition(self._topic, p) for p in partitions]
        self._consumer.assign(tps)
        await self._consumer.seek_to_end(*tps)
        for tp in tps:
            await self._consumer.position(tp)
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            batch = await self._consumer.getmany(timeout_ms=100)
            for records in batch.values():
                for record in records:
                    try:
                        item = self.parse(record)
                    except EnvelopeError:
                        continue  # other tests put poison on the shared topics on purpose
                    if item is not None and self._keep(item):
                        self.items.append(item)

    def parse(self, record: Any) -> Any:
        return decode(record.value, record.headers)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()

    async def wait_for(self, count: int, within: float = 60.0) -> list[Any]:
        """The items once there are `count`; fails after `within` s (a matcher stalled for
        26 s was seen once on a loaded 2-core machine, close to the former 30 s)."""
        deadline = time.monotonic() + within
        while len(self.items) < count and time.monotonic() < deadline:  # noqa: ASYNC110 - polling a list another task fills
            await asyncio.sleep(0.1)
        assert len(self.items) >= count, f"expected {count} items, got {self.items!r}"
        return list(self.items)

    async def settle(self, seconds: float = 2.0) -> list[Any]:
        """Wait a while so that unexpected extra items would show up."""
        await asyncio.sleep(seconds)
        return list(self.items)


def about(unique_id: str) -> Callable[[CloudEvent], bool]:
    """Match events of this test's matcher whose consultant AND assignment ids carry `unique_id`.

    Other tests publish on the same topics at the same time; their assignments may well
    match this test's consultants, so one side carrying the id is not enough; and another
    matcher deployment on the broker (another test run) may match this test's entities too,
    so only events of this test's group (`matchergroup`) count.
    """

    def keep(event: CloudEvent) -> bool:
        if (event.model_extra or {}).get("matchergroup") != f"test-matcher-{unique_id}":
            return False
        data = event.data or {}
        assignment_id = data.get("assignment_id") or (data.get("assignment") or {}).get("id")
        consultant_id = data.get("consultant_id") or ""
        return unique_id in consultant_id and unique_id in (assignment_id or "")

    return keep


def brief(event: CloudEvent) -> tuple[str, str, str, Any]:
    """(type suffix, consultant id, assignment id, revision or reason) of a match event
    (the revision of a found or an updated, the reason of a withdrawn)."""
    data = event.data
    assignment_id = data.get("assignment_id") or data["assignment"]["id"]
    extra = data["reason"] if event.type == EventType.MATCH_WITHDRAWN else data.get("revision")
    return event.type.rsplit(".", 1)[-1], data["consultant_id"], assignment_id, extra


def matcher_settings(
    database: str, bootstrap: str, unique_id: str, **extra: Any
) -> MatcherSettings:
    values: dict[str, Any] = {
        "KOPPEL_ENVIRONMENT": "development",
        "MATCHER_API_TOKENS": f"ops:{READ_TOKEN}",
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "DATABASE_URL": database,
        "MATCHER_GROUP_ID": f"test-matcher-{unique_id}",
        "MATCHER_INSTANCE_ID": f"test-{unique_id}",
        "MATCHER_INITIAL_OFFSET": "latest",
        "MATCHER_SWEEP_INTERVAL_SECONDS": 1.0,
    }
    values.update(extra)
    return MatcherSettings.model_validate(values)


async def neighbour(bootstrap: str, topic: str, key: str, prefix: str) -> str:
    """An id starting with `prefix` that lands in the same partition of `topic` as `key`.

    Records of one partition are read in order: a match caused by a record published after
    others in `key`'s partition proves the matcher got past those.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        partitions = sorted(await partitions_of(admin, topic))
    finally:
        await admin.close()
    partitioner = DefaultPartitioner()
    target = partitioner(key.encode(), partitions, partitions)
    for n in range(10_000):
        candidate = f"{prefix}-{n}"
        if partitioner(candidate.encode(), partitions, partitions) == target:
            return candidate
    raise AssertionError(f"no id with prefix {prefix!r} in partition {target} of {topic}")


async def wait_ready(matcher: Matcher, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while not matcher.loaded():
        assert time.monotonic() < deadline, "matcher did not become ready"
        await asyncio.sleep(0.1)


class Kit:
    """The module-level helpers, as a fixture (tests cannot import conftest in importlib mode)."""

    assignment = staticmethod(assignment)
    profile = staticmethod(profile)
    brief = staticmethod(brief)
    about = staticmethod(about)
    settings = staticmethod(matcher_settings)
    wait_ready = staticmethod(wait_ready)
    neighbour = staticmethod(neighbour)
    Collector = Collector
    read_headers = {"Authorization": f"Bearer {READ_TOKEN}"}


@pytest.fixture
def kit() -> type[Kit]:
    return Kit


@pytest.fixture
async def publisher(kafka: str) -> AsyncIterator[Publisher]:
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    try:
        yield Publisher(producer)
    finally:
        await producer.stop()


@pytest.fixture
async def matches(kafka: str, unique_id: str) -> AsyncIterator[Collector]:
    collector = Collector(kafka, MATCHES, about(unique_id))
    await collector.start()
    try:
        yield collector
    finally:
        await collector.stop()


@pytest.fixture
async def matcher(kafka: str, fresh_database: str, unique_id: str) -> AsyncIterator[Matcher]:
    running = await start_matcher(matcher_settings(fresh_database, kafka, unique_id))
    try:
        await wait_ready(running)
        yield running
    finally:
        await running.stop()


CRASHING_MATCHER = Path(__file__).with_name("crashing_matcher.py")


class MatcherProcess:
    """`python -m koppel_matcher` as a separate process, as a deployment runs it; with
    `crash_after_db_commits`, the matcher of `crashing_matcher.py` instead."""

    def __init__(
        self, env: dict[str, str], log_path: Path, crash_after_db_commits: int | None = None
    ) -> None:
        self.port = int(env["MATCHER_PORT"])
        self.log_path = log_path
        self._log = log_path.open("ab")
        command = [sys.executable, "-m", "koppel_matcher"]
        if crash_after_db_commits is not None:
            command = [sys.executable, str(CRASHING_MATCHER), str(crash_after_db_commits)]
        self.process = subprocess.Popen(
            command,
            env={**os.environ, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def wait_ready(self, within: float = 60.0) -> None:
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.port}") as http:
            while time.monotonic() < deadline:
                assert self.process.poll() is None, f"matcher exited:\n{self.log_text()[-3000:]}"
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get("/readyz", timeout=5)).status_code == 200:
                        return
                await asyncio.sleep(0.2)
        raise AssertionError(f"matcher not ready:\n{self.log_text()[-3000:]}")

    async def emitted(self) -> float:
        """Sum of koppel_matcher_matches_emitted_total over types."""
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.port}") as http:
            text = (await http.get("/metrics", timeout=5)).text
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("koppel_matcher_matches_emitted_total{")
        )

    async def wait_exit(self, within: float = 30.0) -> int:
        deadline = time.monotonic() + within
        while self.process.poll() is None:
            assert time.monotonic() < deadline, "matcher did not exit"
            await asyncio.sleep(0.1)
        return self.process.returncode

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


@pytest.fixture
def spawn(
    kafka: str, fresh_database: str, unique_id: str, tmp_path: Path
) -> Iterator[Callable[..., MatcherProcess]]:
    """Start matcher processes sharing one database and group; all are stopped afterwards."""
    started: list[MatcherProcess] = []

    def start(
        instance: str = "r1", *, crash_after_db_commits: int | None = None, **extra: str
    ) -> MatcherProcess:
        env = {
            "KOPPEL_ENVIRONMENT": "development",
            "MATCHER_API_TOKENS": f"ops:{READ_TOKEN}",
            "KAFKA_BOOTSTRAP_SERVERS": kafka,
            "DATABASE_URL": fresh_database,
            "MATCHER_GROUP_ID": f"test-matcher-{unique_id}",
            "MATCHER_INSTANCE_ID": f"{instance}-{unique_id}",
            "MATCHER_PORT": str(free_port()),
            "MATCHER_HOST": "127.0.0.1",
            "MATCHER_INITIAL_OFFSET": "latest",
            "LOG_JSON": "true",
            **extra,
        }
        log_path = tmp_path / f"{instance}-{len(started)}.log"
        process = MatcherProcess(env, log_path, crash_after_db_commits)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
