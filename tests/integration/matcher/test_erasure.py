"""Erasure is final in the matcher: no table names the consultant afterwards, a dead-letter
replay of their old profile changes nothing, and a registration after the erasure is
matched afresh (DOMAIN.md 8.6)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from koppel import dead_letters, tracing
from koppel.cloudevents import CloudEvent, encode, new_event
from koppel.dead_letter_reading import DeadLetter
from koppel.dead_letter_replay import replay
from koppel.dead_letters import DeadLetterCode
from koppel.event_types import EventType, Source
from koppel.topics import CONSULTANTS, dlq
from koppel_intake.service_layer.records import tombstone_record
from koppel_matcher import metrics
from koppel_matcher.bootstrap import Matcher
from koppel_testing.builders import assignment, consultant
from koppel_testing.integration_matcher import brief, found_pair
from koppel_testing.integration_waiting import Wait
from koppel_testing.kafka_publishing import TopicWriter
from koppel_testing.kafka_reading import Collector

pytestmark = pytest.mark.integration


async def test_erased_then_replayed_then_registered_again(
    matcher: Matcher,
    publisher: TopicWriter,
    matches: Collector[CloudEvent],
    kafka: str,
    unique_id: str,
    wait: Wait,
) -> None:
    a, c = f"a-{unique_id}", f"c-{unique_id}"
    await publisher.assignment(assignment(a))
    old = new_event(
        EventType.CONSULTANT_UPSERTED, source=Source.INTAKE.value, subject=c, data=consultant(c)
    )
    await publisher.event(CONSULTANTS, c, old)
    await matches.wait_for(1)
    await publisher.erase(c)
    events = await matches.wait_for(2)
    assert brief(events[1]) == ("withdrawn", c, a, "consultant_erased")

    async def nothing_names_them() -> bool:
        return await _rows_naming(matcher, c) == []

    # The undo rows of the erasing transaction go right after its Kafka commit.
    await wait(nothing_names_them, within=30, what="no row naming the consultant")

    # The old profile comes back from a dead-letter topic after the tombstone was compacted
    # (so nothing later supersedes it there): it is older than the erasure, and ignored.
    stale_before = _stale_count()
    await replay(kafka, [_dead_letter_of(c, old)], include_superseded=True)
    await wait(lambda: _stale_count() > stale_before, what="the replayed profile ignored")
    assert await _rows_naming(matcher, c) == []
    assert len(await matches.settle(1.0)) == 2

    # A registration after the erasure is a new consultant: found again, as revision 1.
    await publisher.profile(consultant(c))
    events = await matches.wait_for(3)
    assert brief(events[2]) == ("found", c, a, 1)


async def test_an_erasures_withdrawal_continues_the_tombstones_trace(
    matcher: Matcher, publisher: TopicWriter, matches: Collector[CloudEvent], unique_id: str
) -> None:
    a, c = await found_pair(publisher, matches, unique_id)
    # The tombstone exactly as intake's DELETE writes it: the trace rides in its headers.
    traceparent = tracing.continue_trace(None)
    tombstone = tombstone_record(
        c, event_id=f"erase-{unique_id}", time=datetime.now(UTC), traceparent=traceparent
    )
    await publisher.raw(CONSULTANTS, tombstone.key, None, list(tombstone.headers))

    events = await matches.wait_for(2)
    assert brief(events[1]) == ("withdrawn", c, a, "consultant_erased")
    assert tracing.trace_id_of(events[1].traceparent) == tracing.trace_id_of(traceparent)


def _dead_letter_of(consultant_id: str, event: CloudEvent) -> DeadLetter:
    value, headers = encode(event)
    errors = dead_letters.error_headers(
        code=DeadLetterCode.PROCESSING_FAILED, reason="boom", topic=CONSULTANTS,
        partition=0, offset=0,
    )  # fmt: skip
    return DeadLetter(dlq(CONSULTANTS), 0, 0, consultant_id.encode(), value, (*headers, *errors))


def _stale_count() -> float:
    value: float = metrics.EVENTS_CONSUMED.labels(CONSULTANTS, "stale_after_erasure")._value.get()
    return value


async def _rows_naming(matcher: Matcher, needle: str) -> list[tuple[str, str]]:
    """(table, row as text) of every row in any table of the database holding `needle`."""
    async with matcher.pool.acquire() as db:
        tables = await db.fetch(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        )
        found = []
        for table in (row["table_name"] for row in tables):
            for row in await db.fetch(f'SELECT t::text AS line FROM "{table}" t'):  # noqa: S608 - names from the catalogue
                if needle in row["line"]:
                    found.append((table, row["line"]))
        return found
