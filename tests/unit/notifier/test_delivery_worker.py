"""The sender loop outlives a failing database, and a crashing attempt is a recorded failure."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import cast

from koppel.secret_sealing import SecretKeyring, new_key
from koppel_notifier.adapters.delivery_store import Capacity, DeliveryStore
from koppel_notifier.adapters.email_renderer import EmailRenderer
from koppel_notifier.adapters.unsubscribe_tokens import UnsubscribeTokens
from koppel_notifier.domain.model import ChannelName, Contact, Delivery, Kind
from koppel_notifier.domain.outcome import AttemptOutcome, Verdict
from koppel_notifier.domain.retry_policy import RetryPolicy
from koppel_notifier.entrypoints.delivery_worker import DeliveryWorker, WorkerLimits
from koppel_notifier.metrics import NotifierMetrics

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
KEYRING = SecretKeyring.parse(new_key("unit"))

Wait = Callable[..., Awaitable[None]]


class FlakyStore:
    """Answers claims from a script: a list of deliveries, or an exception to raise."""

    def __init__(self, script: list[list[Delivery] | Exception]) -> None:
        self._script = script
        self.claims = 0
        self.delivered_ids: list[str] = []
        self.failures: list[tuple[str, str, bool]] = []
        self.retries: list[tuple[str, str]] = []

    async def claim(
        self, capacity: Capacity, lease_s: float, *, max_attempts: int
    ) -> list[Delivery]:
        self.claims += 1
        step = self._script.pop(0) if self._script else []
        if isinstance(step, Exception):
            raise step
        return step

    async def delivered(
        self, delivery: Delivery, *, match_ids: Sequence[str], now: datetime
    ) -> None:
        self.delivered_ids.append(delivery.id)

    async def retry(self, delivery: Delivery, *, delay_s: float, error: str) -> None:
        self.retries.append((delivery.id, error))

    async def failed(
        self,
        delivery: Delivery,
        *,
        error: str,
        now: datetime,
        dead: bool,
        disable_endpoint: bool = False,
    ) -> None:
        self.failures.append((delivery.id, error, dead))


class GatedWebhooks:
    """Holds every send until `open` is set; a URL ending in `/crash` raises instead."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.started: list[str] = []

    async def send(
        self, url: str, secret: str, message_id: str, body: bytes, *, traceparent: str | None = None
    ) -> AttemptOutcome:
        if url.endswith("/crash"):
            raise RuntimeError("signing blew up")
        self.started.append(message_id)
        await self.open.wait()
        return AttemptOutcome(Verdict.DELIVERED, "HTTP 204")


class NoEmail:
    async def send(self, message: EmailMessage) -> AttemptOutcome:
        raise AssertionError("no email in these tests")


def webhook_delivery(number: int, *, path: str = "hook", attempts: int = 1) -> Delivery:
    contact = Contact(
        consultant_id=f"c-{number}",
        name="Anouk de Vries",
        email=None,
        language="nl",
        channels=frozenset({ChannelName.WEBHOOK}),
        digest=False,
        min_score=0.5,
        webhook_url=f"https://receiver-{number}.example/{path}",
        webhook_secret=KEYRING.seal(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", consultant_id=f"c-{number}"
        ),
        reachable=True,
    )
    return Delivery(
        id=f"00000000-0000-0000-0000-00000000000{number}",
        consultant_id=contact.consultant_id,
        channel=ChannelName.WEBHOOK,
        kind=Kind.FOUND,
        match_ids=(f"m-{number}",),
        payload={"match_id": f"m-{number}"},
        occurred_at=NOW,
        created_at=NOW,
        attempts=attempts,
        contact=contact,
    )


def worker(store: FlakyStore, webhooks: GatedWebhooks) -> DeliveryWorker:
    return DeliveryWorker(
        store=cast(DeliveryStore, store),
        webhooks=webhooks,
        email=NoEmail(),
        renderer=EmailRenderer(),
        tokens=UnsubscribeTokens("unit-test-secret-0123456789"),
        policy=RetryPolicy((0, 0, 0), jitter=0),
        limits=WorkerLimits(
            total=4, email=1, endpoint=2, lease_s=30, poll_s=0.01, claim_retry_s=0.01
        ),
        metrics=NotifierMetrics(),
        clock=lambda: NOW,
        sender_address="Koppel <opdrachten@koppel.test>",
        public_base_url="http://notifier.test",
        keyring=KEYRING,
    )


async def test_a_failed_claim_neither_ends_the_loop_nor_cancels_sends_in_flight(wait: Wait) -> None:
    in_flight, later = webhook_delivery(1), webhook_delivery(2)
    store = FlakyStore([[in_flight], ConnectionRefusedError("database down"), [later]])
    webhooks = GatedWebhooks()
    running = asyncio.create_task(worker(store, webhooks).run())
    try:
        await wait(lambda: len(webhooks.started) == 2, within=5, what="both sends started")
        assert store.claims >= 3
        assert not running.done()
        webhooks.open.set()
        await wait(lambda: len(store.delivered_ids) == 2, within=5, what="both recorded")
        assert sorted(store.delivered_ids) == [in_flight.id, later.id]
        assert not running.done()
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


async def test_an_attempt_that_raises_is_a_failure_on_the_retry_schedule(wait: Wait) -> None:
    first, last = webhook_delivery(1, path="crash"), webhook_delivery(2, path="crash", attempts=3)
    store = FlakyStore([[first, last]])
    running = asyncio.create_task(worker(store, GatedWebhooks()).run())
    try:
        await wait(lambda: store.retries and store.failures, within=5, what="both recorded")
        assert store.retries == [(first.id, "internal error: RuntimeError")]
        assert store.failures == [(last.id, "internal error: RuntimeError", True)]
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


async def test_a_delivery_claimed_exhausted_is_recorded_dead_without_sending(wait: Wait) -> None:
    spent = replace(webhook_delivery(1, attempts=3), exhausted=True)
    store = FlakyStore([[spent]])
    webhooks = GatedWebhooks()
    running = asyncio.create_task(worker(store, webhooks).run())
    try:
        await wait(lambda: store.failures, within=5, what="recorded")
        assert store.failures == [
            (spent.id, "attempt did not finish before its lease ran out", True)
        ]
        assert webhooks.started == []
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
