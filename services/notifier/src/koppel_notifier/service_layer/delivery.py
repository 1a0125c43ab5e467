"""Use cases of one claimed delivery: send it once, then record what came of it.

A success is recorded with its `notification.delivered`; a 410 or an SMTP 5xx stops the
endpoint; a refusal fails at once; any other failure waits its turn in the retry schedule
until the last one, which goes dead. Each failure given up on reports `notification.failed`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

import structlog

from koppel.secret_sealing import SecretKeyring, UnsealError
from koppel_notifier.domain.model import ChannelName, Contact, Delivery, Kind
from koppel_notifier.domain.outcome import UNFINISHED, AttemptOutcome, Verdict, unexpected_error
from koppel_notifier.domain.retry_policy import RetryPolicy
from koppel_notifier.domain.webhook_body import webhook_body, webhook_id
from koppel_notifier.metrics import NotifierMetrics
from koppel_notifier.service_layer.ports import (
    DeliveryStore,
    EmailComposer,
    EmailSender,
    WebhookSender,
    WebhookSuccesses,
)

log = structlog.get_logger(__name__)

Attempt = tuple[AttemptOutcome, tuple[str, ...]]
"""What one attempt came to, and the match ids it carried."""


def _nothing() -> None:
    pass


class DeliveryHandler:
    def __init__(
        self,
        *,
        store: DeliveryStore,
        webhooks: WebhookSender,
        email: EmailSender,
        composer: EmailComposer,
        keyring: SecretKeyring,
        policy: RetryPolicy,
        metrics: NotifierMetrics,
        clock: Callable[[], datetime],
        successes: WebhookSuccesses | None = None,
    ) -> None:
        self._store = store
        self._webhooks = webhooks
        self._email = email
        self._composer = composer
        self._keyring = keyring
        self._policy = policy
        self._metrics = metrics
        self._clock = clock
        self._successes = successes

    @property
    def max_attempts(self) -> int:
        return self._policy.max_attempts

    async def deliver(self, delivery: Delivery, *, sent: Callable[[], None] = _nothing) -> None:
        """Send `delivery` once and record the outcome; raises only if recording fails.

        `sent` is called as soon as a webhook call is over, before the outcome is recorded.
        """
        try:
            attempt = await self.attempt(delivery, sent=sent)
        except Exception as exc:
            # Whatever raised (rendering, signing, sending) is a failed attempt like any
            # other: it counts against the retry schedule instead of leaving the row
            # `sending` to be claimed again, and crash again, every lease.
            log.exception("delivery attempt crashed", error=type(exc).__name__)
            attempt = unexpected_error(exc), delivery.match_ids
        if attempt is not None:
            await self.record(delivery, *attempt)

    async def attempt(
        self, delivery: Delivery, *, sent: Callable[[], None] = _nothing
    ) -> Attempt | None:
        """Send `delivery` once; its outcome and match ids, or None when it was cancelled."""
        if delivery.exhausted:
            return UNFINISHED, delivery.match_ids
        contact = delivery.contact
        if contact is None or not contact.accepts_kind(delivery.channel, delivery.kind):
            await self._cancel(delivery, "consultant no longer reachable on this channel")
            return None
        started = time.perf_counter()
        if delivery.channel is ChannelName.WEBHOOK:
            try:
                attempt = await self._send_webhook(delivery, contact), delivery.match_ids
            finally:
                sent()
        else:
            emailed = await self._send_email(delivery, contact)
            if emailed is None:
                await self._cancel(delivery, "nothing left to send")
                return None
            attempt = emailed
        self._metrics.attempt_duration.labels(delivery.channel.value).observe(
            time.perf_counter() - started
        )
        return attempt

    async def record(
        self, delivery: Delivery, outcome: AttemptOutcome, match_ids: tuple[str, ...]
    ) -> None:
        """Write what came of an attempt: delivered, failed, dead, or due again later."""
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

    async def _cancel(self, delivery: Delivery, why: str) -> None:
        await self._store.cancel(delivery, why)
        self._metrics.deliveries.labels(delivery.channel.value, "cancelled").inc()

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

    async def _send_email(self, delivery: Delivery, contact: Contact) -> Attempt | None:
        """Send the email, or None when nothing is left to send (a digest emptied by
        withdrawals, a delivery without content)."""
        if delivery.kind is Kind.DIGEST:
            items = await self._store.digest_items(delivery.id)
            if not items:
                return None
            match_ids = tuple(str(item.payload["match_id"]) for item in items)
            message = self._composer.digest(delivery, contact, items)
        elif delivery.payload is None or (
            delivery.kind is Kind.WITHDRAWN and not delivery.payload.get("assignment")
        ):
            return None
        else:
            match_ids = delivery.match_ids
            message = self._composer.instant(delivery, contact)
        return await self._email.send(message), match_ids
