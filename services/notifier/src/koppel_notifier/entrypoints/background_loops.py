"""Time-driven loops: the daily digest clock and the outbox relay."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import asyncpg
import structlog
from aiokafka.errors import KafkaError

from koppel_notifier.domain.digest_schedule import digest_day
from koppel_notifier.service_layer.ports import DigestStore, OutcomePublisher

log = structlog.get_logger(__name__)


class DigestClock:
    """Once the configured Amsterdam hour has come, builds that day's digests.

    `clock` is injectable so a test can move time to the digest hour instead of waiting.
    """

    def __init__(
        self,
        store: DigestStore,
        *,
        hour: int,
        clock: Callable[[], datetime],
        interval_s: float,
        on_built: Callable[[], None],
    ) -> None:
        self._store = store
        self._hour = hour
        self._clock = clock
        self._interval_s = interval_s
        self._on_built = on_built

    async def tick(self) -> int:
        day = digest_day(self._clock(), hour=self._hour)
        if day is None:
            return 0
        built = await self._store.build_digests(day)
        if built:
            log.info("digests built", day=day.isoformat(), count=built)
            self._on_built()
        return built

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except (asyncpg.PostgresError, OSError) as exc:
                log.warning("digest tick failed", error=str(exc))
            await asyncio.sleep(self._interval_s)


class OutboxRelay:
    """Publishes the outbox every `idle_s`, or at once again while batches come back full.

    Outcome events are not on the delivery path, so they wait for company: a relay that
    ran again right after every partial batch paid a transaction and a produce per outcome.
    """

    def __init__(self, publisher: OutcomePublisher, *, idle_s: float, batch: int = 500) -> None:
        self._publisher = publisher
        self._idle_s = idle_s
        self._batch = batch

    async def run(self) -> None:
        while True:
            try:
                published = await self._publisher.publish_batch(self._batch)
            except (asyncpg.PostgresError, OSError, KafkaError) as exc:
                log.warning("outbox relay failed; retrying", error=str(exc))
                published = 0
            if published < self._batch:
                await asyncio.sleep(self._idle_s)
