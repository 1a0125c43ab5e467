"""An in-memory notifier inbox (`InboxStore`, `Inbox`, `ResponseRepository`) and builders of
the commands its use cases handle, for the notifier's unit tests."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from koppel.contract import MatchResponded, MatchResponseWithdrawn
from koppel.vocabulary import Answer, AnswerVia, DeclineReason, VisibleField, WithdrawalReason
from koppel_notifier.domain.commands import (
    AnswerGiven,
    AnswerTakenBack,
    MatchEvent,
    ProfileChanged,
)
from koppel_notifier.domain.model import ChannelName, Contact, Kind, MatchNotice, PlannedDelivery
from koppel_notifier.service_layer import inbox
from koppel_notifier.service_layer.ports import AwaitingMatch, ConsultantState, StoredMatch

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
UNSENT = {"pending", "queued", "digested"}
ANNOUNCING = {Kind.FOUND, Kind.UPDATED}


@dataclass
class Row:
    """A delivery row: what the use cases decide about, nothing of how it is sent."""

    consultant_id: str
    channel: ChannelName
    kind: Kind
    match_id: str
    status: str
    attempts: int = 0
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class Event:
    notice: MatchNotice
    occurred_at: datetime
    routed: bool


@dataclass
class Tables:
    contacts: dict[str, Contact] = field(default_factory=dict)
    erasures: dict[str, datetime] = field(default_factory=dict)
    events: dict[str, Event] = field(default_factory=dict)
    deliveries: dict[str, Row] = field(default_factory=dict)
    answers: dict[str, MatchResponded] = field(default_factory=dict)


class FakeResponses:
    """`ResponseRepository` over `Tables.answers`."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables

    async def record(self, answer: MatchResponded) -> bool:
        erased = self.tables.erasures.get(answer.consultant_id)
        if erased is not None and erased >= answer.responded_at:
            return False
        stored = self.tables.answers.get(answer.match_id)
        if stored is not None and (stored == answer or stored.responded_at > answer.responded_at):
            return False
        self.tables.answers[answer.match_id] = answer
        return True

    async def withdraw(self, withdrawal: MatchResponseWithdrawn) -> bool:
        stored = self.tables.answers.get(withdrawal.match_id)
        if stored is None or stored.responded_at > withdrawal.withdrawn_at:
            return False
        del self.tables.answers[withdrawal.match_id]
        return True

    async def answers_for(self, consultant_id: str) -> dict[str, MatchResponded]:
        return {
            match_id: answer
            for match_id, answer in self.tables.answers.items()
            if answer.consultant_id == consultant_id
        }

    async def answer_for(self, match_id: str) -> MatchResponded | None:
        return self.tables.answers.get(match_id)

    async def erase(self, consultant_id: str) -> None:
        for match_id in list(await self.answers_for(consultant_id)):
            del self.tables.answers[match_id]


