"""The capacity schedule against in-memory fakes and a clock the tests move: a consultant
whose commitment ends is matched again at its end moment, once, and nothing else wakes.

The wire builders' assignment (24-32 hours) starts on 7 December 2026; the consultant
(24-32 hours) holds 24 of them until `UNTIL`, so the pair fits only from the end moment on.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY

from koppel.contract import ConsultantProfile
from koppel.topics import ASSIGNMENTS, CONSULTANTS
from koppel_matcher.domain.commitment_ends import next_end_moment
from koppel_matcher.domain.instants import end_moment
from koppel_matcher.entrypoints.kafka_consumer import ShardConsumer, WorkKey
from koppel_matcher.service_layer.capacity_schedule import WAKEUPS_PER_TRANSACTION
from koppel_matcher.service_layer.matching import Outgoing, ShardMatcher
from koppel_testing.matcher_fakes import FakeConsumer, FakeRepository, FakeUnitOfWork, ManualClock
from koppel_testing.matcher_records import (
    config,
    kinds,
    upsert_assignment,
    upsert_profile,
    upserted,
)
from koppel_testing.matcher_specs import Wire

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
UNTIL = date(2026, 12, 10)
END = datetime(2026, 12, 10, 23, 0, tzinfo=UTC)
"""11 December 2026, 00:00 in Amsterdam (CET, UTC+1)."""
LATER = date(2027, 1, 31)
SECOND = timedelta(seconds=1)
CONSULTANTS_0, ASSIGNMENTS_0 = (CONSULTANTS, 0), (ASSIGNMENTS, 0)


def commitment(until: date | None, hours: int = 24) -> dict[str, Any]:
    return {"label": "Gemeente Houten", "hours_per_week": hours, "until": until}


def committed(wire: Wire, *untils: date | None, **changes: Any) -> ConsultantProfile:
    """The wire builders' consultant, holding 24 hours until each of `untils`."""
    return wire.profile(commitments=[commitment(until) for until in untils], **changes)


def found(out: list[Outgoing]) -> list[tuple[str, str]]:
    return [(item.event.type.rsplit(".", 1)[-1], item.key) for item in out]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def matcher(clock: ManualClock) -> ShardMatcher:
    return ShardMatcher(0, clock=clock.now)


@pytest.fixture
def repository() -> FakeRepository:
    return FakeRepository()


def test_an_end_moment_is_the_next_midnight_in_amsterdam() -> None:
    assert end_moment(UNTIL) == END
    assert end_moment(date(2026, 7, 1)) == datetime(2026, 7, 1, 22, 0, tzinfo=UTC)  # CEST
    untils = [None, UNTIL.toordinal(), LATER.toordinal()]
    assert next_end_moment(untils, NOW) == END
    assert next_end_moment(untils, END - SECOND) == END
    assert next_end_moment(untils, END) == end_moment(LATER)
    assert next_end_moment(untils, end_moment(LATER)) is None
    assert next_end_moment([None], NOW) is None


async def test_the_consultant_is_matched_again_once_at_the_end_moment(
    matcher: ShardMatcher, repository: FakeRepository, clock: ManualClock, wire: Wire
) -> None:
    await upsert_assignment(matcher, repository, wire.assignment(), None)
    assert await upsert_profile(matcher, repository, committed(wire, UNTIL), None) == []
    assert repository.wakeups == {"c-1": END}
    assert matcher.wakeups.next_due == END

    clock.moment = END - SECOND
    assert not matcher.wakeups.is_due()
    assert await matcher.capacity_freed(repository) == (0, [])

    clock.moment = END
    assert matcher.wakeups.is_due()
    woken, out = await matcher.capacity_freed(repository)
    assert (woken, found(out)) == (1, [("found", "c-1")])
    assert repository.wakeups == {}

    clock.advance(timedelta(days=1))
    assert await matcher.capacity_freed(repository) == (0, [])


async def test_a_wake_up_moves_on_to_the_next_commitment_end(
    matcher: ShardMatcher, repository: FakeRepository, clock: ManualClock, wire: Wire
) -> None:
    await upsert_profile(matcher, repository, committed(wire, LATER, UNTIL, None), None)
    assert repository.wakeups == {"c-1": END}

    clock.moment = END + timedelta(hours=3)  # a late wake-up is judged at its own moment
    assert (await matcher.capacity_freed(repository))[0] == 1
    assert repository.wakeups == {"c-1": end_moment(LATER)}
    assert matcher.wakeups.next_due == END  # only ever early: the loop re-reads the store


