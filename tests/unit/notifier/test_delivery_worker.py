"""The sender against in-memory fakes: what each attempt's outcome is recorded as, and a
loop that outlives a failing database and a crashing attempt."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest

from koppel.secret_sealing import SecretKeyring, new_key
from koppel_notifier.adapters.email_composer import TemplateEmailComposer
from koppel_notifier.adapters.email_renderer import EmailRenderer
from koppel_notifier.adapters.link_tokens import LinkTokens
from koppel_notifier.adapters.unsubscribe_tokens import UnsubscribeTokens
from koppel_notifier.domain.model import ChannelName, Contact, Delivery, Kind
from koppel_notifier.domain.outcome import AttemptOutcome, Verdict
from koppel_notifier.domain.retry_policy import RetryPolicy
from koppel_notifier.entrypoints.delivery_worker import DeliveryWorker, WorkerLimits
from koppel_notifier.metrics import NotifierMetrics
from koppel_notifier.service_layer.delivery import DeliveryHandler
from koppel_notifier.service_layer.ports import Capacity, DigestItem
from koppel_testing import WEBHOOK_SECRET as SECRET

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
KEYRING = SecretKeyring.parse(new_key("unit"))
SCHEDULE = (0.0, 5.0, 30.0)
DELIVERED = AttemptOutcome(Verdict.DELIVERED, "webhook_http_204")
ACCEPTED = AttemptOutcome(Verdict.DELIVERED, "smtp_250")

Wait = Callable[..., Awaitable[None]]


# ---------------------------------------------------------------- fakes


class FakeDeliveryStore:
    """Claims answered from a script (deliveries, or an exception to raise); every write kept.

    `events` holds the outcome events the real store writes to its outbox with each outcome.
    """

    def __init__(self, script: Sequence[list[Delivery] | Exception] = ()) -> None:
        self._script = list(script)
        self.claims = 0
        self.digests: dict[str, list[DigestItem]] = {}
        self.delivered_ids: list[str] = []
        self.finished_digests: list[str] = []
        self.retries: list[tuple[str, float, str]] = []
        self.failures: list[tuple[str, str, bool, bool]] = []
        self.cancelled: list[tuple[str, str]] = []
        self.events: list[tuple[str, str]] = []

    async def claim(
        self, capacity: Capacity, lease_s: float, *, max_attempts: int
    ) -> list[Delivery]:
        self.claims += 1
        step = self._script.pop(0) if self._script else []
        if isinstance(step, Exception):
            raise step
        return step

    async def digest_items(self, digest_id: str) -> list[DigestItem]:
        return self.digests.get(digest_id, [])

    async def delivered(
        self, delivery: Delivery, *, match_ids: Sequence[str], now: datetime
    ) -> None:
        self.delivered_ids.append(delivery.id)
        self.events.append(("notification.delivered", delivery.id))

    async def finish_digest_items(self, digest_id: str) -> None:
        self.finished_digests.append(digest_id)

    async def retry(self, delivery: Delivery, *, delay_s: float, error: str) -> None:
        self.retries.append((delivery.id, delay_s, error))

    async def failed(
        self,
        delivery: Delivery,
        *,
        error: str,
        now: datetime,
        dead: bool,
        disable_endpoint: bool = False,
    ) -> None:
        self.failures.append((delivery.id, error, dead, disable_endpoint))
        self.events.append(("notification.failed", delivery.id))

    async def cancel(self, delivery: Delivery, why: str) -> None:
        self.cancelled.append((delivery.id, why))


class FakeWebhooks:
    """Answers `outcome`; a URL ending in `/crash` raises; `gate`, when given, holds sends."""

    def __init__(self, outcome: AttemptOutcome = DELIVERED) -> None:
        self.outcome = outcome
        self.gate: asyncio.Event | None = None
        self.sent: list[tuple[str, str, str | None]] = []

    async def send(
        self, url: str, secret: str, message_id: str, body: bytes, *, traceparent: str | None = None
    ) -> AttemptOutcome:
        if url.endswith("/crash"):
            raise RuntimeError("signing blew up")
        assert secret == SECRET
        self.sent.append((url, message_id, traceparent))
        if self.gate is not None:
            await self.gate.wait()
        return self.outcome


class FakeEmail:
    def __init__(self, outcome: AttemptOutcome = ACCEPTED) -> None:
        self.outcome = outcome
        self.sent: list[EmailMessage] = []

    async def send(self, message: EmailMessage) -> AttemptOutcome:
        self.sent.append(message)
        return self.outcome


class FakeSuccesses:
    def __init__(self) -> None:
        self.recorded: list[tuple[str, list[str]]] = []

    async def record(self, delivery: Delivery, match_ids: Sequence[str]) -> None:
        self.recorded.append((delivery.id, list(match_ids)))


# ---------------------------------------------------------------- builders


def contact(number: int = 1, *, path: str = "hook", **changes: Any) -> Contact:
    fields: dict[str, Any] = {
        "consultant_id": f"c-{number}",
        "name": "Anouk de Vries",
        "email": f"anouk{number}@example.nl",
        "language": "nl",
        "channels": frozenset({ChannelName.WEBHOOK, ChannelName.EMAIL}),
        "digest": False,
        "min_score": 0.5,
        "webhook_url": f"https://receiver-{number}.example/{path}",
        "webhook_secret": KEYRING.seal(SECRET, consultant_id=f"c-{number}"),
        "reachable": True,
    }
    fields.update(changes)
    return Contact(**fields)


def delivery(
    number: int = 1,
    *,
    channel: ChannelName = ChannelName.WEBHOOK,
    kind: Kind = Kind.FOUND,
    attempts: int = 1,
    path: str = "hook",
    payload: dict[str, Any] | None = None,
    to: Contact | None = None,
) -> Delivery:
    return Delivery(
        id=f"00000000-0000-0000-0000-00000000000{number}",
        consultant_id=f"c-{number}",
        channel=channel,
        kind=kind,
        match_ids=(f"m-{number}",),
        payload={"match_id": f"m-{number}"} if payload is None else payload,
        occurred_at=NOW,
        created_at=NOW - timedelta(seconds=2),
        attempts=attempts,
        contact=to if to is not None else contact(number, path=path),
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    )


def handler(
    store: FakeDeliveryStore,
    webhooks: FakeWebhooks | None = None,
    email: FakeEmail | None = None,
    *,
    metrics: NotifierMetrics | None = None,
    successes: FakeSuccesses | None = None,
) -> DeliveryHandler:
    return DeliveryHandler(
        store=store,
        webhooks=webhooks or FakeWebhooks(),
        email=email or FakeEmail(),
        composer=TemplateEmailComposer(
            EmailRenderer(),
            UnsubscribeTokens("unit-test-secret-0123456789"),
            LinkTokens("unit-test-secret-0123456789"),
            sender_address="Koppel <opdrachten@koppel.test>",
            public_base_url="http://notifier.test",
            clock=lambda: NOW,
        ),
        keyring=KEYRING,
        policy=RetryPolicy(SCHEDULE, jitter=0),
        metrics=metrics or NotifierMetrics(),
        clock=lambda: NOW,
        successes=successes,
    )


def plain_text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def counted(metrics: NotifierMetrics, channel: str, outcome: str) -> float | None:
    return metrics.registry.get_sample_value(
        "koppel_notifier_deliveries_total", {"channel": channel, "outcome": outcome}
    )


# ---------------------------------------------------------------- one delivery


async def test_a_webhook_success_is_recorded_with_its_event() -> None:
    store, webhooks, metrics = FakeDeliveryStore(), FakeWebhooks(), NotifierMetrics()
    sent = delivery(1)
    await handler(store, webhooks, metrics=metrics).deliver(sent)
    assert webhooks.sent == [
        (
            "https://receiver-1.example/hook",
            "msg_00000000000000000000000000000001",
            sent.traceparent,
        )
    ]
    assert store.events == [("notification.delivered", sent.id)]
    assert counted(metrics, "webhook", "delivered") == 1


async def test_webhook_successes_go_to_the_batcher_when_there_is_one() -> None:
    store, successes = FakeDeliveryStore(), FakeSuccesses()
    await handler(store, successes=successes).deliver(delivery(1))
    assert successes.recorded == [(delivery(1).id, ["m-1"])]
    assert store.delivered_ids == []


async def test_a_410_disables_the_webhook_and_reports_the_failure() -> None:
    store, metrics = FakeDeliveryStore(), NotifierMetrics()
    gone = FakeWebhooks(AttemptOutcome(Verdict.GONE, "webhook_http_410"))
    await handler(store, gone, metrics=metrics).deliver(delivery(1))
    assert store.failures == [(delivery(1).id, "webhook_http_410", False, True)]
    assert store.events == [("notification.failed", delivery(1).id)]
    assert store.retries == []
    assert counted(metrics, "webhook", "failed") == 1


async def test_a_refused_webhook_target_fails_without_disabling_the_url() -> None:
    store = FakeDeliveryStore()
    refused = FakeWebhooks(AttemptOutcome(Verdict.REFUSED, "webhook_target_private"))
    await handler(store, refused).deliver(delivery(1))
    assert store.failures == [(delivery(1).id, "webhook_target_private", False, False)]


async def test_an_smtp_refusal_stops_the_address(found_payload: dict[str, Any]) -> None:
    store = FakeDeliveryStore()
    bounced = FakeEmail(AttemptOutcome(Verdict.REFUSED, "smtp_recipient_refused_550"))
    emailed = delivery(1, channel=ChannelName.EMAIL, payload=found_payload)
    await handler(store, email=bounced).deliver(emailed)
    assert len(bounced.sent) == 1
    assert store.failures == [(emailed.id, "smtp_recipient_refused_550", False, True)]


@pytest.mark.parametrize(("attempts", "waits"), [(1, 5.0), (2, 30.0)])
async def test_a_retryable_failure_is_due_again_per_the_schedule(
    attempts: int, waits: float
) -> None:
    store, metrics = FakeDeliveryStore(), NotifierMetrics()
    failing = FakeWebhooks(AttemptOutcome(Verdict.RETRY, "webhook_http_500"))
    await handler(store, failing, metrics=metrics).deliver(delivery(1, attempts=attempts))
    assert store.retries == [(delivery(1).id, waits, "webhook_http_500")]
    assert store.failures == []
    assert store.events == []
    assert (
        metrics.registry.get_sample_value("koppel_notifier_retries_total", {"channel": "webhook"})
        == 1
    )


async def test_throttling_waits_longer_and_at_least_what_retry_after_asks() -> None:
    store = FakeDeliveryStore()
    slow = FakeWebhooks(AttemptOutcome(Verdict.THROTTLED, "webhook_http_503"))
    await handler(store, slow).deliver(delivery(1))
    slow.outcome = AttemptOutcome(Verdict.THROTTLED, "webhook_http_429", retry_after=120.0)
    await handler(store, slow).deliver(delivery(2))
    assert [wait for _, wait, _ in store.retries] == [10.0, 120.0]


async def test_the_last_failure_goes_dead_and_reports_notification_failed() -> None:
    store, metrics = FakeDeliveryStore(), NotifierMetrics()
    failing = FakeWebhooks(AttemptOutcome(Verdict.RETRY, "webhook_http_500"))
    last = delivery(1, attempts=len(SCHEDULE))
    await handler(store, failing, metrics=metrics).deliver(last)
    assert store.failures == [(last.id, "webhook_http_500", True, False)]
    assert store.events == [("notification.failed", last.id)]
    assert store.retries == []
    assert counted(metrics, "webhook", "dead") == 1
    assert (
        metrics.registry.get_sample_value(
            "koppel_notifier_dead_letters_total", {"channel": "webhook"}
        )
        == 1
    )


async def test_an_exhausted_delivery_is_recorded_dead_without_sending() -> None:
    store, webhooks = FakeDeliveryStore(), FakeWebhooks()
    spent = replace(delivery(1, attempts=len(SCHEDULE)), exhausted=True)
    await handler(store, webhooks).deliver(spent)
    assert webhooks.sent == []
    assert store.failures == [
        (spent.id, "attempt did not finish before its lease ran out", True, False)
    ]


@pytest.mark.parametrize(
    "to",
    [
        contact(1, webhook_disabled=True),
        contact(1, reachable=False),
        contact(1, channels=frozenset({ChannelName.EMAIL})),
    ],
)
async def test_a_delivery_its_consultant_no_longer_accepts_is_cancelled_unsent(
    to: Contact,
) -> None:
    store, webhooks, metrics = FakeDeliveryStore(), FakeWebhooks(), NotifierMetrics()
    await handler(store, webhooks, metrics=metrics).deliver(delivery(1, to=to))
    assert webhooks.sent == []
    assert store.cancelled == [(delivery(1).id, "consultant no longer reachable on this channel")]
    assert store.events == []
    assert counted(metrics, "webhook", "cancelled") == 1


async def test_an_attempt_that_raises_is_a_failure_on_the_retry_schedule() -> None:
    store = FakeDeliveryStore()
    await handler(store).deliver(delivery(1, path="crash"))
    assert store.retries == [(delivery(1).id, 5.0, "internal error: RuntimeError")]


async def test_a_webhook_secret_that_does_not_open_is_refused_unsent() -> None:
    store, webhooks = FakeDeliveryStore(), FakeWebhooks()
    foreign = contact(1, webhook_secret=KEYRING.seal(SECRET, consultant_id="c-other"))
    await handler(store, webhooks).deliver(delivery(1, to=foreign))
    assert webhooks.sent == []
    [(_, error, dead, disabled)] = store.failures
    assert (dead, disabled) == (False, False)
    assert error


async def test_a_digest_sends_what_is_left_in_it_and_finishes_its_items(
    found_payload: dict[str, Any],
) -> None:
    store, email = FakeDeliveryStore(), FakeEmail()
    digest = delivery(1, channel=ChannelName.EMAIL, kind=Kind.DIGEST, payload={"day": "2026-03-02"})
    store.digests[digest.id] = [DigestItem(Kind.FOUND, found_payload)]
    await handler(store, email=email).deliver(digest)
    [message] = email.sent
    assert message["To"] == "Anouk de Vries <anouk1@example.nl>"
    assert store.delivered_ids == [digest.id]
    assert store.finished_digests == [digest.id]


async def test_a_digest_emptied_by_withdrawals_is_cancelled() -> None:
    store, email = FakeDeliveryStore(), FakeEmail()
    digest = delivery(1, channel=ChannelName.EMAIL, kind=Kind.DIGEST, payload={"day": "2026-03-02"})
    await handler(store, email=email).deliver(digest)
    assert email.sent == []
    assert store.cancelled == [(digest.id, "nothing left to send")]


async def test_a_withdrawal_email_reaches_a_webhook_only_consultant_unless_unsubscribed(
    found_payload: dict[str, Any],
) -> None:
    store, email = FakeDeliveryStore(), FakeEmail()
    payload = {
        "match_id": "m-1",
        "consultant_id": "c-1",
        "assignment_id": "a-1",
        "assignment": found_payload["assignment"],
        "reason": "assignment_filled",
    }
    webhook_only = contact(1, channels=frozenset({ChannelName.WEBHOOK}))
    gone = delivery(1, channel=ChannelName.EMAIL, kind=Kind.WITHDRAWN, payload=payload)
    await handler(store, email=email).deliver(replace(gone, contact=webhook_only))
    [message] = email.sent
    assert message["Subject"] == "Vervallen: Senior communicatieadviseur participatie"
    assert "De opdracht is vervuld." in plain_text(message)
    unsubscribed = replace(webhook_only, email_blocked=True)
    await handler(store, email=email).deliver(replace(gone, contact=unsubscribed))
    assert len(email.sent) == 1
    assert store.cancelled == [(gone.id, "consultant no longer reachable on this channel")]


async def test_a_digest_shows_new_updated_and_withdrawn_matches_in_sections(
    found_payload: dict[str, Any],
) -> None:
    store, email = FakeDeliveryStore(), FakeEmail()
    digest = delivery(1, channel=ChannelName.EMAIL, kind=Kind.DIGEST, payload={"day": "2026-03-02"})
    changed = {**found_payload, "match_id": "m-2", "changed": ["hours_per_week", "closes_at"]}
    gone = {
        "match_id": "m-3",
        "assignment": found_payload["assignment"],
        "reason": "assignment_expired",
    }
    store.digests[digest.id] = [
        DigestItem(Kind.FOUND, found_payload),
        DigestItem(Kind.UPDATED, changed),
        DigestItem(Kind.WITHDRAWN, gone),
    ]
    await handler(store, email=email).deliver(digest)
    [message] = email.sent
    text = plain_text(message)
    assert text.index("Dit zijn de opdrachten") < text.index("Gewijzigd (1)")
    assert text.index("Gewijzigd (1)") < text.index("Vervallen (1)")
    assert "Gewijzigd: uren per week, sluitingsdatum" in text
    assert "De sluitingsdatum van de opdracht is verstreken." in text
    assert message["Subject"].startswith("Je opdrachten van vandaag (3):")
    assert store.finished_digests == [digest.id]


# ---------------------------------------------------------------- the loop


def worker(store: FakeDeliveryStore, webhooks: FakeWebhooks) -> DeliveryWorker:
    return DeliveryWorker(
        store=store,
        handler=handler(store, webhooks),
        limits=WorkerLimits(
            total=4, email=1, endpoint=2, lease_s=30, poll_s=0.01, claim_retry_s=0.01
        ),
    )


async def test_a_failed_claim_neither_ends_the_loop_nor_cancels_sends_in_flight(wait: Wait) -> None:
    in_flight, later = delivery(1), delivery(2)
    store = FakeDeliveryStore([[in_flight], ConnectionRefusedError("database down"), [later]])
    webhooks = FakeWebhooks()
    webhooks.gate = asyncio.Event()
    running = asyncio.create_task(worker(store, webhooks).run())
    try:
        await wait(lambda: len(webhooks.sent) == 2, within=5, what="both sends started")
        assert store.claims >= 3
        assert not running.done()
        webhooks.gate.set()
        await wait(lambda: len(store.delivered_ids) == 2, within=5, what="both recorded")
        assert sorted(store.delivered_ids) == [in_flight.id, later.id]
        assert not running.done()
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


async def test_the_loop_records_a_crashing_attempt_as_a_failure(wait: Wait) -> None:
    first = delivery(1, path="crash")
    last = delivery(2, path="crash", attempts=len(SCHEDULE))
    store = FakeDeliveryStore([[first, last]])
    running = asyncio.create_task(worker(store, FakeWebhooks()).run())
    try:
        await wait(lambda: store.retries and store.failures, within=5, what="both recorded")
        assert store.retries == [(first.id, 5.0, "internal error: RuntimeError")]
        assert store.failures == [(last.id, "internal error: RuntimeError", True, False)]
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


async def test_the_loop_records_an_exhausted_claim_dead_without_sending(wait: Wait) -> None:
    spent = replace(delivery(1, attempts=len(SCHEDULE)), exhausted=True)
    store = FakeDeliveryStore([[spent]])
    webhooks = FakeWebhooks()
    running = asyncio.create_task(worker(store, webhooks).run())
    try:
        await wait(lambda: store.failures, within=5, what="recorded")
        assert store.failures == [
            (spent.id, "attempt did not finish before its lease ran out", True, False)
        ]
        assert webhooks.sent == []
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
