"""Real receivers and a real notifier for the notifier's integration tests.

- `smtp_sink`, `receiver`: see koppel_testing.receivers.
- `notifier`: a factory starting the notifier in-process on a fresh database with a unique
  consumer group whose offsets are first committed at the current end of the topics, so it
  sees only what the test publishes.
- `kafka_io`: publishes profiles, match events and answers onto the real topics.
- `pool`: a pool on a fresh database with the notifier's tables, for testing one adapter.
- `rig`: all of the above with `wait`, `rows` and `unique_id`, and named subscribers.
- `reports`: reads koppel.notifications.v1 from its end as of the test's start.

Every consultant id carries the test's `unique_id`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest

from koppel.migrations import migrate
from koppel.topics import CONSULTANTS, MATCHES, NOTIFICATIONS, RESPONSES
from koppel_demo.sandbox import start_group_at_end
from koppel_notifier.bootstrap import Notifier, build
from koppel_notifier.settings import Settings
from koppel_testing.integration_notifier import (
    NotifierFactory,
    NotifierRig,
    Rows,
    delivery_rows,
    notifier_env,
)
from koppel_testing.integration_waiting import Wait
from koppel_testing.kafka_publishing import TopicWriter
from koppel_testing.kafka_reading import TopicReader
from koppel_testing.receivers import Receiver, SmtpSink, webhook_receiver
from koppel_testing.receivers import smtp_sink as running_smtp_sink


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[SmtpSink]:
    with running_smtp_sink() as sink:
        yield sink


@pytest.fixture(scope="session")
async def receiver() -> AsyncIterator[Receiver]:
    async with webhook_receiver() as hub:
        yield hub


@pytest.fixture
async def reports(kafka: str) -> AsyncIterator[TopicReader]:
    """What the notifier reports on koppel.notifications.v1 from now on."""
    reader = await TopicReader.at_end(kafka, NOTIFICATIONS)
    try:
        yield reader
    finally:
        await reader.close()


@pytest.fixture
async def notifier(
    fresh_database: str, kafka: str, smtp_sink: SmtpSink, unique_id: str
) -> NotifierFactory:
    """`async with notifier(**env_overrides, clock=..., resolver=...) as running: ...`"""

    @asynccontextmanager
    async def start(**options: Any) -> AsyncIterator[Notifier]:
        build_options = {
            key: options.pop(key)
            for key in ("clock", "digest_clock", "resolver", "digest_interval_s")
            if key in options
        }
        group_id = f"notifier-test-{unique_id}-{uuid.uuid4().hex[:6]}"
        env = notifier_env(
            database_url=fresh_database, kafka=kafka, smtp=smtp_sink, group_id=group_id, **options
        )
        await start_group_at_end(kafka, group_id, (MATCHES, CONSULTANTS, RESPONSES))
        running = await build(Settings.model_validate(env), **build_options)
        await running.start()
        try:
            yield running
        finally:
            await running.stop()

    return start


@pytest.fixture
async def pool(fresh_database: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a fresh database with the notifier's tables, for testing one adapter."""
    await migrate(fresh_database, service="notifier", package="koppel_notifier.migrations")
    created = await asyncpg.create_pool(fresh_database, min_size=1, max_size=3)
    assert created is not None
    try:
        yield created
    finally:
        await created.close()


@pytest.fixture
def rows() -> Rows:
    return delivery_rows


@pytest.fixture
def rig(
    notifier: NotifierFactory,
    kafka_io: TopicWriter,
    smtp_sink: SmtpSink,
    receiver: Receiver,
    wait: Wait,
    rows: Rows,
    unique_id: str,
) -> NotifierRig:
    return NotifierRig(notifier, kafka_io, smtp_sink, receiver, wait, rows, unique_id)
