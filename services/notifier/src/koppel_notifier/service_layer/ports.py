"""What the notifier's use cases need from the outside world, one small Protocol per role.

Every port of the service stays in this one module, as in the intake and the matcher, so a
use case's dependencies read in one place; it is longer than most modules because the
notifier has the most roles: the inbox consumer's transaction over contacts, match events
and answers; the delivery rows, senders, digests and outcomes of sending; the consultant's
page, answers and unsubscribe; the operator's commands on deliveries given up on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from typing import Any, Protocol

from koppel.contract.response import MatchResponded, MatchResponseWithdrawn
from koppel.dead_letters import DeadLetterCode
from koppel_notifier.domain.answers import CurrentMatch, PageContact
from koppel_notifier.domain.dead_deliveries import (
    BacklogCount,
    DeadDelivery,
    RetryCandidate,
    Selection,
)
from koppel_notifier.domain.model import (
    ChannelName,
    Contact,
    Delivery,
    Kind,
    MatchNotice,
    PlannedDelivery,
)
from koppel_notifier.domain.outcome import AttemptOutcome


@dataclass(frozen=True)
class ConsultantState:
    """Whether a profile of the consultant is stored, and their last erasure if any."""

    known: bool
    erased_at: datetime | None


@dataclass(frozen=True)
class StoredMatch:
    """What storing a match event came to, with what routing it needs.

    `stale`: written before the consultant's erasure, not stored. `inserted`: new (False for
    a replay). `contact`: the consultant's stored contact, None while no profile is known.
    `last_erasure`: the consultant's last erasure, for `registration_key`.
    """

    inserted: bool
    stale: bool
    contact: Contact | None
    last_erasure: datetime | None


@dataclass(frozen=True)
class AwaitingMatch:
    """A stored match event that arrived before the consultant's profile."""

    event_key: str
    notice: MatchNotice
    occurred_at: datetime


class ResponseRepository(Protocol):
    """The consultants' current answers, one per match; the latest `responded_at` wins."""

    async def record(self, answer: MatchResponded) -> bool:
        """Store `answer` unless a later one is stored or the consultant was erased after it;
        whether it changed what is stored (a replay does not)."""
        ...

    async def withdraw(self, withdrawal: MatchResponseWithdrawn) -> bool:
        """Remove the match's answer unless it was given after the withdrawal."""
        ...

    async def answers_for(self, consultant_id: str) -> dict[str, MatchResponded]:
        """The consultant's current answers by match id."""
        ...

    async def answer_for(self, match_id: str) -> MatchResponded | None: ...

    async def erase(self, consultant_id: str) -> None:
        """Delete every answer of the consultant."""
        ...


