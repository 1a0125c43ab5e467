"""The ports of the matcher: the state the handlers write through, and the shard transaction.

`ShardRepository` is what `ShardMatcher`'s handlers read and write (a PostgreSQL transaction
in production, a dict in unit tests). `ShardUnitOfWork` is the transaction the shard's poll
loop drives around them: the state, the events the handlers return, the dead letters and
the input offsets commit together or not at all (the protocol: `adapters.exactly_once`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from koppel.cloudevents import CloudEvent
from koppel.contract import Assignment
from koppel_matcher.domain.answers import StoredAnswer
from koppel_matcher.domain.dedup import LedgerEntry

Partition = tuple[str, int]
"""A topic partition: (topic, partition number)."""

DeadLetter = tuple[str, bytes | None, bytes | None, list[tuple[str, bytes]]]
"""Topic, key, value and headers of a dead letter."""


class ShardRepository(Protocol):
    """The state changes of one shard transaction."""

    async def ledger_for_assignment(self, assignment_id: str) -> dict[str, LedgerEntry]: ...

    async def ledger_for_consultant(self, consultant_id: str) -> dict[str, LedgerEntry]: ...

    async def put_entries(self, entries: Sequence[tuple[LedgerEntry, str | None]]) -> None: ...

    async def put_profile(
        self, consultant_id: str, language: str, document: Any, wakeup_at: datetime | None = None
    ) -> None:
        """Store the profile with the moment its next commitment ends (None: none ends)."""
        ...

    async def due_wakeups(self, now: datetime, limit: int) -> list[str]:
        """Up to `limit` consultants of the shard whose wake-up is at or before `now`, the
        earliest first."""
        ...

    async def set_wakeup(self, consultant_id: str, wakeup_at: datetime | None) -> None:
        """Move the stored profile's next wake-up (None: nothing left to wake up for)."""
        ...

    async def delete_profile(self, consultant_id: str) -> None: ...

    async def erased_at(self, consultant_id: str) -> datetime | None: ...

    async def erase_consultant(self, consultant_id: str, erased_at: datetime) -> None: ...

    async def put_assignment(self, assignment: Assignment) -> None: ...

    async def answer_for(self, consultant_id: str, assignment_id: str) -> StoredAnswer | None: ...

    async def put_answer(self, answer: StoredAnswer) -> None: ...

    async def delete_answer(self, consultant_id: str, assignment_id: str) -> None: ...


@dataclass(frozen=True, slots=True)
class TakeOver:
    """What the new owner of a shard starts from."""

    partitions: tuple[Partition, ...]
    """The shard's consultant partition, then every partition of the assignment and the
    response topics."""
    committed: dict[Partition, int]
    """The committed offset of each partition that has one."""
    shard_count: int
    epoch: int
    seq: int
    recovery: str
    """What the take-over repaired (`adapters.exactly_once.Recovery`)."""
    assignments: list[dict[str, Any]]
    """The shard's stored assignments, as documents."""
    profiles: list[dict[str, Any]]
    """The shard's stored profiles, as documents (`entrypoints.translation.PROFILE_FIELDS`)."""
    declined: list[tuple[str, str]] = field(default_factory=list)
    """The (consultant id, assignment id) pairs whose answer is `not_interested`."""
    next_wakeup: datetime | None = None
    """The earliest stored wake-up of the shard's profiles (a commitment's end moment)."""


class ShardUnitOfWork(Protocol):
    """One shard's transactions, one open at a time, from take-over to close."""

    async def take_over(self) -> TakeOver:
        """Fence the previous owner, repair the shard's state, read its committed offsets."""
        ...

    async def begin(self) -> ShardRepository:
        """Open the next transaction; its state changes go through the repository returned."""
        ...

    def publish(self, key: str, event: CloudEvent) -> None:
        """Publish `event` on `koppel.matches.v1` when the open transaction commits."""
        ...

    def dead_letter(self, letter: DeadLetter) -> None:
        """Produce `letter` when the open transaction commits."""
        ...

    async def commit(self, offsets: Mapping[Partition, int]) -> None:
        """Commit the open transaction, with `offsets` as the shard's next positions."""
        ...

    async def has_found(self, assignment_ids: Sequence[str]) -> bool:
        """Any published, not withdrawn match of these assignments in the shard (read outside
        the transaction)."""
        ...

    async def next_wakeup(self) -> datetime | None:
        """The earliest stored wake-up of the shard (read outside the transaction)."""
        ...

    async def abort(self, exc: BaseException) -> None:
        """Roll the open transaction back after `exc` (no-op when none is open)."""
        ...

    async def close(self) -> None: ...


class Clock(Protocol):
    """What time it is: everything that depends on the moment (filters, deadlines, the
    capacity schedule) asks this port, never the system directly."""

    def now(self) -> datetime:
        """The current moment, timezone-aware."""
        ...
