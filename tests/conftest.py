"""Real infrastructure for the test suite.

Kafka and PostgreSQL come from `KAFKA_BOOTSTRAP_SERVERS` / `DATABASE_URL` when set (as
`make test` and CI do, after `deploy/local/up.sh`), and otherwise from testcontainers when
a Docker engine is present. Without either, tests that need them are skipped with a reason.
"""

from __future__ import annotations

import asyncio
import gc
import os
import shutil
import time
import uuid
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from koppel import secret_keys
from koppel.secret_sealing import SecretKeyring
from koppel.topic_reconciliation import ensure_topics
from koppel_demo.secret_keys import development_secret_keys
from koppel_testing.databases import new_database

# Intake and the notifier refuse to start without the keys that seal webhook secrets: the
# session makes a random one, inherited by every service a test starts in or out of process.
os.environ.update(development_secret_keys())


def _docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    if not os.environ.get("DOCKER_HOST") and not Path("/var/run/docker.sock").exists():
        return False
    try:
        import docker

        client = docker.from_env()
        try:
            client.ping()
        finally:
            client.close()
    except Exception:
        # A failed ping can leave its socket to the garbage collector; collect it here,
        # where its ResourceWarning is expected, not in whichever test runs next.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
        return False
    return True


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap address of a real Kafka broker with Koppel's topics created."""
    address = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if address:
        yield address
        return
    if not _docker_available():
        pytest.skip("no KAFKA_BOOTSTRAP_SERVERS and no Docker engine: run `make test`")
    from testcontainers.kafka import KafkaContainer

    with KafkaContainer("confluentinc/cp-kafka:7.7.1").with_kraft() as kafka:
        yield kafka.get_bootstrap_server()


@pytest.fixture(scope="session")
async def kafka(kafka_bootstrap: str) -> str:
    """A broker address whose topics exist (idempotent reconcile, as every environment does)."""
    await ensure_topics(kafka_bootstrap)
    return kafka_bootstrap


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """DSN of a real PostgreSQL server (a server-level DSN; tests create their own databases)."""
    dsn = os.environ.get("DATABASE_URL")
    if dsn:
        yield dsn
        return
    if not _docker_available():
        pytest.skip("no DATABASE_URL and no Docker engine: run `make test`")
    from testcontainers.postgres import PostgresContainer

    with PostgresContainer("postgres:16-alpine", driver=None) as postgres:
        yield postgres.get_connection_url()


@pytest.fixture
async def fresh_database(database_url: str) -> AsyncIterator[str]:
    """A new, empty database on the test server for one test; dropped afterwards."""
    async with new_database(database_url) as dsn:
        yield dsn


@pytest.fixture(scope="session")
def keyring() -> SecretKeyring:
    """The keys the services of this session seal and open webhook secrets with."""
    return secret_keys.SecretKeySettings().secret_keyring()


@pytest.fixture
def unique_id() -> str:
    """An entity-id-safe unique suffix so tests sharing one broker never see each other's data."""
    return uuid.uuid4().hex[:10]


async def eventually(
    check: Callable[[], Awaitable[bool]] | Callable[[], bool],
    *,
    within: float = 60.0,
    interval: float = 0.05,
    what: str = "condition",
) -> None:
    """Wait until `check()` holds; fail with `what` after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(interval)


@pytest.fixture
def wait() -> Callable[..., Awaitable[None]]:
    return eventually
