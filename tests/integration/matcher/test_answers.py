"""The consultants' answers in the matcher, on real Kafka and PostgreSQL: `not_interested`
silences a pair until it is taken back, exactly once across a crash, and erasure removes
the answers from the table and, by tombstones, from `koppel.responses.v1` (contract §8.1)."""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from koppel.cloudevents import CloudEvent, new_event
from koppel.contract import MatchResponded, match_id_for
from koppel.event_types import EventType, Source
from koppel.topics import CONSULTANTS, RESPONSES, dlq
from koppel.vocabulary import Answer, AnswerVia, DeclineReason
from koppel_matcher.adapters.match_queries import MatchQueries, MatchResponse
from koppel_matcher.bootstrap import Matcher
from koppel_testing.builders import assignment, consultant
from koppel_testing.integration_matcher import SpawnMatcher, brief, found_pair, neighbour
from koppel_testing.integration_waiting import Wait
from koppel_testing.kafka_publishing import TopicWriter
from koppel_testing.kafka_reading import Collector, Record

pytestmark = pytest.mark.integration


async def stored_answer(database: str, consultant_id: str) -> str | None:
    """The answer `matcher_responses` holds for the consultant (one pair here), or None."""
    db = await asyncpg.connect(database)
    try:
        value: str | None = await db.fetchval(
            "SELECT response FROM matcher_responses WHERE consultant_id = $1", consultant_id
        )
        return value
    finally:
        await db.close()


def changed(event: CloudEvent) -> list[str]:
    fields: list[str] = event.data["changed"]
    return fields


async def test_not_interested_silences_the_pair_until_taken_back(
    matcher: Matcher,
    publisher: TopicWriter,
    matches: Collector[CloudEvent],
    unique_id: str,
    fresh_database: str,
    wait: Wait,
) -> None:
    a, c1, c2 = f"a-{unique_id}", f"c1-{unique_id}", f"c2-{unique_id}"
    now = datetime.now(UTC)
    await publisher.assignment(assignment(a))
    await publisher.profile(consultant(c1))
    await publisher.profile(consultant(c2))
    await matches.wait_for(2)

    await publisher.responded(
        c1, a, Answer.NOT_INTERESTED, now, via=AnswerVia.PAGE, reason=DeclineReason.HOURS
    )

    async def declined() -> bool:
        return await stored_answer(fresh_database, c1) == "not_interested"

    await wait(declined, within=30, what="the answer stored")
    queries = MatchQueries(matcher.pool)
    seen = await queries.by_id(match_id_for(a, c1))
    assert seen is not None
    assert seen.response is not None
    assert (seen.response.response, seen.response.reason) == (
        Answer.NOT_INTERESTED,
        DeclineReason.HOURS,
    )

    async def answers_of_a() -> dict[str, MatchResponse | None]:
        found = [await queries.by_id(match_id_for(a, c)) for c in (c1, c2)]
        return {m.consultant_id: m.response for m in found if m is not None}

    assert (await answers_of_a())[c2] is None
    await publisher.assignment(assignment(a, title="Senior woordvoerder"))
    events = await matches.wait_for(3)
    assert await matches.settle(1.5) == events
    assert brief(events[2]) == ("updated", c2, a, 2)
    assert changed(events[2]) == ["title"]

    # Taken back: the pair is evaluated at once against what c1 was last told.
    await publisher.response_withdrawn(c1, a, now + timedelta(seconds=1), via=AnswerVia.PAGE)
    events = await matches.wait_for(4)
    assert brief(events[3]) == ("updated", c1, a, 2)
    assert changed(events[3]) == ["title"]
    assert await stored_answer(fresh_database, c1) is None
    assert await answers_of_a() == {c1: None, c2: None}

    await publisher.assignment(assignment(a, title="Senior woordvoerder", duration_months=9))
    events = await matches.wait_for(6)
    assert sorted(brief(e) for e in events[4:]) == [
        ("updated", c1, a, 3),
        ("updated", c2, a, 3),
    ]
    assert [changed(e) for e in events[4:]] == [["duration_months"]] * 2


