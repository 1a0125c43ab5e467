"""In-memory stand-ins of the matcher's ports (`ShardRepository`, `ShardUnitOfWork`,
`Clock`) and of the shard's Kafka consumer, for the matcher's unit tests."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition

from koppel.cloudevents import CloudEvent
from koppel.contract import Assignment
from koppel_matcher.domain.answers import StoredAnswer
from koppel_matcher.domain.dedup import LedgerEntry, MatchState
from koppel_matcher.service_layer.ports import DeadLetter, Partition, TakeOver


class FakeRepository:
    """Dict-backed stand-in for the PostgreSQL `ShardTransaction`."""

    def __init__(self) -> None:
        self.ledger: dict[tuple[str, str], LedgerEntry] = {}
        self.reasons: dict[tuple[str, str], str | None] = {}
        self.profiles: dict[str, Any] = {}
        self.assignments: dict[str, Assignment] = {}
        self.erasures: dict[str, datetime] = {}
        self.answers: dict[tuple[str, str], StoredAnswer] = {}
        self.wakeups: dict[str, datetime] = {}

    async def ledger_for_assignment(self, assignment_id: str) -> dict[str, LedgerEntry]:
        return {c: e for (c, a), e in self.ledger.items() if a == assignment_id}

    async def ledger_for_consultant(self, consultant_id: str) -> dict[str, LedgerEntry]:
        return {a: e for (c, a), e in self.ledger.items() if c == consultant_id}

    async def put_entries(self, entries: Sequence[tuple[LedgerEntry, str | None]]) -> None:
        for entry, reason in entries:
            self.ledger[(entry.consultant_id, entry.assignment_id)] = entry
            self.reasons[(entry.consultant_id, entry.assignment_id)] = reason

    async def put_profile(
        self, consultant_id: str, language: str, document: Any, wakeup_at: datetime | None = None
    ) -> None:
        self.profiles[consultant_id] = document
        await self.set_wakeup(consultant_id, wakeup_at)

    async def due_wakeups(self, now: datetime, limit: int) -> list[str]:
        due = sorted((at, c) for c, at in self.wakeups.items() if at <= now)
        return [consultant_id for _, consultant_id in due[:limit]]

    async def set_wakeup(self, consultant_id: str, wakeup_at: datetime | None) -> None:
        if wakeup_at is None or consultant_id not in self.profiles:
            self.wakeups.pop(consultant_id, None)
        else:
            self.wakeups[consultant_id] = wakeup_at

    async def delete_profile(self, consultant_id: str) -> None:
        self.profiles.pop(consultant_id, None)
        self.wakeups.pop(consultant_id, None)

    async def erased_at(self, consultant_id: str) -> datetime | None:
        return self.erasures.get(consultant_id)

    async def erase_consultant(self, consultant_id: str, erased_at: datetime) -> None:
        self.erasures[consultant_id] = erased_at
        await self.delete_profile(consultant_id)
        for key in [k for k in self.ledger if k[0] == consultant_id]:
            del self.ledger[key]
        for key in [k for k in self.answers if k[0] == consultant_id]:
            del self.answers[key]

    async def put_assignment(self, assignment: Assignment) -> None:
        self.assignments[assignment.id] = assignment

    async def answer_for(self, consultant_id: str, assignment_id: str) -> StoredAnswer | None:
        return self.answers.get((consultant_id, assignment_id))

    async def put_answer(self, answer: StoredAnswer) -> None:
        self.answers[(answer.consultant_id, answer.assignment_id)] = answer

    async def delete_answer(self, consultant_id: str, assignment_id: str) -> None:
        del self.answers[(consultant_id, assignment_id)]


@dataclass
class Commit:
    """What one transaction of `FakeUnitOfWork` committed."""

    events: list[tuple[str, CloudEvent]]
    dead_letters: list[DeadLetter]
    offsets: dict[Partition, int]


class FakeUnitOfWork:
    """In-memory `ShardUnitOfWork`: every transaction writes into one `FakeRepository` and
    lists what it committed in `commits`. Unlike PostgreSQL, an abort keeps the writes made
    so far; tests look at what was committed and aborted, not at the rollback."""

    def __init__(self, partitions: Sequence[Partition], shard_count: int = 1) -> None:
        self.partitions = tuple(partitions)
        self.shard_count = shard_count
        self.repository = FakeRepository()
        self.commits: list[Commit] = []
        self.aborted: list[BaseException] = []
        self.closed = False
        self._open: Commit | None = None

    async def take_over(self) -> TakeOver:
        return TakeOver(
            partitions=self.partitions,
            committed={},
            shard_count=self.shard_count,
            epoch=1,
            seq=0,
            recovery="consistent",
            assignments=[],
            profiles=[],
        )

    async def begin(self) -> FakeRepository:
        assert self._open is None, "a transaction is open already"
        self._open = Commit([], [], {})
        return self.repository

    def publish(self, key: str, event: CloudEvent) -> None:
        assert self._open is not None
        self._open.events.append((key, event))

    def dead_letter(self, letter: DeadLetter) -> None:
        assert self._open is not None
        self._open.dead_letters.append(letter)

    async def commit(self, offsets: Mapping[Partition, int]) -> None:
        assert self._open is not None
        self._open.offsets = dict(offsets)
        self.commits.append(self._open)
        self._open = None

    async def has_found(self, assignment_ids: Sequence[str]) -> bool:
        return any(
            entry.state is MatchState.FOUND and entry.assignment_id in assignment_ids
            for entry in self.repository.ledger.values()
        )

    async def next_wakeup(self) -> datetime | None:
        return min(self.repository.wakeups.values(), default=None)

    async def abort(self, exc: BaseException) -> None:
        if self._open is not None:
            self.aborted.append(exc)
        self._open = None

    async def close(self) -> None:
        self.closed = True


@dataclass
class FakeConsumer:
    """The shard's Kafka consumer, handing out `batches` one `getmany` at a time and
    setting `stopping` once they are all out."""

    batches: list[list[ConsumerRecord[bytes, bytes]]]
    stopping: asyncio.Event
    positions: dict[TopicPartition, int] = field(default_factory=dict)

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def assign(self, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            self.positions.setdefault(tp, 0)

    def assignment(self) -> set[TopicPartition]:
        return set(self.positions)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.positions[tp] = offset

    async def seek_to_end(self, *partitions: TopicPartition) -> None:
        pass

    async def seek_to_beginning(self, *partitions: TopicPartition) -> None:
        pass

    def highwater(self, tp: TopicPartition) -> int:
        return self.positions[tp]

    async def position(self, tp: TopicPartition) -> int:
        return self.positions[tp]

    async def getmany(
        self, timeout_ms: int = 0
    ) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
        if not self.batches:
            self.stopping.set()
            return {}
        fetched: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]] = {}
        for record in self.batches.pop(0):
            tp = TopicPartition(record.topic, record.partition)
            fetched.setdefault(tp, []).append(record)
            self.positions[tp] = record.offset + 1
        return fetched


@dataclass
class ManualClock:
    """A `Clock` that stands still until a test moves it."""

    moment: datetime

    def now(self) -> datetime:
        return self.moment

    def advance(self, by: timedelta) -> None:
        self.moment += by