class InboxStore(Protocol):
    """The contacts, match events and new deliveries of one transaction."""

    @property
    def responses(self) -> ResponseRepository:
        """The consultants' answers, written in the same transaction."""
        ...

    def savepoint(self) -> AbstractAsyncContextManager[None]:
        """What is written inside is undone alone if it raises."""
        ...

    async def consultant_state(self, consultant_id: str) -> ConsultantState: ...

    async def save_contact(self, contact: Contact, *, mode: str) -> Contact:
        """Upsert the profile's copy; the contact as stored (blocks and disables applied)."""
        ...

    async def erase(self, consultant_id: str, erased_at: datetime) -> None:
        """Delete every row about the consultant, answers too; keep only the record of the
        erasure."""
        ...

    async def forget_matches(self, consultant_id: str) -> None:
        """Delete the consultant's match events and deliveries, sent or not."""
        ...

    async def store_match(self, notice: MatchNotice, occurred_at: datetime) -> StoredMatch:
        """Store the event once; stored as routed when the contact is known, because the
        caller routes it in the same transaction."""
        ...

    async def awaiting(self, consultant_id: str) -> list[AwaitingMatch]:
        """The consultant's events stored before their profile, in arrival order."""
        ...

    async def mark_routed(self, event_key: str) -> None: ...

    async def latest_revision(self, match_id: str) -> int:
        """The highest `match.found` or `match.updated` revision seen for `match_id` (0 if
        none)."""
        ...

    async def latest_assignment(self, match_id: str) -> dict[str, Any] | None:
        """The assignment summary of the match's latest found or updated event, as JSON."""
        ...

    async def channels_told(self, match_id: str, consultant_id: str) -> set[ChannelName]:
        """Channels on which the match went out as found or updated, or is going out now."""
        ...

    async def cancel_unsent_found(self, match_id: str, consultant_id: str, why: str) -> None:
        """Cancel the match's found and updated deliveries that have not started going out."""
        ...

    async def cancel_unannounced(self, match_id: str, consultant_id: str, why: str) -> None:
        """Cancel the match's found and updated deliveries not yet tried (those not in
        `channels_told`), so that newer terms replace them."""
        ...

    async def cancel_unsent(
        self, consultant_id: str, channel: ChannelName, why: str, *, keep_withdrawals: bool
    ) -> None:
        """Cancel every delivery on `channel` that has not started going out, but for
        `match.withdrawn` ones when `keep_withdrawals`."""
        ...

    async def release_queued(self, consultant_id: str) -> None:
        """Make the deliveries waiting for a digest due now."""
        ...

    async def add_delivery(
        self,
        key: str,
        planned: PlannedDelivery,
        notice: MatchNotice,
        occurred_at: datetime,
    ) -> None:
        """Create the delivery with dedupe key `key` unless it exists."""
        ...


class Inbox(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[InboxStore]:
        """One transaction: all its writes commit together, or none."""
        ...


class DeadLetterPublisher(Protocol):
    async def dead_letter(
        self,
        topic: str,
        *,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]],
        error_code: DeadLetterCode,
        error: str,
        source_topic: str,
        partition: int,
        offset: int,
    ) -> None:
        """Copy a record that cannot be used to `topic` with why; returns once it is stored."""
        ...


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


class Unsubscribes(Protocol):
    async def unsubscribe(self, consultant_id: str) -> bool:
        """Stop email to the consultant's current address at once; False if unknown."""
        ...


class AnswerBook(Protocol):
    """The consultant's open matches and answers inside one transaction."""

    async def current_match(self, consultant_id: str, match_id: str) -> CurrentMatch | None:
        """The match if it is the consultant's and still open (else None)."""
        ...

    async def answered(self, answer: MatchResponded) -> None:
        """Store the answer and queue its event on koppel.responses.v1, both or neither."""
        ...

    async def taken_back(self, withdrawal: MatchResponseWithdrawn) -> None:
        """Remove the answer and queue the withdrawal's event, both or neither."""
        ...


class Answers(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[AnswerBook]:
        """One transaction: the answer and its outbox row commit together, or neither."""
        ...


class MatchPages(Protocol):
    """What the consultant's page reads."""

    async def contact(self, consultant_id: str) -> PageContact | None:
        """The consultant's stored profile; None once erased (or never known)."""
        ...

    async def current_matches(self, consultant_id: str) -> list[CurrentMatch]:
        """The open matches the consultant was told about, newest first, with answers."""
        ...


class DeadDeliveries(Protocol):
    """Deliveries given up on, as the operator's commands read and change them."""

    async def backlog(self) -> list[BacklogCount]:
        """How many deliveries each channel has in each status, by channel and status."""
        ...

    async def find(self, selection: Selection) -> list[DeadDelivery]:
        """The selected deliveries, the latest given up first, at most `selection.limit`."""
        ...

    async def retry_candidates(self, selection: Selection) -> list[RetryCandidate]:
        """The selected dead deliveries, each with what decides whether it may go again."""
        ...

    async def requeue(self, ids: Sequence[str]) -> list[str]:
        """Make those still dead due now with their attempts reset; the ids requeued."""
        ...

    async def discard(self, ids: Sequence[str], reason: str) -> list[str]:
        """Mark those still dead or failed `discarded`, recording `reason`; the ids discarded."""
        ...