class FakeInboxStore:
    """`InboxStore` over `Tables`; a consultant in `refused` makes writes fail as PostgreSQL
    fails a record it refuses."""

    def __init__(self, tables: Tables, refused: set[str]) -> None:
        self.tables = tables
        self._refused = refused
        self._responses = FakeResponses(tables)

    @property
    def responses(self) -> FakeResponses:
        return self._responses

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        before = copy.deepcopy(self.tables)
        try:
            yield
        except BaseException:
            self.tables.__dict__.update(before.__dict__)
            raise

    async def consultant_state(self, consultant_id: str) -> ConsultantState:
        return ConsultantState(
            consultant_id in self.tables.contacts, self.tables.erasures.get(consultant_id)
        )

    async def save_contact(self, contact: Contact, *, mode: str) -> Contact:
        self.tables.contacts[contact.consultant_id] = contact
        return contact

    async def erase(self, consultant_id: str, erased_at: datetime) -> None:
        earlier = self.tables.erasures.get(consultant_id, erased_at)
        self.tables.erasures[consultant_id] = max(earlier, erased_at)
        self.tables.contacts.pop(consultant_id, None)
        await self.forget_matches(consultant_id)
        await self._responses.erase(consultant_id)

    async def forget_matches(self, consultant_id: str) -> None:
        for table in (self.tables.deliveries, self.tables.events):
            for key in [key for key, row in table.items() if _owner(row) == consultant_id]:
                del table[key]

    async def store_match(self, notice: MatchNotice, occurred_at: datetime) -> StoredMatch:
        if notice.consultant_id in self._refused:
            raise asyncpg.DataError("invalid byte sequence for encoding UTF8: 0x00")
        erased = self.tables.erasures.get(notice.consultant_id)
        stale = erased is not None and erased >= occurred_at
        contact = self.tables.contacts.get(notice.consultant_id)
        inserted = not stale and notice.event_key not in self.tables.events
        if inserted:
            self.tables.events[notice.event_key] = Event(notice, occurred_at, contact is not None)
        return StoredMatch(inserted, stale, contact, erased)

    async def awaiting(self, consultant_id: str) -> list[AwaitingMatch]:
        return [
            AwaitingMatch(key, replace(event.notice, event_id=key), event.occurred_at)
            for key, event in self.tables.events.items()
            if event.notice.consultant_id == consultant_id and not event.routed
        ]

    async def mark_routed(self, event_key: str) -> None:
        self.tables.events[event_key].routed = True

    async def latest_revision(self, match_id: str) -> int:
        return max((event.notice.revision for event in self._announced(match_id)), default=0)

    async def latest_assignment(self, match_id: str) -> dict[str, Any] | None:
        announced = sorted(self._announced(match_id), key=lambda event: event.notice.revision)
        assignments = [event.notice.payload.get("assignment") for event in announced]
        return next((item for item in reversed(assignments) if item is not None), None)

    def _announced(self, match_id: str) -> list[Event]:
        return [
            event
            for event in self.tables.events.values()
            if event.notice.match_id == match_id and event.notice.kind in ANNOUNCING
        ]

    async def channels_told(self, match_id: str, consultant_id: str) -> set[ChannelName]:
        return {
            row.channel
            for row in self._found(match_id, consultant_id)
            if row.status in {"sending", "delivered"} or (row.status == "pending" and row.attempts)
        }

    async def cancel_unsent_found(self, match_id: str, consultant_id: str, why: str) -> None:
        for row in self._found(match_id, consultant_id):
            if row.status in UNSENT:
                row.status = "cancelled"

    async def cancel_unannounced(self, match_id: str, consultant_id: str, why: str) -> None:
        for row in self._found(match_id, consultant_id):
            if row.status in {"queued", "digested"} or (row.status, row.attempts) == ("pending", 0):
                row.status = "cancelled"

    async def cancel_unsent(
        self, consultant_id: str, channel: ChannelName, why: str, *, keep_withdrawals: bool
    ) -> None:
        for row in self.tables.deliveries.values():
            if (row.consultant_id, row.channel) != (consultant_id, channel):
                continue
            if row.status in UNSENT and not (keep_withdrawals and row.kind is Kind.WITHDRAWN):
                row.status = "cancelled"

    async def release_queued(self, consultant_id: str) -> None:
        for row in self.tables.deliveries.values():
            if row.consultant_id == consultant_id and row.status == "queued":
                row.status = "pending"

    async def add_delivery(
        self, key: str, planned: PlannedDelivery, notice: MatchNotice, occurred_at: datetime
    ) -> None:
        self.tables.deliveries.setdefault(
            key,
            Row(
                notice.consultant_id,
                planned.channel,
                planned.kind,
                notice.match_id,
                planned.status.value,
                payload=notice.payload,
            ),
        )

    def _found(self, match_id: str, consultant_id: str) -> list[Row]:
        return [
            row
            for row in self.tables.deliveries.values()
            if (row.match_id, row.consultant_id) == (match_id, consultant_id)
            and row.kind in ANNOUNCING
        ]


def _owner(row: Row | Event) -> str:
    return row.consultant_id if isinstance(row, Row) else row.notice.consultant_id


