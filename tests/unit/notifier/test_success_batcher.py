"""Webhook successes are written in batches, and each sender learns when its own is stored."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

from koppel_notifier.domain.model import ChannelName, Delivery, Kind
from koppel_notifier.entrypoints.success_batcher import SuccessBatcher

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class FakeStore:
    def __init__(self, *, failing: bool = False) -> None:
        self.batches: list[list[str]] = []
        self._failing = failing

    async def delivered_many(
        self, items: Sequence[tuple[Delivery, Sequence[str]]], *, now: datetime
    ) -> None:
        if self._failing:
            raise ConnectionError("database gone")
        self.batches.append([delivery.id for delivery, _ in items])


def delivery(number: int) -> Delivery:
    return Delivery(
        id=f"d-{number}",
        consultant_id="c-1",
        channel=ChannelName.WEBHOOK,
        kind=Kind.FOUND,
        match_ids=("m-1",),
        payload={},
        occurred_at=NOW,
        created_at=NOW,
        attempts=1,
        contact=None,
    )


async def _running(batcher: SuccessBatcher) -> asyncio.Task[None]:
    task = asyncio.create_task(batcher.run())
    await asyncio.sleep(0)
    return task


async def _stop(runner: asyncio.Task[None]) -> None:
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)


async def test_successes_arriving_together_share_one_write_and_all_return() -> None:
    store = FakeStore()
    batcher = SuccessBatcher(store, lambda: NOW, max_wait_s=0.05)
    runner = await _running(batcher)
    try:
        await asyncio.wait_for(
            asyncio.gather(*(batcher.record(delivery(n), ["m-1"]) for n in range(5))), 2
        )
        await asyncio.wait_for(batcher.record(delivery(5), ["m-1"]), 2)
    finally:
        await _stop(runner)
    assert store.batches == [[f"d-{n}" for n in range(5)], ["d-5"]]


async def test_a_batch_holds_at_most_max_batch() -> None:
    store = FakeStore()
    batcher = SuccessBatcher(store, lambda: NOW, max_batch=3, max_wait_s=0.01)
    runner = await _running(batcher)
    try:
        await asyncio.wait_for(
            asyncio.gather(*(batcher.record(delivery(n), ["m-1"]) for n in range(7))), 2
        )
    finally:
        await _stop(runner)
    assert [len(batch) for batch in store.batches] == [3, 3, 1]


async def test_a_failed_write_is_raised_to_every_sender_in_the_batch() -> None:
    batcher = SuccessBatcher(FakeStore(failing=True), lambda: NOW)
    runner = await _running(batcher)
    try:
        results = await asyncio.gather(
            *(batcher.record(delivery(n), ["m-1"]) for n in range(2)), return_exceptions=True
        )
    finally:
        await _stop(runner)
    assert [type(result) for result in results] == [ConnectionError, ConnectionError]
