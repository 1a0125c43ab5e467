"""Wiring: settings → pool, Kafka clients, senders, loops and the HTTP app."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

from koppel.migrations import migrate
from koppel.postgres_pools import open_pool
from koppel.startup import StartupGate, keep_trying, serve_behind_gate
from koppel_notifier.adapters.answer_store import PostgresAnswers, PostgresMatchPages
from koppel_notifier.adapters.dead_delivery_store import PostgresDeadDeliveries
from koppel_notifier.adapters.delivery_store import PostgresDeliveryStore
from koppel_notifier.adapters.digest_store import PostgresDigestStore
from koppel_notifier.adapters.email_composer import TemplateEmailComposer
from koppel_notifier.adapters.email_renderer import EmailRenderer
from koppel_notifier.adapters.email_sender import SmtpConfig, SmtpEmailSender
from koppel_notifier.adapters.guarded_network import GuardedResolver, Lookup, system_lookup
from koppel_notifier.adapters.inbox_store import PostgresInbox
from koppel_notifier.adapters.kafka_producer import KafkaDeadLetters, OutboxPublisher, make_producer
from koppel_notifier.adapters.link_tokens import LinkTokens
from koppel_notifier.adapters.page_renderer import PageRenderer
from koppel_notifier.adapters.unsubscribe_tokens import UnsubscribeTokens
from koppel_notifier.adapters.webhook_sender import HttpWebhookSender
from koppel_notifier.domain.retry_policy import RetryPolicy
from koppel_notifier.entrypoints.background_loops import DigestClock, OutboxRelay
from koppel_notifier.entrypoints.consultant_page import page_routes
from koppel_notifier.entrypoints.delivery_worker import DeliveryWorker, WorkerLimits
from koppel_notifier.entrypoints.http import create_app
from koppel_notifier.entrypoints.kafka_consumer import InboxConsumer, make_consumer
from koppel_notifier.entrypoints.success_batcher import SuccessBatcher
from koppel_notifier.metrics import NotifierMetrics
from koppel_notifier.service_layer.delivery import DeliveryHandler
from koppel_notifier.settings import Settings

log = structlog.get_logger(__name__)

MIGRATIONS = "koppel_notifier.migrations"


def utc_now() -> datetime:
    return datetime.now(UTC)


async def apply_migrations(settings: Settings) -> list[str]:
    return await migrate(settings.database_dsn, service="notifier", package=MIGRATIONS)


@dataclass
class Notifier:
    """One running notifier: start() its loops, stop() them; `app` serves HTTP."""

    settings: Settings
    pool: asyncpg.Pool
    producer: AIOKafkaProducer
    inbox: InboxConsumer
    worker: DeliveryWorker
    digests: DigestClock
    relay: OutboxRelay
    successes: SuccessBatcher
    webhooks: HttpWebhookSender
    email: SmtpEmailSender
    store: PostgresDeliveryStore
    metrics: NotifierMetrics
    app: FastAPI
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    stopped: bool = False

    async def start(self) -> None:
        await self.producer.start()
        for name, loop in (
            ("inbox", self.inbox.run),
            ("sender", self.worker.run),
            ("successes", self.successes.run),
            ("digests", self.digests.run),
            ("outbox", self.relay.run),
        ):
            self.tasks.append(asyncio.create_task(_supervised(name, loop), name=name))

    async def stop(self) -> None:
        """Stop taking work, let the sender drain, then stop recording and relaying."""
        if self.stopped:
            return
        self.stopped = True
        for stage in (("inbox", "digests"), ("sender",), ("successes", "outbox")):
            stopping = [task for task in self.tasks if task.get_name() in stage]
            for task in stopping:
                task.cancel()
            await asyncio.gather(*stopping, return_exceptions=True)
        self.tasks.clear()
        with contextlib.suppress(Exception):
            await self.relay_flush()
        await self.close()

    async def close(self) -> None:
        """Release connections and clients (what `build` opened), without flushing work."""
        await self.webhooks.aclose()
        await self.email.aclose()
        await self.producer.stop()
        await self.pool.close()

    async def relay_flush(self) -> None:
        await OutboxPublisher(self.pool, self.producer, self.metrics).publish_batch()

    async def readiness(self) -> dict[str, bool]:
        checks = {"consumer": self.inbox.started, "database": False}
        with contextlib.suppress(Exception):
            checks["database"] = await self.pool.fetchval("SELECT true") is True
        return checks


async def build(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utc_now,
    digest_clock: Callable[[], datetime] | None = None,
    resolver: Lookup = system_lookup,
    digest_interval_s: float = 30.0,
) -> Notifier:
    """Everything wired with real adapters; `clock`, `digest_clock`, `resolver` for tests."""
    if settings.migrate_on_start:
        await apply_migrations(settings)
    pool = await open_pool(settings.database_dsn, min_size=2, max_size=settings.database_pool_size)
    metrics = NotifierMetrics()
    store = PostgresDeliveryStore(pool)
    producer = make_producer(settings.kafka)
    webhooks = HttpWebhookSender(
        GuardedResolver(settings.target_policy, lookup=resolver),
        clock,
        connect_timeout=settings.webhook_connect_timeout_s,
        total_timeout=settings.webhook_total_timeout_s,
        connections_per_origin=settings.connections_per_origin,
    )
    password = settings.smtp_password
    email = SmtpEmailSender(
        SmtpConfig(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            username=settings.smtp_username,
            password=None if password is None else password.get_secret_value(),
            starttls=settings.smtp_starttls,
            timeout=settings.smtp_timeout_s,
        ),
        connections=settings.email_concurrency,
    )
    tokens = UnsubscribeTokens(settings.unsubscribe_key())
    links = LinkTokens(settings.unsubscribe_key(), clock=clock)
    keyring = settings.secret_keyring()
    successes = SuccessBatcher(store, clock)
    handler = DeliveryHandler(
        store=store,
        webhooks=webhooks,
        email=email,
        composer=TemplateEmailComposer(
            EmailRenderer(),
            tokens,
            links,
            sender_address=settings.smtp_from,
            public_base_url=settings.public_base_url,
            clock=clock,
        ),
        keyring=keyring,
        policy=RetryPolicy(settings.retry_delays, jitter=settings.retry_jitter),
        metrics=metrics,
        clock=clock,
        successes=successes,
    )
    worker = DeliveryWorker(
        store=store,
        handler=handler,
        limits=WorkerLimits(
            total=settings.send_concurrency,
            email=settings.email_concurrency,
            endpoint=settings.endpoint_concurrency,
            lease_s=settings.lease_s,
            poll_s=settings.poll_interval_s,
        ),
    )
    inbox = InboxConsumer(
        functools.partial(
            make_consumer,
            settings.kafka,
            settings.group_id,
            fetch_max_wait_ms=settings.fetch_max_wait_ms,
            fetch_min_bytes=settings.fetch_min_bytes,
        ),
        PostgresInbox(pool),
        KafkaDeadLetters(producer),
        metrics,
        worker.wake,
        group_id=settings.group_id,
        keyring=keyring,
    )
    digests = DigestClock(
        PostgresDigestStore(pool),
        hour=settings.digest_hour,
        clock=digest_clock or clock,
        interval_s=digest_interval_s,
        on_built=worker.wake,
    )
    relay = OutboxRelay(OutboxPublisher(pool, producer, metrics), idle_s=0.2)
    notifier = Notifier(
        settings=settings,
        pool=pool,
        producer=producer,
        inbox=inbox,
        worker=worker,
        digests=digests,
        relay=relay,
        successes=successes,
        webhooks=webhooks,
        email=email,
        store=store,
        metrics=metrics,
        app=FastAPI(),
    )
    consultant_page = page_routes(
        tokens=links,
        unsubscribe_tokens=tokens,
        pages=PostgresMatchPages(pool),
        answers=PostgresAnswers(pool),
        renderer=PageRenderer(),
        public_base_url=settings.public_base_url,
        clock=clock,
    )
    notifier.app = create_app(
        store=store,
        tokens=tokens,
        metrics=metrics,
        ready=notifier.readiness,
        consultant_page=consultant_page,
    )
    return notifier


@contextlib.asynccontextmanager
async def dead_deliveries(settings: Settings) -> AsyncIterator[PostgresDeadDeliveries]:
    """The store of the operator's `deliveries` commands, on a small pool of its own."""
    pool = await open_pool(settings.database_dsn, min_size=1, max_size=2)
    try:
        yield PostgresDeadDeliveries(pool)
    finally:
        await pool.close()


async def serve(settings: Settings) -> None:
    """Run the notifier and its HTTP server until SIGINT/SIGTERM.

    The server comes up first; while PostgreSQL (or the broker) cannot be reached the
    notifier keeps trying, and `/readyz` answers 503 with the reason.
    """

    async def start(gate: StartupGate) -> Notifier:
        notifier = await keep_trying(lambda: _started(settings), gate)
        gate.open(notifier.app)
        log.info("notifier started", port=settings.port, group_id=settings.group_id)
        return notifier

    await serve_behind_gate(
        settings, host=settings.host, port=settings.port, start=start, stop=Notifier.stop
    )


async def _started(settings: Settings) -> Notifier:
    """A built and started notifier; what a failed start opened is closed again."""
    notifier = await build(settings, digest_interval_s=settings.digest_check_s)
    try:
        await notifier.start()
    except BaseException:
        with contextlib.suppress(Exception):
            await notifier.close()
        raise
    return notifier


async def _supervised(name: str, loop: Callable[[], object]) -> None:
    """Run a loop forever; an unexpected crash is logged and the loop restarted."""
    while True:
        try:
            await loop()  # type: ignore[misc]
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("loop crashed; restarting", loop=name)
            await asyncio.sleep(1.0)
