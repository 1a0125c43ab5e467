"""The shard's poll loop against in-memory fakes of its unit of work and Kafka consumer: what
each record commits, with which offsets, and what a failure leaves behind."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from aiokafka import ConsumerRecord
from aiokafka.partitioner import DefaultPartitioner

from koppel.cloudevents import encode, new_event
from koppel.contract import Assignment, MatchResponded, match_id_for
from koppel.dead_letters import CODE
from koppel.event_types import EventType, Source
from koppel.topics import ASSIGNMENTS, CONSULTANTS, RESPONSES, dlq
from koppel.vocabulary import Answer, AnswerVia
from koppel_matcher.entrypoints.kafka_consumer import ShardConsumer, ShardConsumerConfig, WorkKey
from koppel_testing.matcher_fakes import FakeConsumer, FakeRepository, FakeUnitOfWork
from koppel_testing.matcher_records import config, kinds, raw, upserted
from koppel_testing.matcher_specs import Wire

CONSULTANTS_0 = (CONSULTANTS, 0)
ASSIGNMENTS_0 = (ASSIGNMENTS, 0)
ASSIGNMENTS_1 = (ASSIGNMENTS, 1)
RESPONSES_0 = (RESPONSES, 0)
RESPONSES_1 = (RESPONSES, 1)


def responded(
    partition: tuple[str, int], offset: int, consultant_id: str, match_id: str = ""
) -> ConsumerRecord[bytes, bytes]:
    """The record of `consultant_id` answering `not_interested` to a-1, keyed by match id."""
    data = MatchResponded(
        match_id=match_id or match_id_for("a-1", consultant_id),
        consultant_id=consultant_id,
        assignment_id="a-1",
        response=Answer.NOT_INTERESTED,
        responded_at=datetime(2026, 11, 23, 12, 0, tzinfo=UTC),
        via=AnswerVia.PAGE,
    )
    event = new_event(
        EventType.MATCH_RESPONDED, source=Source.NOTIFIER.value, subject=data.match_id, data=data
    )
    value, headers = encode(event)
    return raw(partition, offset, data.match_id, value, headers)


def consultant_in_shard(shard: int, shards: int) -> str:
    """A consultant id that intake's producer (the default partitioner) sends to `shard`."""
    partitions = list(range(shards))
    partitioner = DefaultPartitioner()
    return next(
        f"c-{n}"
        for n in range(1000)
        if partitioner(f"c-{n}".encode(), partitions, partitions) == shard
    )


Batches = list[list[ConsumerRecord[bytes, bytes]]]


def the_pair(wire: Wire) -> Batches:
    """The wire builders' assignment, then in a later batch their profile, which matches it."""
    return [
        [upserted(ASSIGNMENTS_0, 0, wire.assignment())],
        [upserted(CONSULTANTS_0, 0, wire.profile())],
    ]


async def consume(
    uow: FakeUnitOfWork,
    batches: Batches,
    settings: ShardConsumerConfig | None = None,
    failures: Counter[WorkKey] | None = None,
) -> ShardConsumer:
    """Take shard 0 over and run its loop until the fake consumer has handed out `batches`."""
    async with opened(uow, batches, settings or config(), failures) as (shard, stopping):
        await shard.run(stopping)
    return shard


@asynccontextmanager
async def opened(
    uow: FakeUnitOfWork,
    batches: Batches,
    settings: ShardConsumerConfig,
    failures: Counter[WorkKey] | None,
) -> AsyncIterator[tuple[ShardConsumer, asyncio.Event]]:
    """Shard 0, taken over, on a fake consumer that sets the event once `batches` are out;
    closed on the way out."""
    stopping = asyncio.Event()
    kafka = FakeConsumer(batches, stopping)
    shard = ShardConsumer(
        0,
        settings,
        uow,
        failures if failures is not None else Counter(),
        consumer=lambda *_args, **_options: kafka,
    )
    await shard.open()
    try:
        yield shard, stopping
    finally:
        await shard.close()


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork([CONSULTANTS_0, ASSIGNMENTS_0])


