"""Deliveries given up on, as an operator sees them, and when one may be sent again.

What an operator is shown is what the row says about the attempt, never how to reach the
consultant: ids, channel, kind, attempts and the error code (`outcome.AttemptOutcome`
keeps codes free of addresses, URLs and server replies).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from koppel_notifier.domain.model import ChannelName, Contact, Kind, Status

GIVEN_UP = frozenset({Status.DEAD, Status.FAILED})
"""What `list` can show: dead (attempts ran out) and failed (refused or gone at once)."""


@dataclass(frozen=True)
class Selection:
    """Which given-up deliveries an operator means: every field set narrows it.

    `ids` empty means any id; `since` is when the delivery was given up.
    """

    statuses: frozenset[Status] = frozenset({Status.DEAD})
    ids: tuple[str, ...] = ()
    consultant_id: str | None = None
    channel: ChannelName | None = None
    since: datetime | None = None
    limit: int | None = None


@dataclass(frozen=True)
class DeadDelivery:
    """One delivery given up on, in words free of personal data."""

    id: str
    consultant_id: str
    channel: ChannelName
    kind: Kind
    status: Status
    attempts: int
    error: str | None
    """The last attempt's error code, e.g. `webhook_http_500`."""
    given_up_at: datetime | None


@dataclass(frozen=True)
class BacklogCount:
    """How many deliveries of one channel are in one status."""

    channel: ChannelName
    status: Status
    count: int


@dataclass(frozen=True)
class RetryCandidate:
    """A dead delivery with what decides whether it may go out again.

    `contact`: the consultant's stored contact, None once erased. `unsubscribed`: the
    contact's current address was unsubscribed. `superseded`: a later event about the match
    arrived after this delivery's, so sending it would tell the consultant old news.
    """

    delivery: DeadDelivery
    contact: Contact | None
    unsubscribed: bool
    superseded: bool


class Refusal(StrEnum):
    """Why a dead delivery is not sent again."""

    ERASED = "consultant_erased"
    UNSUBSCRIBED = "unsubscribed"
    SUPERSEDED = "superseded"
    """The match was updated, withdrawn or found again after this delivery was made."""
    CHANNEL_CLOSED = "channel_closed"
    """The profile no longer takes it on this channel: channel removed, consent withdrawn,
    profile inactive, address bounced or webhook URL gone."""


def retry_refusal(candidate: RetryCandidate) -> Refusal | None:
    """Why `candidate` may not be sent again, or None when it may."""
    contact = candidate.contact
    delivery = candidate.delivery
    if contact is None or contact.erased:
        return Refusal.ERASED
    if delivery.channel is ChannelName.EMAIL and candidate.unsubscribed:
        return Refusal.UNSUBSCRIBED
    if candidate.superseded:
        return Refusal.SUPERSEDED
    if not contact.accepts_kind(delivery.channel, delivery.kind):
        return Refusal.CHANNEL_CLOSED
    return None
