"""Intake in the test's process: its production app, and raw consumers tests can kill."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias

import httpx
import pytest
from asgi_lifespan import LifespanManager

from koppel_intake.bootstrap import build_app
from koppel_intake.entrypoints.kafka_consumer import RawConsumer
from koppel_intake.service_layer.ports import EventPublisher
from koppel_intake.settings import Settings
from koppel_testing.integration_processes import ServiceProcess


@asynccontextmanager
async def intake_client(
    kafka: str, token: str, **settings: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the production app (real Kafka publisher, real lifespan, keys from the
    session's environment), raw consumer off, authenticated with `token`; once it is ready.
    `settings` add to the app's settings (`INTAKE_MATCHER_URL`, ...)."""
    configured = Settings(
        KOPPEL_ENVIRONMENT="development",
        KAFKA_BOOTSTRAP_SERVERS=kafka,
        INTAKE_API_TOKENS=f"it:{token}",
        INTAKE_RAW_CONSUMER=False,
        **settings,
    )
    app = build_app(configured)
    async with (
        LifespanManager(app, startup_timeout=30, shutdown_timeout=30) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app),
            base_url="http://intake",
            headers={"Authorization": f"Bearer {token}"},
        ) as client,
    ):
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


StartConsumer: TypeAlias = Callable[[EventPublisher], Awaitable[RunningConsumer]]
"""The `start_consumer` fixture: starts a raw consumer, assigned, with this publisher."""


class StartIntake(Protocol):
    """The hostile tests' `hostile_intake` fixture: starts a `koppel-intake` process, with
    the raw consumer in `raw_group` if given."""

    def __call__(self, *, raw_group: str | None = None) -> Awaitable[ServiceProcess]: ...