async def test_a_match_commits_with_the_positions_after_its_records(
    uow: FakeUnitOfWork, wire: Wire
) -> None:
    await consume(uow, the_pair(wire))

    first, published = uow.commits
    assert (first.events, first.offsets) == ([], {CONSULTANTS_0: 0, ASSIGNMENTS_0: 0})
    assert kinds(published.events) == [("found", "c-1", 1)]
    assert published.offsets == {CONSULTANTS_0: 1, ASSIGNMENTS_0: 1}
    assert uow.aborted == []
    assert uow.closed


async def test_a_record_whose_key_is_not_its_entity_is_dead_lettered(
    uow: FakeUnitOfWork, wire: Wire
) -> None:
    await consume(uow, [[upserted(CONSULTANTS_0, 0, wire.profile(), key="c-other")]])

    [letter] = uow.commits[-1].dead_letters
    topic, key, _value, headers = letter
    assert (topic, key) == (dlq(CONSULTANTS), b"c-other")
    assert (CODE, b"key_mismatch") in headers
    assert uow.commits[-1].events == []
    assert uow.commits[-1].offsets[CONSULTANTS_0] == 1


async def test_a_bad_assignment_is_dead_lettered_by_one_shard_only() -> None:
    """Every shard reads every assignment partition; partition p % shards dead-letters."""
    uow = FakeUnitOfWork([CONSULTANTS_0, ASSIGNMENTS_0, ASSIGNMENTS_1], shard_count=2)
    await consume(
        uow,
        [[raw(ASSIGNMENTS_0, 0, "a-1", b"not json"), raw(ASSIGNMENTS_1, 0, "a-2", b"not json")]],
    )

    letters = [letter for commit in uow.commits for letter in commit.dead_letters]
    assert [(topic, key) for topic, key, _value, _headers in letters] == [
        (dlq(ASSIGNMENTS), b"a-1")
    ]


async def test_a_batch_publishing_more_than_a_transaction_holds_is_split(
    uow: FakeUnitOfWork, wire: Wire
) -> None:
    await consume(
        uow,
        [
            [
                upserted(ASSIGNMENTS_0, 0, wire.assignment(id="a-1")),
                upserted(ASSIGNMENTS_0, 1, wire.assignment(id="a-2")),
            ],
            [
                upserted(CONSULTANTS_0, 0, wire.profile(id="c-1")),
                upserted(CONSULTANTS_0, 1, wire.profile(id="c-2")),
            ],
        ],
        config(max_events_per_transaction=1),
    )

    split, rest = uow.commits[-2:]
    assert {key for key, _event in split.events} == {"c-1"}
    assert split.offsets == {CONSULTANTS_0: 1, ASSIGNMENTS_0: 2}  # c-2 is read again
    assert {key for key, _event in rest.events} == {"c-2"}
    assert rest.offsets == {CONSULTANTS_0: 2, ASSIGNMENTS_0: 2}
    assert sum(len(commit.events) for commit in uow.commits) == 4


async def test_a_failing_handler_aborts_the_transaction_and_names_the_record(
    uow: FakeUnitOfWork, wire: Wire
) -> None:
    class BrokenRepository(FakeRepository):
        async def put_assignment(self, assignment: Assignment) -> None:
            raise RuntimeError("simulated bug")

    uow.repository = BrokenRepository()
    batches = [[upserted(ASSIGNMENTS_0, 0, wire.assignment())]]
    async with opened(uow, batches, config(), None) as (shard, stopping):
        with pytest.raises(RuntimeError, match="simulated bug"):
            await shard.run(stopping)

    assert shard.current == (ASSIGNMENTS, 0, 0)
    assert [str(exc) for exc in uow.aborted] == ["simulated bug"]
    assert len(uow.commits) == 1  # the take-over's only


