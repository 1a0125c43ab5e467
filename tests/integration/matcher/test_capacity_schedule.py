"""Capacity frees itself (contract §8.4): when a commitment's end moment passes, the matcher
matches the consultant again without any upstream event, exactly once, also across a crash
in the middle of that wake-up and with two replicas, one of them SIGKILLed at that moment.

The matcher processes run on a clock the test moves (`koppel_testing.faked_clock`): it
starts fifteen minutes before the end of a commitment running through D, yesterday in
Amsterdam (room for a slow start on a loaded machine), and is then set just past D + 1,
00:00, so the faked time never runs ahead of the real one (the records the matchers
produce carry it). Each consultant holds 24 of
their 24-32 hours until D, which leaves the assignment (28-32 hours, starting on D) no
room; from D + 1 on it fits.
"""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from koppel.cloudevents import CloudEvent
from koppel_matcher.domain.instants import AMSTERDAM, end_moment
from koppel_testing.builders import assignment, consultant
from koppel_testing.faked_clock import FakedClock, needs_libfaketime
from koppel_testing.integration_matcher import (
    Brief,
    MatcherProcess,
    SpawnMatcher,
    one_consultant_per_shard,
    ours,
    wait_exactly,
)
from koppel_testing.kafka_publishing import TopicWriter
from koppel_testing.kafka_reading import Collector

Matches = Collector[CloudEvent]

pytestmark = [pytest.mark.integration, pytest.mark.slow, needs_libfaketime]

LAST_DAY = datetime.now(AMSTERDAM).date() - timedelta(days=1)
"""D: the last day the consultants' commitments run."""
END = end_moment(LAST_DAY)


@pytest.fixture
def clock(tmp_path: Path) -> FakedClock:
    return FakedClock(tmp_path / "faketime", END - timedelta(minutes=15))


async def publish_blocked(
    publisher: TopicWriter, assignment_id: str, consultant_ids: list[str]
) -> None:
    """The assignment, and consultants whose commitment until D leaves it no room."""
    await publisher.assignment(assignment(assignment_id, start_date=LAST_DAY.isoformat()))
    commitment = {"label": "Gemeente Houten", "hours_per_week": 24, "until": str(LAST_DAY)}
    for consultant_id in consultant_ids:
        await publisher.profile(
            consultant(consultant_id, available_from=LAST_DAY.isoformat(), commitments=[commitment])
        )


async def wait_scheduled(database: str, consultant_ids: list[str]) -> None:
    """Until every consultant's profile is committed with its wake-up at the end moment."""
    deadline = time.monotonic() + 60
    connection = await asyncpg.connect(database)
    try:
        while True:
            rows = await connection.fetch(
                "SELECT wakeup_at FROM matcher_profiles WHERE consultant_id = ANY($1::text[])",
                consultant_ids,
            )
            if len(rows) == len(consultant_ids) and all(r["wakeup_at"] == END for r in rows):
                return
            assert time.monotonic() < deadline, f"not scheduled: {rows}"
            await asyncio.sleep(0.2)
    finally:
        await connection.close()


async def wake_ups_left(database: str, consultant_ids: list[str]) -> int:
    connection = await asyncpg.connect(database)
    try:
        left: int = await connection.fetchval(
            "SELECT count(*) FROM matcher_profiles"
            " WHERE consultant_id = ANY($1::text[]) AND wakeup_at IS NOT NULL",
            consultant_ids,
        )
        return left
    finally:
        await connection.close()


async def nothing_matched_yet(matches: Matches, unique_id: str) -> None:
    assert ours(await matches.settle(1.0), unique_id) == []


def found(consultant_ids: list[str], assignment_id: str) -> set[Brief]:
    return {("found", consultant_id, assignment_id, 1) for consultant_id in consultant_ids}


async def woken(process: MatcherProcess) -> float:
    return sum(await process.samples("koppel_matcher_capacity_wakeups_total "))


async def test_a_commitment_ending_matches_the_consultant_once_at_its_end_moment(
    spawn: SpawnMatcher,
    publisher: TopicWriter,
    matches: Matches,
    unique_id: str,
    fresh_database: str,
    clock: FakedClock,
) -> None:
    consultants, assignment_id = [f"c-{unique_id}"], f"a-{unique_id}"
    matcher = spawn(environment=clock.environment())
    await matcher.wait_ready()
    await publish_blocked(publisher, assignment_id, consultants)
    await wait_scheduled(fresh_database, consultants)
    assert END.timestamp() in await matcher.samples("koppel_matcher_next_wakeup_timestamp_seconds{")
    await nothing_matched_yet(matches, unique_id)

    clock.set(END + timedelta(seconds=2))
    [event] = await wait_exactly(matches, found(consultants, assignment_id), unique_id)
    assert event.time is not None
    assert END <= event.time < datetime.now(AMSTERDAM)  # stamped by the process's faked clock
    assert await woken(matcher) == 1
    assert await wake_ups_left(fresh_database, consultants) == 0
    assert END.timestamp() not in await matcher.samples(
        "koppel_matcher_next_wakeup_timestamp_seconds{"
    )


async def test_a_crash_between_the_wake_ups_two_commits_neither_loses_nor_repeats_it(
    spawn: SpawnMatcher,
    publisher: TopicWriter,
    matches: Matches,
    unique_id: str,
    fresh_database: str,
    clock: FakedClock,
) -> None:
    """The first matcher SIGKILLs itself right after the database commit of the wake-up's
    transaction, before its Kafka commit; the next one undoes it and wakes up again."""
    consultants, assignment_id = [f"c-{unique_id}"], f"a-{unique_id}"
    first = spawn(crash_after_db_commits=1, environment=clock.environment())
    await first.wait_ready()
    await publish_blocked(publisher, assignment_id, consultants)
    await wait_scheduled(fresh_database, consultants)
    await nothing_matched_yet(matches, unique_id)

    clock.set(END + timedelta(seconds=2))
    assert await first.wait_exit(within=60) == -signal.SIGKILL
    assert "capacity_wakeups" not in first.log()  # it died before the Kafka commit

    second = spawn(environment=clock.environment())
    await second.wait_ready()
    await wait_exactly(matches, found(consultants, assignment_id), unique_id)
    assert "shard_rolled_back" in second.log()
    assert await woken(second) == 1


async def test_two_replicas_wake_each_consultant_once_when_one_is_killed_at_that_moment(
    spawn: SpawnMatcher,
    publisher: TopicWriter,
    matches: Matches,
    unique_id: str,
    fresh_database: str,
    clock: FakedClock,
    kafka: str,
) -> None:
    """A consultant on every shard, so that both replicas hold wake-ups; the second is
    SIGKILLed as the end moment passes, and the first takes its shards over."""
    consultants, assignment_id = await one_consultant_per_shard(kafka, unique_id), f"a-{unique_id}"
    first = spawn("r1", environment=clock.environment())
    await first.wait_ready()
    second = spawn("r2", environment=clock.environment())
    await second.wait_ready()
    await first.wait_ready()
    await publish_blocked(publisher, assignment_id, consultants)
    await wait_scheduled(fresh_database, consultants)
    for replica in (first, second):
        scheduled = await replica.samples("koppel_matcher_next_wakeup_timestamp_seconds{")
        assert END.timestamp() in scheduled, "each replica owns shards with wake-ups"
    await nothing_matched_yet(matches, unique_id)

    clock.set(END + timedelta(seconds=2))
    second.kill()
    await wait_exactly(matches, found(consultants, assignment_id), unique_id, settle=10.0)
    assert await wake_ups_left(fresh_database, consultants) == 0
    assert 1 <= await woken(first) <= len(consultants)