async def test_an_upsert_replaces_the_wake_up_and_consent_or_erasure_removes_it(
    matcher: ShardMatcher, repository: FakeRepository, wire: Wire
) -> None:
    await upsert_profile(matcher, repository, committed(wire, UNTIL), None)
    await upsert_profile(matcher, repository, committed(wire, LATER), None)
    assert repository.wakeups == {"c-1": end_moment(LATER)}
    await upsert_profile(matcher, repository, committed(wire, None), None)
    assert repository.wakeups == {}

    await upsert_profile(matcher, repository, committed(wire, UNTIL), None)
    await upsert_profile(matcher, repository, committed(wire, UNTIL, consent=False), None)
    assert repository.wakeups == {}

    await upsert_profile(matcher, repository, committed(wire, UNTIL), None)
    await matcher.consultant_erased(repository, "c-1", None, NOW)
    assert repository.wakeups == {}
    assert await matcher.capacity_freed(repository) == (0, [])


async def test_a_commitment_ended_already_schedules_nothing_and_blocks_nothing(
    matcher: ShardMatcher, repository: FakeRepository, clock: ManualClock, wire: Wire
) -> None:
    clock.moment = END
    await upsert_assignment(matcher, repository, wire.assignment(), None)
    out = await upsert_profile(matcher, repository, committed(wire, UNTIL), None)
    assert found(out) == [("found", "c-1")]
    assert repository.wakeups == {}


async def test_many_wake_ups_at_one_moment_go_a_transaction_at_a_time(
    matcher: ShardMatcher, repository: FakeRepository, clock: ManualClock, wire: Wire
) -> None:
    count = WAKEUPS_PER_TRANSACTION + 5
    for n in range(count):
        await upsert_profile(matcher, repository, committed(wire, UNTIL, id=f"c-{n}"), None)
    clock.moment = END
    assert (await matcher.capacity_freed(repository))[0] == WAKEUPS_PER_TRANSACTION
    assert (await matcher.capacity_freed(repository))[0] == 5
    assert repository.wakeups == {}


def sample(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


async def test_the_poll_loop_wakes_up_in_a_transaction_of_its_own(
    clock: ManualClock, wire: Wire
) -> None:
    uow = FakeUnitOfWork([CONSULTANTS_0, ASSIGNMENTS_0])
    stopping = asyncio.Event()
    kafka = FakeConsumer(
        [
            [upserted(ASSIGNMENTS_0, 0, wire.assignment())],
            [upserted(CONSULTANTS_0, 0, committed(wire, UNTIL))],
        ],
        stopping,
    )
    shard = ShardConsumer(0, config(clock=clock), uow, Counter(), consumer=lambda *_a, **_o: kafka)
    await shard.open()
    try:
        await shard.run(stopping)
        assert [kinds(commit.events) for commit in uow.commits] == [[], []]
        before = sample("koppel_matcher_capacity_wakeups_total") or 0.0

        clock.moment = END
        kafka.batches, stopping = [[]], asyncio.Event()
        kafka.stopping = stopping
        await shard.run(stopping)
        wake_up = uow.commits[-1]
        assert kinds(wake_up.events) == [("found", "c-1", 1)]
        assert wake_up.offsets == {CONSULTANTS_0: 1, ASSIGNMENTS_0: 1}
        assert sample("koppel_matcher_capacity_wakeups_total") == before + 1
        assert sample("koppel_matcher_next_wakeup_timestamp_seconds", shard="0") == 0

        commits = len(uow.commits)
        clock.advance(timedelta(days=40))
        kafka.batches, stopping = [[]], asyncio.Event()
        kafka.stopping = stopping
        await shard.run(stopping)
        assert all(commit.events == [] for commit in uow.commits[commits:])
    finally:
        await shard.close()


async def test_a_wake_up_that_kept_failing_the_shard_is_set_aside_and_moves_on(
    clock: ManualClock, wire: Wire
) -> None:
    """After `poison_after_failures` failures of one consultant's wake-up (counted by the
    supervisor across restarts, as for records), the shard moves that wake-up on unmatched
    instead of failing again on every restart."""
    uow = FakeUnitOfWork([CONSULTANTS_0, ASSIGNMENTS_0])
    stopping = asyncio.Event()
    kafka = FakeConsumer(
        [
            [upserted(ASSIGNMENTS_0, 0, wire.assignment())],
            [upserted(CONSULTANTS_0, 0, committed(wire, UNTIL, LATER))],
        ],
        stopping,
    )
    failures: Counter[WorkKey] = Counter({("wakeup", "c-1"): 3})
    shard = ShardConsumer(0, config(clock=clock), uow, failures, consumer=lambda *_a, **_o: kafka)
    await shard.open()
    try:
        await shard.run(stopping)
        before = sample("koppel_matcher_capacity_wakeups_set_aside_total") or 0.0

        clock.moment = END
        kafka.batches, stopping = [[]], asyncio.Event()
        kafka.stopping = stopping
        await shard.run(stopping)
        assert uow.commits[-1].events == []
        assert uow.repository.wakeups == {"c-1": end_moment(LATER)}
        assert sample("koppel_matcher_capacity_wakeups_set_aside_total") == before + 1
        assert shard.current is None
    finally:
        await shard.close()
