"""The notifier as the integration tests run it: its environment, the rig a test drives it
with (`NotifierRig`, the `rig` fixture) and what the tests read back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeAlias

from aiokafka.partitioner import DefaultPartitioner

from koppel.contract import Assignment
from koppel.topics import CONSULTANTS, MATCHES, TOPICS
from koppel_notifier.bootstrap import Notifier
from koppel_testing import builders
from koppel_testing.integration_waiting import Wait
from koppel_testing.kafka_publishing import TopicWriter
from koppel_testing.receivers import ReceivedHook, ReceivedMail, Receiver, SmtpSink

NotifierFactory: TypeAlias = Callable[..., AbstractAsyncContextManager[Notifier]]
"""The `notifier` fixture: `async with notifier(**env_overrides, clock=...) as running`."""

Rows: TypeAlias = Callable[[Notifier, str], Awaitable[list[dict[str, Any]]]]
"""The `rows` fixture: a consultant's delivery rows, oldest first."""


class Subscriber(NamedTuple):
    """A test's consultant: its id, its path on the webhook receiver, its email address."""

    id: str
    path: str
    address: str


@dataclass(frozen=True)
class NotifierRig:
    """What a notifier integration test drives and reads: the notifier factory, the topic
    writer, the SMTP sink and webhook receiver, `wait`, `rows`, and the test's unique id that
    every name it makes carries."""

    notifier: NotifierFactory
    kafka: TopicWriter
    smtp: SmtpSink
    receiver: Receiver
    wait: Wait
    rows: Rows
    unique_id: str

    def named(self, label: str) -> Subscriber:
        """Consultant `c-<label>-<id>`, at path `<label>-<id>` and `c-<label>-<id>@example.org`."""
        consultant = f"c-{label}-{self.unique_id}"
        return Subscriber(consultant, f"{label}-{self.unique_id}", f"{consultant}@example.org")

    def assignment(self, label: str = "a", **changes: Any) -> Assignment:
        """The builders' assignment with id `<label>-<id>`."""
        return builders.assignment(f"{label}-{self.unique_id}", **changes)

    async def subscribe(
        self,
        who: Subscriber,
        *,
        channels: Sequence[str] = ("webhook",),
        preferences: Mapping[str, Any] | None = None,
        **changes: Any,
    ) -> None:
        """Publish `who`'s profile: notified by signed webhook at its path (and by email at its
        address if `channels` says so); `preferences` add to the notification settings,
        `changes` replace other top-level fields."""
        profile = self.receiver.subscriber(
            who.id,
            who.path,
            channels=channels,
            preferences=preferences,
            email=who.address,
            **changes,
        )
        await self.kafka.profile(profile)

    async def subscribe_by_email(self, who: Subscriber, **changes: Any) -> None:
        """Publish `who`'s profile: notified by email only (the builders' default), at its
        address; `changes` replace other top-level fields."""
        await self.kafka.profile(builders.consultant(who.id, email=who.address, **changes))

    def mails(self, who: Subscriber) -> list[ReceivedMail]:
        return self.smtp.handler.to(who.address)

    def hooks(self, who: Subscriber) -> list[ReceivedHook]:
        return self.receiver.at(who.path)

    async def arrived(self, who: Subscriber, *channels: str) -> None:
        """Wait until `who` got something on each of `channels` ("email", "webhook")."""
        inboxes = {"email": self.mails, "webhook": self.hooks}
        await self.wait(
            lambda: all(inboxes[channel](who) for channel in channels),
            what=f"{' and '.join(channels)} for {who.id}",
        )


AN_HOUR_BEFORE_THE_DIGEST = datetime(2026, 3, 10, 6, 0, tzinfo=UTC)
"""06:00 UTC on 10 March 2026 is 07:00 in Amsterdam: an hour before a digest hour of 8."""


class MovableClock:
    """A clock a test sets (`clock.now = ...`), for the notifier's digest schedule."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def notifier_env(
    *,
    database_url: str,
    kafka: str,
    smtp: SmtpSink,
    group_id: str,
    **overrides: str,
) -> dict[str, str]:
    """Settings for a notifier that delivers to local receivers quickly and retries fast."""
    env = {
        "KOPPEL_ENVIRONMENT": "development",
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "SMTP_HOST": smtp.host,
        "SMTP_PORT": str(smtp.port),
        "SMTP_FROM": "Koppel <opdrachten@koppel.test>",
        "PUBLIC_BASE_URL": "http://notifier.test",
        "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8,::1/128",
        "NOTIFIER_GROUP_ID": group_id,
        "NOTIFIER_UNSUBSCRIBE_SECRET": "integration-test-secret-0123456789",
        "NOTIFIER_RETRY_SCHEDULE": "0,0.3,0.3,0.3",
        "NOTIFIER_RETRY_JITTER": "0",
        "NOTIFIER_POLL_SECONDS": "0.1",
        "NOTIFIER_LEASE_SECONDS": "20",
        "LOG_LEVEL": "WARNING",
    }
    env.update(overrides)
    return env


async def delivery_rows(running: Notifier, consultant_id: str) -> list[dict[str, Any]]:
    rows = await running.pool.fetch(
        "SELECT * FROM notifier_deliveries WHERE consultant_id = $1 ORDER BY created_at",
        consultant_id,
    )
    return [dict(row) for row in rows]


async def has_statuses(
    running: Notifier, consultant_id: str, statuses: set[str], *, exactly: bool = False
) -> bool:
    """Whether the consultant has deliveries, all in `statuses` (each of them, if `exactly`)."""
    found = {row["status"] for row in await delivery_rows(running, consultant_id)}
    return bool(found) and (found == statuses if exactly else found <= statuses)


async def routed(running: Notifier, consultant_id: str, count: int = 1) -> bool:
    """Whether exactly `count` match events of the consultant have been routed."""
    seen = await running.pool.fetchval(
        "SELECT count(*) FROM notifier_match_events"
        " WHERE consultant_id = $1 AND routed_at IS NOT NULL",
        consultant_id,
    )
    return bool(seen == count)


async def waiting(running: Notifier, consultant_id: str) -> bool:
    """Whether one match event of the consultant is stored, waiting for its profile."""
    seen = await running.pool.fetchval(
        "SELECT count(*) FROM notifier_match_events WHERE consultant_id = $1 AND routed_at IS NULL",
        consultant_id,
    )
    return bool(seen == 1)


def marker_for(consultant_id: str) -> str:
    """An id in the same partition as `consultant_id` on the matches and consultants topics.

    Records of one partition are handled in order, so once the notifier has handled a
    marker's record it has handled everything sent before it about `consultant_id`. The
    marker does not contain `consultant_id`: tests look for rows naming that.
    """
    partitioner = DefaultPartitioner()
    counts = {spec.name: spec.partitions for spec in TOPICS}
    assert counts[MATCHES] == counts[CONSULTANTS]
    partitions = list(range(counts[MATCHES]))
    target = partitioner(consultant_id.encode(), partitions, partitions)
    base = consultant_id.replace("c-", "marker-", 1)
    return next(
        f"{base}-{n}"
        for n in range(1000)
        if partitioner(f"{base}-{n}".encode(), partitions, partitions) == target
    )
