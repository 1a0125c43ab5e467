"""The raw-topic consumer against a real broker: routing, dead letters, crash safety."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from koppel.cloudevents import CloudEvent, decode, encode, encode_binary
from koppel.event_types import EventType
from koppel.topics import ASSIGNMENTS, CONSULTANTS, RAW, dlq
from koppel_intake.adapters.kafka_producer import KafkaEventPublisher
from koppel_testing import builders
from koppel_testing.integration_intake import StartConsumer
from koppel_testing.kafka_publishing import upstream_event
from koppel_testing.kafka_reading import OpenReader, Record

pytestmark = pytest.mark.integration


def _upserted(assignment_id: str, *, keyed: bool = True, **changes: Any) -> CloudEvent:
    """An upstream assignment upsert; `keyed=False` leaves out its subject."""
    document = builders.assignment_document(assignment_id, **changes)
    subject = assignment_id if keyed else None
    return upstream_event(EventType.ASSIGNMENT_UPSERTED.value, subject, document)


@pytest.mark.parametrize("encoder", [encode, encode_binary], ids=["structured", "binary"])
async def test_raw_event_reaches_the_canonical_topic_with_the_same_id(
    publisher: KafkaEventPublisher,
    start_consumer: StartConsumer,
    raw_producer: AIOKafkaProducer,
    reader: OpenReader,
    new_id: Callable[[str], str],
    encoder: Callable[[CloudEvent], tuple[bytes, list[tuple[str, bytes]]]],
) -> None:
    assignment_id = new_id("A")
    assignments = await reader(ASSIGNMENTS)
    await start_consumer(publisher)
    upstream = _upserted(assignment_id, title="Interim woordvoerder")
    value, headers = encoder(upstream)

    await raw_producer.send_and_wait(RAW, value, key=assignment_id.encode(), headers=headers)

    [record] = await assignments.wait_for(assignment_id.encode())
    event = decode(record.value, record.headers)
    assert event.id == upstream.id
    assert event.source == "/koppel/intake"
    assert event.subject == assignment_id
    assert event.data["title"] == "Interim woordvoerder"


async def test_raw_consultant_upsert_and_erasure(
    publisher: KafkaEventPublisher,
    start_consumer: StartConsumer,
    raw_producer: AIOKafkaProducer,
    reader: OpenReader,
    new_id: Callable[[str], str],
) -> None:
    consultant_id = new_id("C")
    key = consultant_id.encode()
    consultants = await reader(CONSULTANTS)
    await start_consumer(publisher)
    upsert = upstream_event(
        "nl.koppel.consultant.upserted", consultant_id, builders.consultant_document(consultant_id)
    )
    erase = upstream_event(
        "nl.koppel.consultant.erased", consultant_id, {"consultant_id": consultant_id}
    )

    for event in (upsert, erase):
        value, headers = encode(event)
        await raw_producer.send_and_wait(RAW, value, key=key, headers=headers)

    records = await consultants.wait_until(key, lambda seen: any(r.value is None for r in seen))
    profile, tombstone = records[0], next(r for r in records if r.value is None)
    assert decode(profile.value, profile.headers).id == upsert.id
    assert profile.offset < tombstone.offset
    assert dict(tombstone.headers)["ce_id"] == erase.id.encode()


async def test_each_poison_goes_to_the_dlq_as_received_while_good_events_flow(
    publisher: KafkaEventPublisher,
    start_consumer: StartConsumer,
    raw_producer: AIOKafkaProducer,
    reader: OpenReader,
    new_id: Callable[[str], str],
) -> None:
    assignment_id = new_id("A")
    key = assignment_id.encode()
    assignments = await reader(ASSIGNMENTS)
    dead_letters = await reader(dlq(RAW))
    await start_consumer(publisher)
    good = _upserted(assignment_id)
    bad_data = builders.assignment_document(
        assignment_id, hours_per_week={"min": 40, "max": 8}, level="x"
    )
    poison: list[tuple[str, bytes, list[tuple[str, bytes]]]] = [
        ("invalid_envelope", b"\x89PNG not json at all", [("x-origin", b"crm")]),
        ("invalid_envelope", json.dumps({"title": "just JSON"}).encode(), []),
        ("unknown_type", *encode(upstream_event("nl.koppel.assignment.archived", None, {}))),
        (
            "invalid_payload",
            *encode(upstream_event("nl.koppel.assignment.upserted", None, bad_data)),
        ),
        (
            "key_mismatch",
            *encode(_upserted(new_id("other"), keyed=False)),
        ),
    ]

    # Same key, so same partition: the good event comes after every poison record.
    for _, value, headers in poison:
        await raw_producer.send_and_wait(RAW, value, key=key, headers=headers)
    value, headers = encode(good)
    await raw_producer.send_and_wait(RAW, value, key=key, headers=headers)

    [routed] = await assignments.wait_for(key)
    assert decode(routed.value, routed.headers).id == good.id

    def source_offset(letter: Record) -> int:
        return int(dict(letter.headers)["koppel-error-source-offset"])

    seen = await dead_letters.wait_until(
        key, lambda found: len({source_offset(r) for r in found}) >= len(poison)
    )
    letters = sorted({source_offset(r): r for r in seen}.values(), key=source_offset)
    for (code, value, headers), letter in zip(poison, letters, strict=True):
        assert letter.value == value
        letter_headers = list(letter.headers)
        assert letter_headers[: len(headers)] == headers
        errors = dict(letter_headers)
        assert errors["koppel-error-code"] == code.encode()
        assert errors["koppel-error-reason"]
        assert errors["koppel-error-source-topic"] == RAW.encode()
        assert int(errors["koppel-error-source-offset"]) >= 0
        assert errors["koppel-error-at"]
    reason = dict(letters[3].headers)["koppel-error-reason"].decode()
    assert "level" in reason
    assert "hours_per_week" in reason


async def test_offsets_are_not_committed_before_the_output_is_acknowledged(
    kafka: str,
    publisher: KafkaEventPublisher,
    start_consumer: StartConsumer,
    committed_offsets: Callable[[], Awaitable[dict[int, int | None]]],
    raw_producer: AIOKafkaProducer,
    reader: OpenReader,
    new_id: Callable[[str], str],
) -> None:
    assignment_ids = [new_id("A") for _ in range(12)]
    assignments = await reader(ASSIGNMENTS)
    before = await committed_offsets()
    # A publisher that never reached the broker: every output fails to be acknowledged.
    unreachable = KafkaEventPublisher(kafka)
    first = await start_consumer(unreachable)
    for assignment_id in assignment_ids:
        value, headers = encode(_upserted(assignment_id))
        await raw_producer.send_and_wait(RAW, value, key=assignment_id.encode(), headers=headers)

    await assignments.drain(3.0)
    await first.kill()

    assert await committed_offsets() == before
    # Restarted in the same group with a working publisher: nothing was skipped.
    second = await start_consumer(publisher)
    for assignment_id in assignment_ids:
        [record] = await assignments.wait_for(assignment_id.encode())
        assert decode(record.value, record.headers).subject == assignment_id
    await second.stop()
    after = await committed_offsets()
    assert _total(after) - _total(before) >= len(assignment_ids)


def _total(offsets: dict[int, int | None]) -> int:
    """The sum of committed offsets (every partition has one: the group started at the end)."""
    committed = [offset for offset in offsets.values() if offset is not None]
    assert len(committed) == len(offsets), offsets
    return sum(committed)


async def test_killed_mid_stream_and_restarted_nothing_is_skipped(
    publisher: KafkaEventPublisher,
    start_consumer: StartConsumer,
    raw_producer: AIOKafkaProducer,
    reader: OpenReader,
    new_id: Callable[[str], str],
) -> None:
    assignment_ids = [new_id("A") for _ in range(60)]
    assignments = await reader(ASSIGNMENTS)
    for assignment_id in assignment_ids:
        value, headers = encode(_upserted(assignment_id))
        await raw_producer.send(RAW, value, key=assignment_id.encode(), headers=headers)
    await raw_producer.flush()

    first = await start_consumer(publisher)
    await assignments.wait_for(assignment_ids[0].encode())
    await first.kill()
    await start_consumer(publisher)

    for assignment_id in assignment_ids:
        assert await assignments.wait_for(assignment_id.encode())
