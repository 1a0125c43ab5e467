"""What sending needs: the delivery rows it claims and settles, the webhook and email
senders, and the loops that build digests and publish outcomes.

Each Protocol has a real adapter (`koppel_notifier.adapters`) and an in-memory fake or the
real adapter in the unit tests; the dataclasses are the values that cross these ports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from typing import Any, Protocol

from koppel_notifier.domain.model import Contact, Delivery, Kind
from koppel_notifier.domain.outcome import AttemptOutcome


@dataclass(frozen=True)
class Capacity:
    """Free sending slots: in all, for email, and per webhook endpoint (its URL)."""

    total: int
    email: int
    endpoint_limit: int
    busy_endpoints: Mapping[str, int]


@dataclass(frozen=True)
class DigestItem:
    """One entry of a digest: a match found, updated or withdrawn, with its event data."""

    kind: Kind
    payload: dict[str, Any]


class DeliveryStore(Protocol):
    """Delivery rows as the sender claims them and records what came of each."""

    async def claim(
        self, capacity: Capacity, lease_s: float, *, max_attempts: int
    ) -> list[Delivery]: ...

    async def digest_items(self, digest_id: str) -> list[DigestItem]:
        """The entries still in a digest, best score first."""
        ...

    async def delivered(
        self, delivery: Delivery, *, match_ids: Sequence[str], now: datetime
    ) -> None:
        """Mark it delivered and report `notification.delivered`, in one transaction."""
        ...

    async def finish_digest_items(self, digest_id: str) -> None: ...

    async def retry(self, delivery: Delivery, *, delay_s: float, error: str) -> None: ...

    async def failed(
        self,
        delivery: Delivery,
        *,
        error: str,
        now: datetime,
        dead: bool,
        disable_endpoint: bool = False,
    ) -> None:
        """Give up on it (`dead` when attempts ran out) and report `notification.failed`,
        in one transaction; `disable_endpoint` stops the consultant's current URL or
        address until the profile names another."""
        ...

    async def cancel(self, delivery: Delivery, why: str) -> None: ...


class SuccessStore(Protocol):
    async def delivered_many(
        self, items: Sequence[tuple[Delivery, Sequence[str]]], *, now: datetime
    ) -> None:
        """`DeliveryStore.delivered` for many deliveries in one transaction."""
        ...


class WebhookSuccesses(Protocol):
    async def record(self, delivery: Delivery, match_ids: Sequence[str]) -> None:
        """Returns once the success is committed (raises if the write failed)."""
        ...


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


class EmailComposer(Protocol):
    """The message one email delivery sends, with its unsubscribe link."""

    def instant(self, delivery: Delivery, contact: Contact) -> EmailMessage:
        """About the one match of a found, updated or withdrawn delivery."""
        ...

    def digest(
        self, delivery: Delivery, contact: Contact, items: list[DigestItem]
    ) -> EmailMessage: ...


class DigestStore(Protocol):
    async def build_digests(self, day: date) -> int:
        """Gather each digest consultant's queued matches into `day`'s digest; how many."""
        ...


class OutcomePublisher(Protocol):
    async def publish_batch(self, limit: int = 500) -> int:
        """Publish up to `limit` recorded outcome events; how many went out."""
        ...
