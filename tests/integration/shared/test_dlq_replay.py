"""`python -m koppel.dlq` against the real broker, on dead letters the services really write.

Each test owns a fresh source topic and its `.dlq` (unique names, deleted afterwards), so it
never touches the canonical topics other tests share. The dead letters are made by the
notifier's and the matcher's own `dead_letter` functions (the two header spellings).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from koppel.dead_letter_reading import REPLAYED_FROM, Selection, read_dead_letters
from koppel.dead_letter_replay import replay
from koppel.dead_letters import DeadLetterCode
from koppel_matcher.adapters.kafka_producer import dead_letter as matcher_dead_letter
from koppel_notifier.adapters.kafka_producer import KafkaDeadLetters

pytestmark = pytest.mark.integration

HEADERS = [("content-type", b"application/cloudevents+json")]


@pytest.fixture
async def source_topic(kafka: str, unique_id: str) -> AsyncIterator[str]:
    name = f"koppel-test-dlq-{unique_id}.v1"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 1, 1), NewTopic(f"{name}.dlq", 1, 1)])
        yield name
        await admin.delete_topics([name, f"{name}.dlq"])
    finally:
        await admin.close()


async def _produce(kafka: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(topic, value, key=key, headers=HEADERS)
    finally:
        await producer.stop()


async def _read_all(kafka: str, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        consumer.seek(tp, 0)
        records: list[ConsumerRecord[bytes, bytes]] = []
        while len(records) < end:
            batch = await consumer.getmany(tp, timeout_ms=2000)
            records += batch.get(tp, [])
        return records
    finally:
        await consumer.stop()


Failure = tuple[ConsumerRecord[bytes, bytes], DeadLetterCode, str]
"""A record of the source topic, and the code and reason a service dead-letters it with."""


async def _dead_letter(kafka: str, topic: str, *, notifier: Failure, matcher: Failure) -> None:
    """Dead letters written by the notifier's and the matcher's own `dead_letter`."""
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    try:
        record, code, reason = notifier
        await KafkaDeadLetters(producer).dead_letter(
            f"{topic}.dlq",
            key=record.key,
            value=record.value,
            headers=list(record.headers),
            error_code=code,
            error=reason,
            source_topic=topic,
            partition=record.partition,
            offset=record.offset,
        )
        record, code, reason = matcher
        dlq_topic, key, value, headers = matcher_dead_letter(record, code=code, reason=reason)
        await producer.send_and_wait(dlq_topic, value, key=key, headers=headers)
    finally:
        await producer.stop()


async def _dead_letter_both_ways(kafka: str, topic: str) -> None:
    """Offsets 0 (a-1) and 1 (b-1) of `topic` dead-lettered by the notifier and the matcher."""
    first, second = (await _read_all(kafka, topic))[:2]
    await _dead_letter(
        kafka,
        topic,
        notifier=(first, DeadLetterCode.INVALID_PAYLOAD, "data.level: not a level"),
        matcher=(second, DeadLetterCode.PROCESSING_FAILED, "boom"),
    )


async def test_replays_what_is_current_and_skips_what_a_later_record_replaced(
    kafka: str, source_topic: str
) -> None:
    await _produce(kafka, source_topic, [(b"a-1", b"a v1"), (b"b-1", b"b v1"), (b"a-1", b"a v2")])
    await _dead_letter_both_ways(kafka, source_topic)
    dlq_topic = f"{source_topic}.dlq"

    dead = await read_dead_letters(kafka, dlq_topic, Selection())
    assert [(d.code, d.source_topic, d.source_offset) for d in dead] == [
        ("invalid_payload", source_topic, 0),
        ("processing_failed", source_topic, 1),
    ]
    lines: list[dict[str, object]] = []
    assert await replay(kafka, dead, report=lines.append) == 1
    assert [line["action"] for line in lines] == ["skipped_superseded", "replayed"]

    copy = (await _read_all(kafka, source_topic))[-1]
    assert (copy.offset, copy.key, copy.value) == (3, b"b-1", b"b v1")
    assert list(copy.headers) == [*HEADERS, (REPLAYED_FROM, f"{dlq_topic}:0:1".encode())]

    # The copy supersedes its dead letter: the same replay again produces nothing.
    again: list[dict[str, object]] = []
    assert await replay(kafka, dead, report=again.append) == 0
    assert [line["action"] for line in again] == ["skipped_superseded", "skipped_superseded"]
    assert len(await _read_all(kafka, source_topic)) == 4


async def test_include_superseded_and_a_target_topic(kafka: str, source_topic: str) -> None:
    await _produce(kafka, source_topic, [(b"a-1", b"a v1"), (b"b-1", b"b v1"), (b"a-1", b"a v2")])
    await _dead_letter_both_ways(kafka, source_topic)
    dlq_topic = f"{source_topic}.dlq"
    only_first = await read_dead_letters(
        kafka, dlq_topic, Selection(codes=frozenset({"invalid_payload"}))
    )
    assert [d.offset for d in only_first] == [0]

    lines: list[dict[str, object]] = []
    produced = await replay(
        kafka, only_first, to=dlq_topic, include_superseded=True, report=lines.append
    )
    assert produced == 1
    assert lines[0]["to"] == dlq_topic
    copy = (await _read_all(kafka, dlq_topic))[-1]
    assert (copy.key, copy.value) == (b"a-1", b"a v1")
    assert not any(name.startswith("koppel-error-") for name, _ in copy.headers)


def test_command_line_show_and_dry_run(kafka: str, source_topic: str) -> None:
    import asyncio

    async def prepare() -> None:
        await _produce(kafka, source_topic, [(b"a-1", b"a v1"), (b"b-1", b"b v1")])
        await _dead_letter_both_ways(kafka, source_topic)

    asyncio.run(prepare())
    dlq_topic = f"{source_topic}.dlq"
    base = [sys.executable, "-m", "koppel.dlq", "--bootstrap-servers", kafka]

    shown = subprocess.run(
        [*base, "show", dlq_topic, "--key", "b-1"], capture_output=True, text=True, check=True
    )
    (line,) = [json.loads(text) for text in shown.stdout.splitlines()]
    assert line["code"] == "processing_failed"
    assert line["source"] == f"{source_topic}:0:1"
    assert line["value"] == "b v1"
    assert "1 dead letters" in shown.stderr

    dry = subprocess.run(
        [*base, "replay", dlq_topic, "--dry-run"], capture_output=True, text=True, check=True
    )
    actions = [json.loads(text)["action"] for text in dry.stdout.splitlines()]
    assert actions == ["would_replay", "would_replay"]
    assert "2 selected, 2 would replay" in dry.stderr
    assert len(asyncio.run(_read_all(kafka, source_topic))) == 2


async def test_a_record_both_consumers_dead_lettered_is_replayed_once(
    kafka: str, source_topic: str
) -> None:
    """koppel.consultants.v1 has two readers; each writes its own dead letter of a record."""
    await _produce(kafka, source_topic, [(b"c-1", b"profile with a field from the future")])
    (record,) = await _read_all(kafka, source_topic)
    failure = (record, DeadLetterCode.INVALID_PAYLOAD, "pronouns: Extra inputs are not permitted")
    await _dead_letter(kafka, source_topic, notifier=failure, matcher=failure)

    dead = await read_dead_letters(kafka, f"{source_topic}.dlq", Selection())
    lines: list[dict[str, object]] = []
    assert await replay(kafka, dead, report=lines.append) == 1
    assert [line["action"] for line in lines] == ["replayed", "skipped_duplicate"]
    assert [r.value for r in await _read_all(kafka, source_topic)] == [record.value] * 2


async def test_a_replayed_copy_keeps_the_dead_letters_timestamp(
    kafka: str, source_topic: str
) -> None:
    """Not now: intake dates a raw record without `time` by its timestamp, and a replay
    days after an erasure must still look as old as it is."""
    await _produce(kafka, source_topic, [(b"a-1", b"a v1"), (b"b-1", b"b v1")])
    await _dead_letter_both_ways(kafka, source_topic)
    (dead,) = await read_dead_letters(
        kafka, f"{source_topic}.dlq", Selection(codes=frozenset({"processing_failed"}))
    )
    assert dead.timestamp_ms is not None
    three_days_ago = dead.timestamp_ms - 3 * 24 * 3600 * 1000
    older = replace(dead, timestamp_ms=three_days_ago)

    assert await replay(kafka, [older]) == 1

    copy = (await _read_all(kafka, source_topic))[-1]
    assert (copy.key, copy.timestamp) == (b"b-1", three_days_ago)
