"""A real `koppel-intake` process for the hostile-input tests, and ways to see what it published.

The process runs as in production (uvicorn, real Kafka producer, optionally the raw
consumer in a group of the test's own, positioned at the end of the raw topic). Its log
goes to a file: hundreds of rejected records log hundreds of lines.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import pytest
from aiokafka import TopicPartition

from koppel.topics import RAW
from koppel_demo.sandbox import free_port, start_group_at_end
from koppel_testing.integration_intake import MatcherEndpoint, StartIntake
from koppel_testing.integration_processes import ServiceProcess
from koppel_testing.kafka_reading import Ledger, OpenLedger, partitions_of

HOSTILE_TOKEN = "hostile-token-7c1e"


async def start_intake(
    bootstrap: str,
    log_path: Path,
    *,
    raw_group: str | None = None,
    matcher: Mapping[str, str] | None = None,
) -> ServiceProcess:
    """Start the process and wait until `/readyz` answers 200 (the producer is connected);
    `matcher` holds the settings naming the matcher that answers are checked against."""
    port = free_port()
    env = {
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
    intake = ServiceProcess.start("koppel_intake", env, port, log_path)
    try:
        # A deadline with room: on a loaded 2-core machine the process alone takes seconds
        # to import and connect.
        await intake.wait_ready(within=60)
    except BaseException:
        intake.stop()
        raise
    return intake


@pytest.fixture
async def hostile_intake(kafka: str, tmp_path: Path) -> AsyncIterator[StartIntake]:
    """Starts `koppel-intake` processes; `raw_group=` also runs the raw consumer in that group,
    committed at the end of the raw topic first so it skips the topic's history."""
    started: list[ServiceProcess] = []

    async def start(*, raw_group: str | None = None) -> ServiceProcess:
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
    kafka: str, tmp_path_factory: pytest.TempPathFactory, matcher_read_api: MatcherEndpoint
) -> AsyncIterator[ServiceProcess]:
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


@pytest.fixture
async def ledger(kafka: str) -> AsyncIterator[OpenLedger]:
    opened: list[Ledger] = []

    async def open_ledger(topics: list[str]) -> Ledger:
        ledger = await Ledger.open(kafka, topics)
        opened.append(ledger)
        return ledger

    yield open_ledger
    for ledger in opened:
        await ledger.close()
