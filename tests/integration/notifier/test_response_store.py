"""ResponseStore on a real PostgreSQL: one answer per match, the latest wins, erasure ends it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from koppel.contract import MatchResponded, MatchResponseWithdrawn
from koppel.erasure import erasure_key
from koppel.vocabulary import Answer, AnswerVia, DeclineReason
from koppel_notifier.adapters.response_store import ResponseStore

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def answer(
    match_id: str, response: Answer, at: datetime, consultant_id: str = "c-1"
) -> MatchResponded:
    declining = response is Answer.NOT_INTERESTED
    return MatchResponded(
        match_id=match_id,
        consultant_id=consultant_id,
        assignment_id=f"a-{match_id}",
        response=response,
        reason=DeclineReason.TIMING if declining else None,
        note="Pas na de zomer beschikbaar" if declining else None,
        responded_at=at,
        via=AnswerVia.EMAIL_LINK,
    )


def taken_back(match_id: str, at: datetime) -> MatchResponseWithdrawn:
    return MatchResponseWithdrawn(
        match_id=match_id,
        consultant_id="c-1",
        assignment_id=f"a-{match_id}",
        withdrawn_at=at,
        via=AnswerVia.PAGE,
    )


async def test_the_latest_answer_per_match_is_kept_with_its_reason_and_note(
    pool: asyncpg.Pool,
) -> None:
    store = ResponseStore(pool)
    declined = answer("m-1", Answer.NOT_INTERESTED, NOW + timedelta(minutes=1))
    assert await store.record(answer("m-1", Answer.INTERESTED, NOW))
    assert await store.record(declined)
    assert not await store.record(declined)  # a replay
    assert not await store.record(answer("m-1", Answer.INTERESTED, NOW))  # older
    assert await store.record(answer("m-2", Answer.INTERESTED, NOW))
    assert await store.record(answer("m-3", Answer.INTERESTED, NOW, consultant_id="c-2"))
    assert await store.answer_for("m-1") == declined
    assert await store.answer_for("m-9") is None
    mine = await store.answers_for("c-1")
    assert {match_id: item.response for match_id, item in mine.items()} == {
        "m-1": Answer.NOT_INTERESTED,
        "m-2": Answer.INTERESTED,
    }


async def test_a_withdrawal_removes_only_an_answer_it_is_not_older_than(
    pool: asyncpg.Pool,
) -> None:
    store = ResponseStore(pool)
    await store.record(answer("m-1", Answer.INTERESTED, NOW))
    assert not await store.withdraw(taken_back("m-1", NOW - timedelta(seconds=1)))
    assert await store.answer_for("m-1") is not None
    assert await store.withdraw(taken_back("m-1", NOW))
    assert await store.answer_for("m-1") is None
    assert not await store.withdraw(taken_back("m-1", NOW))


async def test_erasure_deletes_the_answers_and_refuses_older_ones(pool: asyncpg.Pool) -> None:
    store = ResponseStore(pool)
    await store.record(answer("m-1", Answer.INTERESTED, NOW))
    await store.record(answer("m-2", Answer.INTERESTED, NOW, consultant_id="c-2"))
    await store.erase("c-1")
    await pool.execute(
        "INSERT INTO notifier_erasures (consultant_key, erased_at) VALUES ($1, $2)",
        erasure_key("c-1"),
        NOW + timedelta(minutes=1),
    )
    assert await store.answers_for("c-1") == {}
    assert not await store.record(answer("m-1", Answer.INTERESTED, NOW + timedelta(seconds=30)))
    assert await store.record(answer("m-1", Answer.INTERESTED, NOW + timedelta(minutes=2)))
    assert set(await store.answers_for("c-2")) == {"m-2"}
