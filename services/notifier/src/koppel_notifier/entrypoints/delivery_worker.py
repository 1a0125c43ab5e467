"""The sender: claims due deliveries and sends them, each endpoint within its own limit.

A webhook endpoint that hangs holds at most `endpoint_limit` slots; its other deliveries
are not even claimed while it is saturated, so the remaining slots keep serving everyone
else. Email goes through the one SMTP relay with its own limit.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass

import structlog

from koppel import tracing
from koppel.backoff import Backoff
from koppel_notifier.domain.model import ChannelName, Delivery
from koppel_notifier.service_layer.delivery import DeliveryHandler
from koppel_notifier.service_layer.ports import Capacity, DeliveryStore

log = structlog.get_logger(__name__)

_CLAIM_GAP_S = 0.01


@dataclass(frozen=True)
class WorkerLimits:
    total: int
    email: int
    endpoint: int
    lease_s: float
    poll_s: float
    drain_s: float = 5.0
    claim_retry_s: float = 0.5
    """First wait after a failed claim (PostgreSQL away); it doubles up to `claim_retry_max_s`."""
    claim_retry_max_s: float = 15.0


class DeliveryWorker:
    """Claims what is due within the limits and runs each delivery in a task of its own.

    What a delivery comes to is `DeliveryHandler`'s business; the worker keeps the slots.
    """

    def __init__(
        self,
        *,
        store: DeliveryStore,
        handler: DeliveryHandler,
        limits: WorkerLimits,
    ) -> None:
        self._store = store
        self._handler = handler
        self._limits = limits
        self._wake = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._email_busy = 0
        self._endpoint_busy: Counter[str] = Counter()
        self._endpoint_of: dict[asyncio.Task[None], str] = {}
        self._backlog = True
        """The last claim may have left due work behind (capacity or an endpoint was full)."""
        self._claim_backoff = Backoff(limits.claim_retry_s, limits.claim_retry_max_s)

    def wake(self) -> None:
        """New work may be due (a batch was consumed, a digest built, a send finished)."""
        self._wake.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        last_claim = 0.0
        try:
            while True:
                self._wake.clear()
                capacity = Capacity(
                    total=self._limits.total - len(self._in_flight),
                    email=self._limits.email - self._email_busy,
                    endpoint_limit=self._limits.endpoint,
                    busy_endpoints=dict(self._endpoint_busy),
                )
                claimed: list[Delivery] = []
                deferred = False
                if capacity.total > 0:
                    if self._worth_claiming(capacity.total, loop.time() - last_claim):
                        last_claim = loop.time()
                        try:
                            claimed = await self._claim(capacity)
                        except Exception as exc:
                            # The sends in flight go on and record their outcomes when they
                            # can; the loop waits for the database instead of ending.
                            delay = self._claim_backoff.next_delay()
                            log.warning(
                                "claiming deliveries failed; retrying",
                                error=type(exc).__name__,
                                retry_in_s=round(delay, 2),
                            )
                            await asyncio.sleep(delay)
                            continue
                    else:
                        deferred = True
                for delivery in claimed:
                    self._start(delivery)
                if not deferred and capacity.total > 0:
                    self._backlog = self._saturated()
                if claimed and len(self._in_flight) < self._limits.total:
                    continue
                try:
                    async with asyncio.timeout(_CLAIM_GAP_S if deferred else self._limits.poll_s):
                        await self._wake.wait()
                except TimeoutError:
                    pass
        finally:
            # On shutdown, let sends under way finish (and be recorded) for a moment; what
            # is still running after that is cancelled and retried once its lease expires.
            if self._in_flight:
                await asyncio.wait(set(self._in_flight), timeout=self._limits.drain_s)
            for task in self._in_flight:
                task.cancel()
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def _claim(self, capacity: Capacity) -> list[Delivery]:
        claimed = await self._store.claim(
            capacity, self._limits.lease_s, max_attempts=self._handler.max_attempts
        )
        self._claim_backoff.reset()
        return claimed

    def _worth_claiming(self, free: int, since_last_claim: float) -> bool:
        """Claim when idle, when a quarter of the slots are free, or every `_CLAIM_GAP_S`.

        Under load each finished send would otherwise cost a claim transaction of its own;
        the time rule keeps the few free slots busy when hanging endpoints hold the rest.
        """
        return (
            not self._in_flight
            or free >= max(1, self._limits.total // 4)
            or since_last_claim >= _CLAIM_GAP_S
        )

    def _saturated(self) -> bool:
        """A limit is reached, so the last claim may have skipped due work."""
        return (
            len(self._in_flight) >= self._limits.total
            or self._email_busy >= self._limits.email
            or any(busy >= self._limits.endpoint for busy in self._endpoint_busy.values())
        )

    def _start(self, delivery: Delivery) -> None:
        endpoint = self._endpoint(delivery)
        task = asyncio.create_task(self._deliver(delivery))
        if endpoint is None:
            self._email_busy += 1
        else:
            self._endpoint_busy[endpoint] += 1
            self._endpoint_of[task] = endpoint
        self._in_flight.add(task)

        def finished(done: asyncio.Task[None]) -> None:
            self._in_flight.discard(done)
            if endpoint is None:
                self._email_busy -= 1
            self._release_endpoint(done)
            if self._backlog:
                # A slot is free and work may be waiting for it; otherwise new work wakes
                # the sender itself (consumer, digest clock) and retries come with the poll.
                self._wake.set()

        task.add_done_callback(finished)

    def _release_endpoint(self, task: asyncio.Task[None] | None) -> None:
        """The delivery's webhook call is over: its endpoint slot may serve the next one.

        Released before the outcome is recorded, so a receiver is not kept waiting for our
        database; the task's total slot is held until the record is written."""
        endpoint = self._endpoint_of.pop(task, None) if task is not None else None
        if endpoint is None:
            return
        self._endpoint_busy[endpoint] -= 1
        if self._endpoint_busy[endpoint] <= 0:
            del self._endpoint_busy[endpoint]
        if self._backlog:
            self._wake.set()

    @staticmethod
    def _endpoint(delivery: Delivery) -> str | None:
        if delivery.channel is ChannelName.EMAIL:
            return None
        url = delivery.contact.webhook_url if delivery.contact else None
        return url or ""

    async def _deliver(self, delivery: Delivery) -> None:
        # Each delivery runs in its own task, so what is bound here stays with this delivery.
        structlog.contextvars.bind_contextvars(
            delivery_id=delivery.id,
            channel=delivery.channel.value,
            attempt=delivery.attempts,
            **tracing.log_context(delivery.traceparent),
        )
        task = asyncio.current_task()
        try:
            await self._handler.deliver(delivery, sent=lambda: self._release_endpoint(task))
        except Exception:
            # The row stays `sending`; once its lease runs out it is claimed again, and that
            # claim counts as an attempt (the last one's claim gives up on it).
            log.exception("recording a delivery outcome failed")
        finally:
            structlog.contextvars.unbind_contextvars(
                "delivery_id", "channel", "attempt", "traceparent", "trace_id"
            )
