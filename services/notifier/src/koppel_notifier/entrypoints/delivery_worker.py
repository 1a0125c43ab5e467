"""The sender: claims due deliveries and sends them, each endpoint within its own limit.

A webhook endpoint that hangs holds at most `endpoint_limit` slots; its other deliveries
are not even claimed while it is saturated, so the remaining slots keep serving everyone
else. Email goes through the one SMTP relay with its own limit.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from typing import Protocol

import structlog

from koppel import tracing
from koppel.backoff import Backoff
from koppel.secret_sealing import SecretKeyring, UnsealError
from koppel_notifier.adapters.delivery_store import Capacity, DeliveryStore
from koppel_notifier.adapters.email_renderer import EmailRenderer, RenderedEmail
from koppel_notifier.adapters.email_sender import build_message
from koppel_notifier.adapters.unsubscribe_tokens import UnsubscribeTokens
from koppel_notifier.domain.digest_schedule import AMSTERDAM
from koppel_notifier.domain.model import ChannelName, Contact, Delivery, Kind
from koppel_notifier.domain.outcome import UNFINISHED, AttemptOutcome, Verdict, unexpected_error
from koppel_notifier.domain.retry_policy import RetryPolicy
from koppel_notifier.domain.webhook_body import webhook_body, webhook_id
from koppel_notifier.entrypoints.success_batcher import SuccessBatcher
from koppel_notifier.metrics import NotifierMetrics

log = structlog.get_logger(__name__)

_CLAIM_GAP_S = 0.01


class WebhookSender(Protocol):
    async def send(
        self,
        url: str,
        secret: str,
        message_id: str,
        body: bytes,
        *,
        traceparent: str | None = None,
    ) -> AttemptOutcome: ...


class EmailSender(Protocol):
    async def send(self, message: EmailMessage) -> AttemptOutcome: ...


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
    def __init__(
        self,
        *,
        store: DeliveryStore,
        webhooks: WebhookSender,
        email: EmailSender,
        renderer: EmailRenderer,
        tokens: UnsubscribeTokens,
        policy: RetryPolicy,
        limits: WorkerLimits,
        metrics: NotifierMetrics,
        clock: Callable[[], datetime],
        sender_address: str,
        public_base_url: str,
        keyring: SecretKeyring,
        successes: SuccessBatcher | None = None,
    ) -> None:
        self._store = store
        self._keyring = keyring
        self._webhooks = webhooks
        self._email = email
        self._renderer = renderer
        self._tokens = tokens
        self._policy = policy
        self._limits = limits
        self._metrics = metrics
        self._clock = clock
        self._sender_address = sender_address
        self._public_base_url = public_base_url.rstrip("/")
        self._successes = successes
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
            capacity, self._limits.lease_s, max_attempts=self._policy.max_attempts
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
        try:
            try:
                attempt = await self._attempt(delivery)
            except Exception as exc:
                # Whatever raised (rendering, signing, sending) is a failed attempt like any
                # other: it counts against the retry schedule instead of leaving the row
                # `sending` to be claimed again, and crash again, every lease.
                log.exception("delivery attempt crashed", error=type(exc).__name__)
                attempt = unexpected_error(exc), delivery.match_ids
            if attempt is not None:
                await self._record(delivery, *attempt)
        except Exception:
            # The row stays `sending`; once its lease runs out it is claimed again, and that
            # claim counts as an attempt (the last one's claim gives up on it).
            log.exception("recording a delivery outcome failed")
        finally:
            structlog.contextvars.unbind_contextvars(
                "delivery_id", "channel", "attempt", "traceparent", "trace_id"
            )

    async def _attempt(self, delivery: Delivery) -> tuple[AttemptOutcome, tuple[str, ...]] | None:
        """Send `delivery` once; its outcome and match ids, or None when it was cancelled."""
        if delivery.exhausted:
            return UNFINISHED, delivery.match_ids
        contact = delivery.contact
        if contact is None or not contact.accepts(delivery.channel):
            await self._store.cancel(delivery, "consultant no longer reachable on this channel")
            self._metrics.deliveries.labels(delivery.channel.value, "cancelled").inc()
            return None
        started = time.perf_counter()
        if delivery.channel is ChannelName.WEBHOOK:
            try:
                outcome, match_ids = await self._send_webhook(delivery, contact), delivery.match_ids
            finally:
                self._release_endpoint(asyncio.current_task())
        else:
            sent = await self._send_email(delivery, contact)
            if sent is None:
                await self._store.cancel(delivery, "nothing left to send")
                self._metrics.deliveries.labels(delivery.channel.value, "cancelled").inc()
                return None
            outcome, match_ids = sent
        self._metrics.attempt_duration.labels(delivery.channel.value).observe(
            time.perf_counter() - started
        )
        return outcome, match_ids

    async def _send_webhook(self, delivery: Delivery, contact: Contact) -> AttemptOutcome:
        assert contact.webhook_url is not None
        assert contact.webhook_secret is not None
        try:
            # Opened here and held only for this attempt: never stored or logged in clear.
            secret = self._keyring.open(contact.webhook_secret, consultant_id=contact.consultant_id)
        except UnsealError as exc:
            log.warning("webhook secret does not open; delivery failed", code=exc.code.value)
            return AttemptOutcome(Verdict.REFUSED, exc.code.value)
        body = webhook_body(
            delivery.kind,
            delivery.occurred_at,
            delivery.payload or {},
            consultant_language=contact.language,
        )
        return await self._webhooks.send(
            contact.webhook_url,
            secret,
            webhook_id(delivery.id),
            body,
            traceparent=delivery.traceparent,
        )

    async def _send_email(
        self, delivery: Delivery, contact: Contact
    ) -> tuple[AttemptOutcome, tuple[str, ...]] | None:
        assert contact.email is not None
        token = self._tokens.issue(contact.consultant_id)
        unsubscribe_url = f"{self._public_base_url}/v1/unsubscribe/{token}"
        name = contact.name or ""
        content: RenderedEmail
        if delivery.kind is Kind.DIGEST:
            items = await self._store.digest_items(delivery.id)
            if not items:
                return None
            match_ids = tuple(str(item["match_id"]) for item in items)
            content = self._renderer.digest(
                language=contact.language,
                name=name,
                matches=items,
                day=_digest_day(delivery),
                unsubscribe_url=unsubscribe_url,
            )
        elif delivery.kind is Kind.FOUND and delivery.payload is not None:
            match_ids = delivery.match_ids
            content = self._renderer.match_found(
                language=contact.language,
                name=name,
                match=delivery.payload,
                unsubscribe_url=unsubscribe_url,
            )
        else:
            return None
        message = build_message(
            content,
            sender=self._sender_address,
            to_name=name,
            to_address=contact.email,
            delivery_id=delivery.id,
            unsubscribe_url=unsubscribe_url,
            now=self._clock(),
        )
        return await self._email.send(message), match_ids

    async def _record(
        self, delivery: Delivery, outcome: AttemptOutcome, match_ids: tuple[str, ...]
    ) -> None:
        channel = delivery.channel.value
        now = self._clock()
        if outcome.succeeded:
            if self._successes is not None and delivery.channel is ChannelName.WEBHOOK:
                await self._successes.record(delivery, match_ids)
            else:
                # Email is recorded at once: the gap between the relay accepting a message
                # and this row saying so is the one window in which a crash can double it.
                await self._store.delivered(delivery, match_ids=match_ids, now=now)
            if delivery.kind is Kind.DIGEST:
                await self._store.finish_digest_items(delivery.id)
            self._metrics.deliveries.labels(channel, "delivered").inc()
            # No address or URL: the delivery, channel and trace ids are bound already.
            log.info("delivery succeeded", match_ids=list(match_ids))
            self._metrics.latency.labels(channel).observe(
                max(0.0, (now - delivery.created_at).total_seconds())
            )
            return
        log.info("delivery attempt failed", verdict=outcome.verdict.value, detail=outcome.detail)
        if outcome.verdict in {Verdict.GONE, Verdict.REFUSED}:
            disable = outcome.verdict is Verdict.GONE or delivery.channel is ChannelName.EMAIL
            await self._store.failed(
                delivery, error=outcome.detail, now=now, dead=False, disable_endpoint=disable
            )
            self._metrics.deliveries.labels(channel, "failed").inc()
            return
        delay = self._policy.next_delay(
            delivery.attempts,
            throttled=outcome.verdict is Verdict.THROTTLED,
            retry_after=outcome.retry_after,
        )
        if delay is None:
            await self._store.failed(delivery, error=outcome.detail, now=now, dead=True)
            self._metrics.deliveries.labels(channel, "dead").inc()
            self._metrics.dead_letters.labels(channel).inc()
            return
        await self._store.retry(delivery, delay_s=delay, error=outcome.detail)
        self._metrics.retries.labels(channel).inc()


def _digest_day(delivery: Delivery) -> date:
    """The Amsterdam date the digest was built for (kept in its payload)."""
    day = (delivery.payload or {}).get("day")
    if isinstance(day, str):
        return date.fromisoformat(day)
    return delivery.created_at.astimezone(AMSTERDAM).date()