async def test_a_crash_between_the_answer_and_the_change_keeps_exactly_once(
    spawn: SpawnMatcher,
    publisher: TopicWriter,
    matches: Collector[CloudEvent],
    unique_id: str,
    kafka: str,
    wait: Wait,
) -> None:
    a, c1 = f"a-{unique_id}", f"c1-{unique_id}"
    # One shard holds both consultants: the one that crashes holds the answer.
    c2 = await neighbour(kafka, CONSULTANTS, c1, f"c2-{unique_id}")
    first = spawn()
    await first.wait_ready()
    await publisher.assignment(assignment(a))
    await publisher.profile(consultant(c1))
    await publisher.profile(consultant(c2))
    await matches.wait_for(2)
    first.stop()

    now = datetime.now(UTC)
    await publisher.responded(
        c1, a, Answer.NOT_INTERESTED, now, via=AnswerVia.PAGE, reason=DeclineReason.HOURS
    )
    await publisher.assignment(assignment(a, title="Senior woordvoerder"))
    # Dies right after the database commit of the transaction publishing c2's update.
    second = spawn(crash_after_db_commits=1)
    assert await second.wait_exit(within=90) == -signal.SIGKILL

    third = spawn()
    await third.wait_ready()
    events = await matches.wait_for(3)
    assert await matches.settle(3.0) == events
    assert sorted(brief(e) for e in events) == sorted(
        [("found", c1, a, 1), ("found", c2, a, 1), ("updated", c2, a, 2)]
    )
    assert "shard_rolled_back" in third.log()

    # The answer survived the repair exactly: taking it back tells c1 what changed.
    await publisher.response_withdrawn(c1, a, now + timedelta(seconds=1), via=AnswerVia.PAGE)
    events = await matches.wait_for(4)
    assert brief(events[3]) == ("updated", c1, a, 2)
    assert await matches.settle(1.5) == events


async def test_erasure_removes_the_answers_and_tombstones_them(
    matcher: Matcher,
    publisher: TopicWriter,
    matches: Collector[CloudEvent],
    unique_id: str,
    fresh_database: str,
    wait: Wait,
) -> None:
    a, c = await found_pair(publisher, matches, unique_id)
    match_id = match_id_for(a, c)
    await publisher.responded(c, a, Answer.INTERESTED, datetime.now(UTC), via=AnswerVia.PAGE)

    async def interested() -> bool:
        return await stored_answer(fresh_database, c) == "interested"

    await wait(interested, within=30, what="the answer stored")

    def tombstone(record: Record) -> bool:
        return bool(record.key == match_id.encode() and record.value is None)

    tombstones = Collector(
        matcher.settings.kafka_bootstrap_servers, RESPONSES, lambda record: record, tombstone
    )
    await tombstones.start()
    try:
        await publisher.erase(c)
        events = await matches.wait_for(2)
        assert brief(events[1]) == ("withdrawn", c, a, "consultant_erased")
        await tombstones.wait_for(1)
    finally:
        await tombstones.stop()
    assert await stored_answer(fresh_database, c) is None


async def test_an_answer_naming_another_match_is_dead_lettered_with_the_reason(
    matcher: Matcher, publisher: TopicWriter, unique_id: str
) -> None:
    a, c = f"a-{unique_id}", f"c-{unique_id}"
    wrong = match_id_for(a, f"other-{unique_id}")
    data = MatchResponded(
        match_id=wrong,
        consultant_id=c,
        assignment_id=a,
        response=Answer.INTERESTED,
        responded_at=datetime.now(UTC),
        via=AnswerVia.API,
    )
    event = new_event(
        EventType.MATCH_RESPONDED, source=Source.INTAKE.value, subject=wrong, data=data
    )

    def ours(record: Record) -> bool:
        return bool(record.key == wrong.encode())

    dead = Collector(
        matcher.settings.kafka_bootstrap_servers, dlq(RESPONSES), lambda record: record, ours
    )
    await dead.start()
    try:
        await publisher.event(RESPONSES, wrong, event)
        [letter, *_] = await dead.wait_for(1)
    finally:
        await dead.stop()
    headers = dict(letter.headers)
    assert headers["koppel-error-code"] == b"invalid_payload"
    assert b"match_id" in headers["koppel-error-reason"]
    assert headers["koppel-error-source-topic"] == RESPONSES.encode()
