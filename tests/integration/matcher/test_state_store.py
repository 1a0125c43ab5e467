"""The undo log of `StateStore`: a shard whose last transaction never reached Kafka is put
back exactly, and one whose transaction did reach Kafka is left alone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from koppel.migrations import migrate
from koppel.vocabulary import Answer
from koppel_matcher.adapters.exactly_once import Recovery
from koppel_matcher.adapters.state_store import ShardFencedError, StateStore, create_pool
from koppel_matcher.domain.answers import StoredAnswer
from koppel_matcher.domain.dedup import LedgerEntry, MatchState
from koppel_matcher.entrypoints.translation import profile_document
from koppel_testing.builders import assignment, consultant

pytestmark = pytest.mark.integration

Store = tuple[StateStore, asyncpg.Pool]


def entry(consultant: str, assignment: str, state: MatchState, revision: int) -> LedgerEntry:
    return LedgerEntry(
        consultant_id=consultant,
        assignment_id=assignment,
        match_id=f"m-{consultant}-{assignment}",
        state=state,
        revision=revision,
        score=0.5 + revision / 100,
        reasons=(f"reden {revision}",),
        language="nl",
        fingerprint=f"f{revision}",
        announced={"title": f"Titel {revision}", "duration_months": revision},
    )


def answer(consultant: str, assignment: str, response: Answer, minute: int) -> StoredAnswer:
    return StoredAnswer(
        consultant_id=consultant,
        assignment_id=assignment,
        match_id=f"m-{consultant}-{assignment}",
        response=response,
        reason="hours" if response is Answer.NOT_INTERESTED else None,
        responded_at=datetime(2026, 12, 1, 9, minute, tzinfo=UTC),
    )


async def snapshot(pool: asyncpg.Pool) -> dict[str, list[dict[str, Any]]]:
    async with pool.acquire() as db:
        return {
            table: [dict(row) for row in await db.fetch(f"SELECT * FROM {table} ORDER BY 1, 2")]  # noqa: S608
            for table in (
                "matcher_assignments",
                "matcher_profiles",
                "matcher_matches",
                "matcher_erasures",
                "matcher_responses",
            )
        }


@pytest.fixture
async def store(fresh_database: str) -> AsyncIterator[Store]:
    await migrate(fresh_database, service="matcher", package="koppel_matcher.migrations")
    pool = await create_pool(fresh_database)
    try:
        yield StateStore(pool), pool
    finally:
        await pool.close()


async def test_a_transaction_kafka_never_committed_is_undone(store: Store) -> None:
    state, pool = store
    epoch, plan = await state.take_over(2, None)
    assert (epoch, plan.action, plan.seq) == (1, Recovery.CONSISTENT, 0)
    kept_profile, erased_profile = consultant("c-kept"), consultant("c-erased")
    async with state.transaction(2, epoch=epoch, seq=1) as tx:
        await tx.put_assignment(assignment("a-1"))
        await tx.put_profile("c-kept", "nl", profile_document(kept_profile))
        await tx.put_profile("c-erased", "nl", profile_document(erased_profile))
        await tx.put_entries(
            [
                (entry("c-kept", "a-1", MatchState.FOUND, 1), None),
                (entry("c-erased", "a-1", MatchState.FOUND, 1), None),
            ]
        )
        await tx.put_answer(answer("c-kept", "a-1", Answer.NOT_INTERESTED, 0))
        await tx.put_answer(answer("c-erased", "a-1", Answer.INTERESTED, 0))
    before = await snapshot(pool)
    assert await state.load_declined(2) == [("c-kept", "a-1")]

    # Transaction 2 reaches the database but its Kafka transaction is lost.
    async with state.transaction(2, epoch=epoch, seq=2) as tx:
        await tx.put_assignment(assignment("a-1", status="filled"))
        await tx.put_assignment(assignment("a-2"))
        await tx.put_entries([(entry("c-kept", "a-1", MatchState.WITHDRAWN, 1), "x")])
        await tx.put_entries([(entry("c-kept", "a-1", MatchState.FOUND, 2), None)])
        await tx.put_profile("c-kept", "nl", profile_document(consultant("c-kept", level="junior")))
        await tx.put_answer(answer("c-kept", "a-1", Answer.INTERESTED, 1))
        await tx.delete_answer("c-kept", "a-1")
        await tx.put_answer(answer("c-kept", "a-2", Answer.NOT_INTERESTED, 2))
        # The erasure record is part of the transaction: undone with it.
        await tx.erase_consultant("c-erased", datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
        assert tx.forgotten_matches == ["m-c-erased-a-1"]
        assert await tx.answer_for("c-erased", "a-1") is None
    assert await snapshot(pool) != before
    assert await state.load_declined(2) == [("c-kept", "a-2")]

    epoch2, plan = await state.take_over(2, 1)
    assert (epoch2, plan.action, plan.seq) == (2, Recovery.UNDO_LAST, 1)
    assert await snapshot(pool) == before
    async with state.transaction(2, epoch=epoch2, seq=2) as tx:
        assert await tx.answer_for("c-kept", "a-1") == answer(
            "c-kept", "a-1", Answer.NOT_INTERESTED, 0
        )
        assert (await tx.ledger_for_consultant("c-kept"))["a-1"] == entry(
            "c-kept", "a-1", MatchState.FOUND, 1
        )

    # The old owner is fenced in the database.
    with pytest.raises(ShardFencedError):
        async with state.transaction(2, epoch=epoch, seq=2):
            pass


async def test_a_transaction_kafka_committed_is_kept(store: Store) -> None:
    state, pool = store
    epoch, _ = await state.take_over(0, None)
    async with state.transaction(0, epoch=epoch, seq=1) as tx:
        await tx.put_assignment(assignment("a-1"))
        await tx.put_entries([(entry("c-1", "a-1", MatchState.FOUND, 1), None)])
    after = await snapshot(pool)
    _, plan = await state.take_over(0, 1)
    assert plan.action is Recovery.CONSISTENT
    assert await snapshot(pool) == after
    async with pool.acquire() as db:
        assert await db.fetchval("SELECT count(*) FROM matcher_undo") == 0


async def test_wake_ups_are_found_by_time_moved_with_their_profile_and_undone(
    store: Store,
) -> None:
    state, pool = store
    early = datetime(2026, 12, 10, 23, 0, tzinfo=UTC)
    late = datetime(2027, 1, 31, 23, 0, tzinfo=UTC)
    document = profile_document(consultant("c-early"))
    epoch, _ = await state.take_over(3, None)
    async with state.transaction(3, epoch=epoch, seq=1) as tx:
        await tx.put_profile("c-early", "nl", document, early)
        await tx.put_profile("c-late", "nl", document, late)
        await tx.put_profile("c-none", "nl", document)
    assert await state.next_wakeup(3) == early
    assert await state.next_wakeup(4) is None
    before = await snapshot(pool)

    # Transaction 2 wakes both and erases one, but its Kafka transaction is lost.
    async with state.transaction(3, epoch=epoch, seq=2) as tx:
        assert await tx.due_wakeups(early - timedelta(microseconds=1), 10) == []
        assert await tx.due_wakeups(late, 1) == ["c-early"]
        assert await tx.due_wakeups(late, 10) == ["c-early", "c-late"]
        await tx.set_wakeup("c-early", None)
        await tx.erase_consultant("c-late", datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
        assert await tx.due_wakeups(late, 10) == []
    assert await state.next_wakeup(3) is None

    _, plan = await state.take_over(3, 1)
    assert plan.action is Recovery.UNDO_LAST
    assert await snapshot(pool) == before
    assert await state.next_wakeup(3) == early
