"""The notifier's own view of consultants and matches (standard library only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class ChannelName(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


class Kind(StrEnum):
    """What a delivery carries; the webhook body's `type` for all but the digest."""

    FOUND = "match.found"
    UPDATED = "match.updated"
    WITHDRAWN = "match.withdrawn"
    DIGEST = "digest"

    @property
    def announces(self) -> bool:
        """Whether it tells the consultant about the match (new or changed), so that a later
        update or withdrawal follows it on the same channel."""
        return self in {Kind.FOUND, Kind.UPDATED}


class Status(StrEnum):
    """Life of a delivery row.

    pending → sending → delivered | pending (retry) | dead | failed.
    `queued` is a digest item waiting for the day's digest, `digested` one that went into it;
    `cancelled` covers withdrawn matches, unsubscribes, erasure and disabled endpoints.
    An operator puts a `dead` one back to `pending` or ends it as `discarded`.
    """

    PENDING = "pending"
    SENDING = "sending"
    QUEUED = "queued"
    DIGESTED = "digested"
    DELIVERED = "delivered"
    FAILED = "failed"
    DEAD = "dead"
    CANCELLED = "cancelled"
    DISCARDED = "discarded"


@dataclass(frozen=True)
class Contact:
    """What the notifier may use to reach one consultant (a local copy of the profile)."""

    consultant_id: str
    name: str | None
    email: str | None
    language: str
    channels: frozenset[ChannelName]
    digest: bool
    min_score: float
    webhook_url: str | None
    webhook_secret: str | None
    """Sealed (`sealed:v1:…`); opened only in memory, just before a webhook is signed."""
    reachable: bool
    webhook_disabled: bool = False
    email_blocked: bool = False
    erased: bool = False

    def accepts(self, channel: ChannelName) -> bool:
        """Whether a new message may go out on `channel` right now."""
        if channel not in self.channels:
            return False
        if channel is ChannelName.EMAIL:
            return self.emailable
        if self.erased or not self.reachable:
            return False
        return (
            self.webhook_url is not None
            and self.webhook_secret is not None
            and not self.webhook_disabled
        )

    @property
    def emailable(self) -> bool:
        """Whether an email may reach them whatever their channels: an address that has
        neither bounced nor unsubscribed, consent given and the profile active. A consultant
        who answered `interested` is told by email when that match is withdrawn (§8.1)."""
        if self.erased or not self.reachable:
            return False
        return self.email is not None and not self.email_blocked

    def accepts_kind(self, channel: ChannelName, kind: Kind) -> bool:
        """Whether a delivery of `kind` may go out on `channel` right now."""
        if channel is ChannelName.EMAIL and kind is Kind.WITHDRAWN:
            return self.emailable
        return self.accepts(channel)


@dataclass(frozen=True)
class MatchNotice:
    """One match event as the notifier keeps it; `payload` is the event data as JSON.

    A withdrawal's `revision` is that of the latest `match.found` seen for the match, so
    that a later re-found (a higher revision) can be announced and withdrawn again.
    """

    event_id: str
    match_id: str
    consultant_id: str
    kind: Kind
    revision: int
    score: float | None
    payload: dict[str, Any]
    traceparent: str | None = None
    """The W3C trace context of the match event, carried onto its deliveries."""

    @property
    def event_key(self) -> str:
        """Identity for de-duplication: a found or an update per revision, a withdrawal per
        event id."""
        if self.kind.announces:
            return f"{self.match_id}|{self.kind.value}|{self.revision}"
        return f"{self.match_id}|{self.kind.value}|{self.event_id}"

    @property
    def urgent(self) -> bool:
        """The assignment starts within three weeks of the match (contract §8.5); a
        withdrawal is never urgent."""
        return self.kind.announces and self.payload.get("urgent") is True


@dataclass(frozen=True)
class PlannedDelivery:
    channel: ChannelName
    kind: Kind
    status: Status

    def dedupe_key(self, notice: MatchNotice) -> str:
        """The unique key that makes a second copy of this delivery impossible."""
        return f"{self.kind.value}|{notice.match_id}|{notice.revision}|{self.channel.value}"


@dataclass(frozen=True)
class Delivery:
    """A delivery claimed for sending, with the consultant's current contact details.

    `attempts` counts this attempt (from 0 again after an operator's retry, which
    `retry_round` counts). `contact` is None when no profile is known any more.
    `traceparent` is the match event's trace context (None for digests, which merge many).
    `exhausted` marks a delivery claimed only to be given up: its attempts ran out (the last
    one never finished, its lease expired), so it is recorded dead and not sent again.
    """

    id: str
    consultant_id: str
    channel: ChannelName
    kind: Kind
    match_ids: tuple[str, ...]
    payload: dict[str, Any] | None
    occurred_at: datetime
    created_at: datetime
    attempts: int
    contact: Contact | None
    traceparent: str | None = None
    retry_round: int = 0
    exhausted: bool = False
