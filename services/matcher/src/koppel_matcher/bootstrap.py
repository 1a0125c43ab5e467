"""Wiring: settings → database pool, state store, units of work, shard supervisor, HTTP app.

`start_matcher` and `serve` take the class of the shards' unit of work: the production one
by default; the crash tests pass a subclass that kills the process between the database and
the Kafka commit (tests/integration/matcher/crashing_matcher.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import structlog
from aiokafka.admin import AIOKafkaAdminClient

from koppel.logging import configure_logging
from koppel.migrations import migrate
from koppel.startup import StartupGate, keep_trying, serve_behind_gate
from koppel_matcher.adapters.clock import SystemClock
from koppel_matcher.adapters.match_queries import MatchQueries
from koppel_matcher.adapters.state_store import StateStore, create_pool
from koppel_matcher.adapters.unit_of_work import KafkaPostgresUnitOfWork
from koppel_matcher.entrypoints import garbage_collection
from koppel_matcher.entrypoints.http import create_app
from koppel_matcher.entrypoints.kafka_consumer import ShardConsumerConfig
from koppel_matcher.entrypoints.supervisor import ShardSupervisor, UnitOfWorkFactory
from koppel_matcher.settings import Settings

SERVICE = "matcher"
MIGRATIONS = "koppel_matcher.migrations"

log = structlog.get_logger(__name__)


async def apply_migrations(settings: Settings) -> list[str]:
    return await migrate(settings.database_dsn, service=SERVICE, package=MIGRATIONS)


def consumer_config(settings: Settings) -> ShardConsumerConfig:
    return ShardConsumerConfig(
        kafka=settings.kafka,
        group_id=settings.group_id,
        instance_id=settings.instance_id,
        initial_offset=settings.initial_offset,
        sweep_interval_seconds=settings.sweep_interval_seconds,
        max_batch=settings.max_batch,
        commit_interval_seconds=settings.commit_interval_seconds,
        max_events_per_transaction=settings.max_events_per_transaction,
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
        fetch_min_bytes=settings.fetch_min_bytes,
        clock=SystemClock(),
    )


def units_of_work(
    settings: Settings,
    store: StateStore,
    unit_of_work: type[KafkaPostgresUnitOfWork] = KafkaPostgresUnitOfWork,
) -> UnitOfWorkFactory:
    """The factory of the shards' units of work, all on `store`."""

    def make(shard: int, admin: AIOKafkaAdminClient) -> KafkaPostgresUnitOfWork:
        return unit_of_work(
            shard,
            kafka=settings.kafka,
            group_id=settings.group_id,
            instance_id=settings.instance_id,
            store=store,
            admin=admin,
        )

    return make


@dataclass
class Matcher:
    """The running matcher: its pool, supervisor and the readiness checks of /readyz."""

    settings: Settings
    pool: asyncpg.Pool
    store: StateStore
    supervisor: ShardSupervisor
    _stopped: bool = False

    async def database_ok(self) -> bool:
        try:
            await self.store.ping()
        except Exception:  # any failure means "not ready"
            return False
        return True

    async def broker_ok(self) -> bool:
        return await self.supervisor.broker_reachable()

    def loaded(self) -> bool:
        return self.supervisor.ready

    async def stop(self) -> None:
        """Finish the shards' current transactions, leave the group, close (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        await self.supervisor.stop()
        await self.pool.close()
        log.info("matcher_stopped")


async def start_matcher(
    settings: Settings,
    *,
    unit_of_work: type[KafkaPostgresUnitOfWork] = KafkaPostgresUnitOfWork,
) -> Matcher:
    """Migrate (unless disabled), connect, join the group and start the owned shards."""
    if settings.migrate_on_start:
        await apply_migrations(settings)
    pool = await create_pool(settings.database_dsn)
    store = StateStore(pool)
    supervisor = ShardSupervisor(
        consumer_config(settings), units_of_work(settings, store, unit_of_work)
    )
    try:
        await supervisor.start()
    except BaseException:
        await pool.close()
        raise
    return Matcher(settings=settings, pool=pool, store=store, supervisor=supervisor)


async def serve(
    settings: Settings,
    *,
    unit_of_work: type[KafkaPostgresUnitOfWork] = KafkaPostgresUnitOfWork,
) -> None:
    """Run the matcher and its HTTP API until SIGTERM / SIGINT.

    The server comes up first; while PostgreSQL (or the broker) cannot be reached the
    matcher keeps trying, and `/readyz` answers 503 with the reason.
    """
    configure_logging(SERVICE, level=settings.log_level, json=settings.log_json)
    structlog.contextvars.bind_contextvars(instance=settings.instance_id)
    garbage_collection.freeze_after_full_collections()

    async def start(gate: StartupGate) -> Matcher:
        matcher = await keep_trying(
            lambda: start_matcher(settings, unit_of_work=unit_of_work), gate
        )
        gate.open(create_app(MatchQueries(matcher.pool), matcher, settings.callers()))
        log.info("matcher_started", port=settings.port, group_id=settings.group_id)
        return matcher

    await serve_behind_gate(
        settings, host=settings.host, port=settings.port, start=start, stop=Matcher.stop
    )