class FakeInbox:
    """`Inbox`: a transaction that raises leaves the tables as they were."""

    def __init__(self, *, refused: Sequence[str] = (), failures: int = 0) -> None:
        self.tables = Tables()
        self.refused = set(refused)
        self.failures = failures
        """How many transactions fail first as if the database were away."""
        self.committed = 0

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[FakeInboxStore]:
        if self.failures:
            self.failures -= 1
            raise ConnectionRefusedError("database away")
        store = FakeInboxStore(self.tables, self.refused)
        async with store.savepoint():
            yield store
        self.committed += 1


# ---------------------------------------------------------------- builders


def contact(consultant_id: str = "c-1", **changes: Any) -> Contact:
    fields: dict[str, Any] = {
        "consultant_id": consultant_id,
        "name": "Anouk de Vries",
        "email": "anouk@example.nl",
        "language": "nl",
        "channels": frozenset({ChannelName.EMAIL, ChannelName.WEBHOOK}),
        "digest": False,
        "min_score": 0.5,
        "webhook_url": "https://hooks.example.nl/koppel",
        "webhook_secret": "sealed:v1:unit",
        "reachable": True,
    }
    fields.update(changes)
    return Contact(**fields)


def profile(at: datetime = T0, **changes: Any) -> ProfileChanged:
    changed = contact(**changes)
    return ProfileChanged(changed, "daily_digest" if changed.digest else "instant", at)


def found(
    match: str = "m-1", *, score: float = 0.8, revision: int = 1, at: datetime = T0
) -> MatchEvent:
    notice = MatchNotice(
        f"e-{match}-{revision}", match, "c-1", Kind.FOUND, revision, score, {"match_id": match}
    )
    return MatchEvent(notice, at)


def withdrawn(
    match: str = "m-1", reason: WithdrawalReason = WithdrawalReason.ASSIGNMENT_FILLED
) -> MatchEvent:
    payload = {"match_id": match, "reason": reason.value}
    notice = MatchNotice(f"w-{match}", match, "c-1", Kind.WITHDRAWN, 0, None, payload)
    return MatchEvent(notice, T0 + timedelta(minutes=5))


def planned(fake: FakeInbox) -> dict[str, str]:
    """Each delivery's dedupe key and status."""
    return {key: row.status for key, row in fake.tables.deliveries.items()}


async def handled(fake: FakeInbox, *commands: Any) -> list[str]:
    async with fake.transaction() as store:
        return [await inbox.handle(store, command) for command in commands]


def updated(
    match: str = "m-1",
    *,
    score: float = 0.8,
    revision: int = 2,
    changed: Sequence[VisibleField] = (VisibleField.HOURS_PER_WEEK,),
    at: datetime = T0 + timedelta(minutes=2),
) -> MatchEvent:
    payload = {"match_id": match, "changed": [field.value for field in changed]}
    notice = MatchNotice(
        f"u-{match}-{revision}", match, "c-1", Kind.UPDATED, revision, score, payload
    )
    return MatchEvent(notice, at)


def answered(
    match: str = "m-1",
    response: Answer = Answer.INTERESTED,
    *,
    at: datetime = T0 + timedelta(minutes=1),
    consultant_id: str = "c-1",
) -> AnswerGiven:
    declining = response is Answer.NOT_INTERESTED
    return AnswerGiven(
        MatchResponded(
            match_id=match,
            consultant_id=consultant_id,
            assignment_id="a-1",
            response=response,
            reason=DeclineReason.HOURS if declining else None,
            responded_at=at,
            via=AnswerVia.PAGE,
        )
    )


def taken_back(match: str = "m-1", *, at: datetime = T0 + timedelta(minutes=3)) -> AnswerTakenBack:
    return AnswerTakenBack(
        MatchResponseWithdrawn(
            match_id=match,
            consultant_id="c-1",
            assignment_id="a-1",
            withdrawn_at=at,
            via=AnswerVia.PAGE,
        )
    )
