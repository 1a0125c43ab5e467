"""What the inbox consumer's use cases need: one transaction over contacts, match events,
answers and new deliveries, and a dead-letter topic for records that cannot be used.

Each Protocol has a real adapter (`koppel_notifier.adapters`) and an in-memory fake in the
unit tests; the dataclasses are the values that cross these ports.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from koppel.contract.response import MatchResponded, MatchResponseWithdrawn
from koppel.dead_letters import DeadLetterCode
from koppel_notifier.domain.model import ChannelName, Contact, MatchNotice, PlannedDelivery


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
