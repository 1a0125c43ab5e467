"""The inbox use cases and the consumer that feeds them, against an in-memory inbox."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from koppel.cloudevents import encode, new_event
from koppel.contract import MatchFound, match_id_for
from koppel.dead_letters import DeadLetterCode
from koppel.event_types import EventType, Source
from koppel.secret_sealing import SecretKeyring, new_key
from koppel.topics import CONSULTANTS, MATCHES
from koppel.vocabulary import WithdrawalReason
from koppel_notifier.domain.commands import (
    Command,
    ConsultantErased,
    MatchEvent,
    ProfileChanged,
)
from koppel_notifier.domain.model import ChannelName, Contact, Kind, MatchNotice, PlannedDelivery
from koppel_notifier.entrypoints.kafka_consumer import InboxConsumer
from koppel_notifier.metrics import NotifierMetrics
from koppel_notifier.service_layer import inbox
from koppel_notifier.service_layer.ports import AwaitingMatch, ConsultantState, StoredMatch

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
KEYRING = SecretKeyring.parse(new_key("unit"))
UNSENT = {"pending", "queued", "digested"}

MatchBuilder = Callable[..., dict[str, Any]]
Wait = Callable[..., Awaitable[None]]


# ---------------------------------------------------------------- the fake inbox


@dataclass
class Row:
    """A delivery row: what the use cases decide about, nothing of how it is sent."""

    consultant_id: str
    channel: ChannelName
    kind: Kind
    match_id: str
    status: str
    attempts: int = 0


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


class FakeInboxStore:
    """`InboxStore` over `Tables`; a consultant in `refused` makes writes fail as PostgreSQL
    fails a record it refuses."""

    def __init__(self, tables: Tables, refused: set[str]) -> None:
        self.tables = tables
        self._refused = refused

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
        found = [
            event.notice.revision
            for event in self.tables.events.values()
            if event.notice.match_id == match_id and event.notice.kind is Kind.FOUND
        ]
        return max(found, default=0)

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

    async def cancel_unsent(self, consultant_id: str, channel: ChannelName, why: str) -> None:
        for row in self.tables.deliveries.values():
            if (row.consultant_id, row.channel) == (
                consultant_id,
                channel,
            ) and row.status in UNSENT:
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
            ),
        )

    def _found(self, match_id: str, consultant_id: str) -> list[Row]:
        return [
            row
            for row in self.tables.deliveries.values()
            if (row.match_id, row.consultant_id, row.kind) == (match_id, consultant_id, Kind.FOUND)
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


async def handled(fake: FakeInbox, *commands: Command) -> list[str]:
    async with fake.transaction() as store:
        return [await inbox.handle(store, command) for command in commands]


# ---------------------------------------------------------------- the use cases


async def test_a_found_match_routed_to_email_and_webhook_plans_two_deliveries() -> None:
    fake = FakeInbox()
    assert await handled(fake, profile(), found()) == ["applied", "applied"]
    assert planned(fake) == {
        "match.found|m-1|1|email": "pending",
        "match.found|m-1|1|webhook": "pending",
    }


async def test_in_digest_mode_the_email_waits_for_the_digest_and_the_webhook_does_not() -> None:
    fake = FakeInbox()
    await handled(fake, profile(digest=True), found())
    assert planned(fake) == {
        "match.found|m-1|1|email": "queued",
        "match.found|m-1|1|webhook": "pending",
    }


async def test_a_match_below_min_score_is_kept_but_sends_nothing() -> None:
    fake = FakeInbox()
    assert await handled(fake, profile(min_score=0.9), found(score=0.8)) == ["applied", "applied"]
    assert planned(fake) == {}


async def test_a_replayed_match_is_a_duplicate_and_plans_nothing_more() -> None:
    fake = FakeInbox()
    assert await handled(fake, profile(), found(), found()) == ["applied", "applied", "duplicate"]
    assert len(planned(fake)) == 2


async def test_a_match_before_the_profile_waits_and_is_routed_when_it_arrives() -> None:
    fake = FakeInbox()
    assert await handled(fake, found()) == ["applied"]
    assert planned(fake) == {}
    await handled(fake, profile(channels=frozenset({ChannelName.WEBHOOK})))
    assert planned(fake) == {"match.found|m-1|1|webhook": "pending"}
    assert all(event.routed for event in fake.tables.events.values())


async def test_an_erased_consultants_late_match_is_ignored() -> None:
    fake = FakeInbox()
    erased_at = T0 + timedelta(hours=1)
    await handled(fake, profile(), ConsultantErased("c-1", erased_at))
    assert await handled(fake, found(at=erased_at - timedelta(seconds=1))) == ["stale"]
    assert await handled(fake, profile(at=erased_at)) == ["stale"]
    assert fake.tables.events == {}
    assert fake.tables.deliveries == {}
    assert fake.tables.contacts == {}


async def test_a_registration_after_the_erasure_is_notified_under_new_keys() -> None:
    fake = FakeInbox()
    erased_at = T0 + timedelta(hours=1)
    await handled(fake, profile(), found(), ConsultantErased("c-1", erased_at))
    later = erased_at + timedelta(minutes=1)
    assert await handled(fake, profile(at=later), found(at=later)) == ["applied", "applied"]
    assert set(planned(fake)) == {
        f"match.found|m-1|1|email|after:{erased_at.isoformat()}",
        f"match.found|m-1|1|webhook|after:{erased_at.isoformat()}",
    }


async def test_a_withdrawal_cancels_what_is_unsent_and_is_announced_where_the_match_was() -> None:
    fake = FakeInbox()
    await handled(fake, profile(), found())
    fake.tables.deliveries["match.found|m-1|1|webhook"].status = "delivered"
    assert await handled(fake, withdrawn()) == ["applied"]
    assert planned(fake) == {
        "match.found|m-1|1|email": "cancelled",
        "match.found|m-1|1|webhook": "delivered",
        "match.withdrawn|m-1|1|webhook": "pending",
    }


async def test_a_withdrawal_of_a_match_never_found_is_ignored() -> None:
    fake = FakeInbox()
    assert await handled(fake, profile(), withdrawn()) == ["applied", "ignored"]
    assert planned(fake) == {}


async def test_the_matchers_erasure_withdrawal_forgets_the_consultants_matches() -> None:
    fake = FakeInbox()
    await handled(fake, profile(), found())
    erasure = withdrawn(reason=WithdrawalReason.CONSULTANT_ERASED)
    assert await handled(fake, erasure) == ["ignored"]
    assert fake.tables.events == {}
    assert planned(fake) == {}


async def test_a_profile_change_cancels_dropped_channels_and_releases_the_digest() -> None:
    fake = FakeInbox()
    await handled(fake, profile(digest=True), found())
    await handled(fake, profile(channels=frozenset({ChannelName.EMAIL})))
    assert planned(fake) == {
        "match.found|m-1|1|email": "pending",
        "match.found|m-1|1|webhook": "cancelled",
    }


# ---------------------------------------------------------------- the consumer


class FakeDeadLetters:
    def __init__(self) -> None:
        self.letters: list[tuple[str, bytes | None, DeadLetterCode, str]] = []

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
        self.letters.append((topic, key, error_code, error))


class FakeKafka:
    """Serves `batches` one poll at a time, then nothing; keeps seeks and commits."""

    def __init__(self, batches: list[dict[TopicPartition, list[ConsumerRecord]]]) -> None:
        self._batches = batches
        self._listener: ConsumerRebalanceListener | None = None
        self.seeks: list[tuple[TopicPartition, int]] = []
        self.commits: list[dict[TopicPartition, int]] = []

    def subscribe(self, topics: list[str], *, listener: ConsumerRebalanceListener) -> None:
        self._listener = listener

    async def start(self) -> None:
        assert self._listener is not None, "subscribe first"
        await self._listener.on_partitions_assigned([])

    async def getmany(
        self, *, timeout_ms: int, max_records: int
    ) -> dict[TopicPartition, list[ConsumerRecord]]:
        if self._batches:
            return self._batches.pop(0)
        await asyncio.sleep(0.01)
        return {}

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self.seeks.append((partition, offset))

    async def commit(self, offsets: dict[TopicPartition, OffsetAndMetadata]) -> None:
        self.commits.append({tp: meta.offset for tp, meta in offsets.items()})

    def assignment(self) -> set[TopicPartition]:
        return set()

    async def stop(self) -> None:
        pass


def match_record(offset: int, payload: dict[str, Any], consultant_id: str) -> ConsumerRecord:
    match_id = match_id_for("a-1", consultant_id)
    data = MatchFound.model_validate(
        {**payload, "consultant_id": consultant_id, "match_id": match_id}
    )
    event = new_event(
        EventType.MATCH_FOUND, source=Source.MATCHER, subject=consultant_id, data=data
    )
    value, headers = encode(event)
    return _record(MATCHES, offset, consultant_id.encode(), value, headers)


def _record(
    topic: str, offset: int, key: bytes, value: bytes | None, headers: list[tuple[str, bytes]]
) -> ConsumerRecord:
    return ConsumerRecord(
        topic, 0, offset, 1_764_633_600_000 + offset, 0, key, value, None, 0, 0, headers
    )


def consumer(
    fake: FakeInbox,
    letters: FakeDeadLetters,
    metrics: NotifierMetrics,
    kafka: FakeKafka | None = None,
) -> tuple[InboxConsumer, list[int]]:
    woken: list[int] = []
    running = InboxConsumer(
        cast(AIOKafkaConsumer, kafka or FakeKafka([])),
        fake,
        letters,
        metrics,
        lambda: woken.append(1),
        group_id="notifier-unit",
        keyring=KEYRING,
    )
    return running, woken


def consumed(metrics: NotifierMetrics, topic: str, result: str) -> float | None:
    return metrics.registry.get_sample_value(
        "koppel_notifier_events_consumed_total", {"topic": topic, "result": result}
    )


async def test_an_unreadable_record_is_dead_lettered_and_the_rest_of_the_batch_applied(
    make_match: MatchBuilder,
) -> None:
    fake, letters, metrics = FakeInbox(), FakeDeadLetters(), NotifierMetrics()
    await handled(fake, profile())
    batch = [match_record(0, make_match(), "c-1"), _record(MATCHES, 1, b"c-1", b"{not json", [])]
    running, _ = consumer(fake, letters, metrics)
    await running.apply({TopicPartition(MATCHES, 0): batch})
    assert len(planned(fake)) == 2
    [(topic, key, code, _)] = letters.letters
    assert (topic, key) == (f"{MATCHES}.dlq", b"c-1")
    assert code is not DeadLetterCode.PROCESSING_FAILED
    assert consumed(metrics, MATCHES, "applied") == 1
    assert consumed(metrics, MATCHES, "dead_lettered") == 1


async def test_a_record_postgresql_refuses_goes_alone_and_the_others_are_written_once(
    make_match: MatchBuilder,
) -> None:
    fake, letters, metrics = FakeInbox(refused=["c-2"]), FakeDeadLetters(), NotifierMetrics()
    await handled(fake, profile())
    batch = [
        match_record(0, make_match(), "c-1"),
        match_record(1, make_match(), "c-2"),
        _record(CONSULTANTS, 2, b"c-3", None, []),
    ]
    running, _ = consumer(fake, letters, metrics)
    await running.apply({TopicPartition(MATCHES, 0): batch})
    assert len(planned(fake)) == 2
    assert "c-3" in fake.tables.erasures
    [(topic, key, code, reason)] = letters.letters
    assert (topic, key, code) == (f"{MATCHES}.dlq", b"c-2", DeadLetterCode.PROCESSING_FAILED)
    assert reason.startswith("PostgreSQL refused the record (SQLSTATE 22000 DataError)")
    assert consumed(metrics, MATCHES, "applied") == 1


async def test_offsets_are_committed_after_the_batch_and_a_failed_write_is_read_again(
    make_match: MatchBuilder, wait: Wait
) -> None:
    fake, letters, metrics = FakeInbox(failures=1), FakeDeadLetters(), NotifierMetrics()
    fake.tables.contacts["c-1"] = contact()
    partition = TopicPartition(MATCHES, 0)
    batch = {partition: [match_record(7, make_match(), "c-1")]}
    kafka = FakeKafka([batch, batch])
    running, woken = consumer(fake, letters, metrics, kafka)
    task = asyncio.create_task(running.run())
    try:
        await wait(lambda: kafka.commits, within=5, what="offsets committed")
        assert kafka.seeks == [(partition, 7)]
        assert kafka.commits == [{partition: 8}]
        assert fake.committed == 1
        assert len(planned(fake)) == 2
        assert woken == [1]
        assert running.started
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
