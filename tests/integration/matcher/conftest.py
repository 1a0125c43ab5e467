"""Fixtures of the matcher's integration tests (helpers in koppel_testing.integration_matcher)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path

import pytest

from koppel.cloudevents import CloudEvent
from koppel_demo.sandbox import free_port
from koppel_matcher.bootstrap import Matcher, start_matcher
from koppel_testing.integration_matcher import (
    READ_TOKEN,
    MatcherProcess,
    SpawnMatcher,
    match_events,
    matcher_settings,
    wait_ready,
)
from koppel_testing.kafka_publishing import TopicWriter
from koppel_testing.kafka_reading import Collector


@pytest.fixture
def publisher(kafka_io: TopicWriter) -> TopicWriter:
    """Produces events onto the canonical topics as intake would."""
    return kafka_io


@pytest.fixture
async def matches(kafka: str, unique_id: str) -> AsyncIterator[Collector[CloudEvent]]:
    collector = match_events(kafka, unique_id)
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


@pytest.fixture
def spawn(
    kafka: str, fresh_database: str, unique_id: str, tmp_path: Path
) -> Iterator[SpawnMatcher]:
    """Start matcher processes sharing one database and group; all are stopped afterwards."""
    started: list[MatcherProcess] = []

    def start(
        instance: str = "r1",
        *,
        crash_after_db_commits: int | None = None,
        environment: Mapping[str, str] | None = None,
        **extra: str,
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
            **(environment or {}),
            **extra,
        }
        log_path = tmp_path / f"{instance}-{len(started)}.log"
        process = MatcherProcess.spawn(env, log_path, crash_after_db_commits)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
