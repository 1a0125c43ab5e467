"""Wiring: settings → real adapters → the FastAPI app whose lifespan runs the raw consumer."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog
from fastapi import FastAPI

from koppel.settings import settings_from_environment
from koppel_intake.adapters.kafka_producer import KafkaEventPublisher
from koppel_intake.adapters.matcher_directory import HttpMatchDirectory
from koppel_intake.entrypoints.http import create_app
from koppel_intake.entrypoints.kafka_consumer import RawConsumer
from koppel_intake.service_layer.answers import Answers
from koppel_intake.service_layer.commands import Intake
from koppel_intake.settings import Settings

log = structlog.get_logger(__name__)


def load_settings() -> Settings:
    return settings_from_environment(Settings, "koppel-intake")


def build_app(settings: Settings) -> FastAPI:
    """The production app: Kafka publisher, the matcher's read API as the directory of
    matches, HTTP routes and (unless disabled) raw consumer.

    The lifespan connects the producer in the background (HTTP answers 503 until then),
    starts the consumer, and on shutdown stops consuming before flushing the producer.
    """
    tokens = settings.callers()
    if not tokens.names:
        log.warning("INTAKE_API_TOKENS is empty: every API request will be refused with 401")
    keyring = settings.secret_keyring()
    publisher = KafkaEventPublisher(
        settings.kafka,
        timeout_seconds=settings.publish_timeout_seconds,
        max_request_size=settings.max_record_bytes,
    )
    directory = HttpMatchDirectory(
        str(settings.matcher_url),
        settings.matcher_token(),
        timeout_seconds=settings.matcher_timeout_seconds,
    )
    consumer = (
        RawConsumer(
            settings.kafka, publisher, keyring=keyring, group_id=settings.raw_consumer_group
        )
        if settings.raw_consumer_enabled
        else None
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        log.info(
            "intake starting",
            callers=list(tokens.names),
            port=settings.port,
            sealing_key=keyring.active_key_id,
        )
        connecting = asyncio.create_task(publisher.connect(), name="kafka-connect")
        consuming = (
            asyncio.create_task(_consume_when_connected(publisher, consumer), name="raw-consumer")
            if consumer is not None
            else None
        )
        try:
            yield
        finally:
            if consumer is not None and consuming is not None:
                consumer.stop()
                await _finish(consuming, grace_seconds=15)
            await _finish(connecting, grace_seconds=0)
            await publisher.close()
            await directory.close()
            log.info("intake stopped")

    intake = Intake(publisher, keyring, max_record_bytes=settings.max_record_bytes)
    return create_app(
        intake=intake,
        answers=Answers(intake, directory),
        publisher=publisher,
        tokens=tokens,
        max_body_bytes=settings.max_body_bytes,
        lifespan=lifespan,
    )


async def _consume_when_connected(publisher: KafkaEventPublisher, consumer: RawConsumer) -> None:
    await publisher.wait_connected()
    await consumer.run()


async def _finish(task: asyncio.Task[None], *, grace_seconds: float) -> None:
    """Let `task` end by itself within the grace period, else cancel it."""
    done, _ = await asyncio.wait({task}, timeout=grace_seconds)
    if not done:
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    if not task.cancelled() and task.exception() is not None:
        log.error("background task failed", task=task.get_name(), exc_info=task.exception())