async def test_a_record_that_failed_too_often_is_dead_lettered_as_processing_failed(
    uow: FakeUnitOfWork, wire: Wire
) -> None:
    failures: Counter[WorkKey] = Counter({(ASSIGNMENTS, 0, 0): 3})
    await consume(uow, [[upserted(ASSIGNMENTS_0, 0, wire.assignment())]], failures=failures)

    [(_topic, _key, _value, headers)] = uow.commits[-1].dead_letters
    assert (CODE, b"processing_failed") in headers
    assert uow.repository.assignments == {}


async def test_a_tombstone_withdraws_the_consultants_matches(
    uow: FakeUnitOfWork, wire: Wire
) -> None:
    await consume(uow, [*the_pair(wire), [raw(CONSULTANTS_0, 1, "c-1", None)]])

    events = [event for commit in uow.commits for event in commit.events]
    assert kinds(events) == [("found", "c-1", 1), ("withdrawn", "c-1", "consultant_erased")]
    assert uow.repository.ledger == {}
    assert "c-1" in uow.repository.erasures


async def test_a_shard_keeps_only_the_answers_of_its_own_consultants() -> None:
    uow = FakeUnitOfWork([CONSULTANTS_0, ASSIGNMENTS_0, RESPONSES_0, RESPONSES_1], shard_count=2)
    mine, theirs = consultant_in_shard(0, 2), consultant_in_shard(1, 2)
    answers = [responded(RESPONSES_0, 0, theirs), responded(RESPONSES_1, 0, mine)]
    await consume(uow, [answers])

    assert set(uow.repository.answers) == {(mine, "a-1")}
    assert [commit.dead_letters for commit in uow.commits] == [[]] * len(uow.commits)
    assert uow.commits[-1].offsets[RESPONSES_0] == 1


async def test_an_answer_suppresses_the_pairs_next_update(wire: Wire) -> None:
    uow = FakeUnitOfWork([CONSULTANTS_0, ASSIGNMENTS_0, RESPONSES_0])
    await consume(
        uow,
        [
            [upserted(ASSIGNMENTS_0, 0, wire.assignment())],
            [upserted(CONSULTANTS_0, 0, wire.profile(id="c-1"))],
            [upserted(CONSULTANTS_0, 1, wire.profile(id="c-2"))],
            [responded(RESPONSES_0, 0, "c-1")],
            [upserted(ASSIGNMENTS_0, 1, wire.assignment(title="Adviseur"))],
        ],
    )

    events = [event for commit in uow.commits for event in commit.events]
    assert kinds(events) == [("found", "c-1", 1), ("found", "c-2", 1), ("updated", "c-2", 2)]


async def test_a_bad_answer_is_dead_lettered_by_one_shard_only() -> None:
    """Every shard reads every answer; partition p % shards dead-letters a bad one."""
    uow = FakeUnitOfWork([CONSULTANTS_0, ASSIGNMENTS_0, RESPONSES_0, RESPONSES_1], shard_count=2)
    wrong = match_id_for("a-2", "c-1")
    await consume(
        uow,
        [[responded(RESPONSES_0, 0, "c-1", wrong), responded(RESPONSES_1, 0, "c-1", wrong)]],
    )

    letters = [letter for commit in uow.commits for letter in commit.dead_letters]
    [(topic, key, _value, headers)] = letters
    assert (topic, key) == (dlq(RESPONSES), wrong.encode())
    assert (CODE, b"invalid_payload") in headers
    assert uow.repository.answers == {}


async def test_a_tombstone_on_the_answers_is_passed_over() -> None:
    uow = FakeUnitOfWork([CONSULTANTS_0, ASSIGNMENTS_0, RESPONSES_0])
    await consume(uow, [[raw(RESPONSES_0, 0, match_id_for("a-1", "c-1"), None)]])

    assert [commit.dead_letters for commit in uow.commits] == [[]] * len(uow.commits)
    assert uow.commits[-1].offsets[RESPONSES_0] == 1
