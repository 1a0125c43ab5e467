"""The processing guarantee and scale-out, with the matcher running as real processes.

Every consultant here fits every assignment, so the expected events are known exactly:
one `match.found` per pair, then one `match.withdrawn` per pair of each closed assignment.
"""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime

import pytest

from koppel.cloudevents import CloudEvent
from koppel.vocabulary import CloseReason
from koppel_matcher.domain.evaluate import evaluate
from koppel_matcher.entrypoints.translation import assignment_spec, profile_document, profile_spec
from koppel_testing.builders import assignment, consultant
from koppel_testing.integration_matcher import (
    Brief,
    SpawnMatcher,
    one_consultant_per_shard,
    wait_exactly,
)
from koppel_testing.kafka_publishing import TopicWriter
from koppel_testing.kafka_reading import Collector

Matches = Collector[CloudEvent]
Ids = tuple[list[str], list[str]]

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CONSULTANTS = 30
ASSIGNMENTS = 8
CLOSED = 2


def ids(unique_id: str) -> Ids:
    consultants = [f"c{n:02d}-{unique_id}" for n in range(CONSULTANTS)]
    assignments = [f"a{n}-{unique_id}" for n in range(ASSIGNMENTS)]
    return consultants, assignments


def expected_found(consultants: list[str], assignments: list[str]) -> set[Brief]:
    return {("found", c, a, 1) for c in consultants for a in assignments}


def expected_withdrawn(consultants: list[str], assignments: list[str]) -> set[Brief]:
    closed = assignments[:CLOSED]
    return {("withdrawn", c, a, "assignment_filled") for c in consultants for a in closed}


async def close_and_expect_withdrawals(
    publisher: TopicWriter, matches: Matches, unique_id: str, ids_: Ids
) -> list[CloudEvent]:
    consultants, assignments = ids_
    for assignment_id in assignments[:CLOSED]:
        await publisher.close(assignment_id, CloseReason.FILLED)
    expected = expected_found(consultants, assignments) | expected_withdrawn(
        consultants, assignments
    )
    return await wait_exactly(matches, expected, unique_id)


async def publish_profiles(
    publisher: TopicWriter, consultants: list[str], pause: float = 0.01
) -> None:
    for consultant_id in consultants:
        await publisher.profile(consultant(consultant_id))
        await asyncio.sleep(pause)


async def test_sigkill_mid_stream_loses_and_duplicates_nothing(
    spawn: SpawnMatcher, publisher: TopicWriter, matches: Matches, unique_id: str
) -> None:
    consultants, assignments = ids(unique_id)
    first = spawn()
    await first.wait_ready()
    for assignment_id in assignments:
        await publisher.assignment(assignment(assignment_id))
    await publish_profiles(publisher, consultants[:12])
    first.kill()  # SIGKILL while the matcher is working through the stream
    await publish_profiles(publisher, consultants[12:])

    second = spawn()
    await second.wait_ready()
    await wait_exactly(matches, expected_found(consultants, assignments), unique_id)
    await close_and_expect_withdrawals(publisher, matches, unique_id, (consultants, assignments))


async def test_crash_between_database_and_kafka_commit_is_repaired(
    spawn: SpawnMatcher, publisher: TopicWriter, matches: Matches, unique_id: str
) -> None:
    consultants, assignments = ids(unique_id)
    first = spawn(crash_after_db_commits=3)
    await first.wait_ready()
    for assignment_id in assignments:
        await publisher.assignment(assignment(assignment_id))
    await publish_profiles(publisher, consultants)
    assert await first.wait_exit() == -signal.SIGKILL

    second = spawn()
    await second.wait_ready()
    await wait_exactly(matches, expected_found(consultants, assignments), unique_id)
    assert "shard_rolled_back" in second.log()
    await close_and_expect_withdrawals(publisher, matches, unique_id, (consultants, assignments))


async def test_a_batch_publishing_more_than_a_transaction_holds_is_split_safely(
    spawn: SpawnMatcher, publisher: TopicWriter, matches: Matches, unique_id: str
) -> None:
    """A backlog of profiles, each matching every assignment, read with at most 2 events per
    transaction: every profile record ends a transaction, with the offsets of the records
    handled so far. A crash right after one of those database commits (before its Kafka
    commit) loses and duplicates nothing, and the next owner goes on splitting."""
    consultants, assignments = ids(unique_id)
    first = spawn()
    await first.wait_ready()
    for assignment_id in assignments:
        await publisher.assignment(assignment(assignment_id))
    first.stop()
    await publish_profiles(publisher, consultants, pause=0)

    second = spawn(MATCHER_MAX_EVENTS_PER_TRANSACTION="2", crash_after_db_commits=4)
    # Start-up alone took 9-11 s on a loaded 2-core machine: a deadline, not a poll count.
    assert await second.wait_exit(within=90) == -signal.SIGKILL
    assert "transaction_split" in second.log()

    third = spawn(MATCHER_MAX_EVENTS_PER_TRANSACTION="2")
    await third.wait_ready()
    await wait_exactly(matches, expected_found(consultants, assignments), unique_id)
    assert "transaction_split" in third.log()


async def test_two_replicas_share_the_shards_and_publish_each_event_once(
    spawn: SpawnMatcher, publisher: TopicWriter, matches: Matches, unique_id: str, kafka: str
) -> None:
    consultants, assignments = ids(unique_id)
    # Published once both replicas are ready, one per shard: each replica owns a shard, so
    # each must publish. (Random ids alone could all land on one replica's shards.)
    everywhere = await one_consultant_per_shard(kafka, unique_id)
    first = spawn("r1")
    await first.wait_ready()
    for assignment_id in assignments:
        await publisher.assignment(assignment(assignment_id))
    await publish_profiles(publisher, consultants[:10])
    second = spawn("r2")  # joins mid-stream: the group rebalances while events flow
    await publish_profiles(publisher, consultants[10:20], pause=0.1)
    await second.wait_ready()
    await first.wait_ready()
    await publish_profiles(publisher, consultants[20:] + everywhere)
    consultants += everywhere
    await wait_exactly(matches, expected_found(consultants, assignments), unique_id)
    assert await first.emitted() > 0
    assert await second.emitted() > 0
    # The second replica leaves (SIGTERM): its shards move back while the closes flow.
    second.stop()
    assert "matcher_stopped" in second.log()  # finished its transactions, left the group
    events = await close_and_expect_withdrawals(
        publisher, matches, unique_id, (consultants, assignments)
    )

    # The same scores a single evaluation of each pair gives.
    now = datetime.now(UTC)
    for event in events:
        if event.type.endswith("found"):
            data = event.data
            pair = evaluate(
                assignment_spec(assignment(data["assignment"]["id"])),
                profile_spec(profile_document(consultant(data["consultant_id"]))),
                now,
            )
            assert pair is not None
            assert data["score"] == pair.score
            assert data["reasons"] == list(pair.reasons)
