"""A record PostgreSQL refuses goes to the dead-letter topic; the records after it flow on."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from koppel.cloudevents import encode, new_event
from koppel.event_types import EventType, Source
from koppel.topics import CONSULTANTS, MATCHES

pytestmark = pytest.mark.integration


async def _dead_letters(kafka: str, topic: str) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(
        f"{topic}.dlq", bootstrap_servers=kafka, auto_offset_reset="latest", group_id=None
    )
    await consumer.start()
    await consumer.seek_to_end()
    return consumer


async def _dead_letter_of(consumer: AIOKafkaConsumer, key: str) -> dict[str, bytes]:
    async with asyncio.timeout(30):
        while True:
            record = await consumer.getone()
            if record.key == key.encode():
                return dict(record.headers)


async def test_refused_records_are_dead_lettered_and_the_batch_goes_on(
    notifier: Any, kafka: str, kafka_io: Any, smtp_sink: Any, make_profile: Any,
    make_assignment: Any, wait: Any, unique_id: str,
) -> None:  # fmt: skip
    nul_name, huge_revision = f"c-nul-{unique_id}", f"c-rev-{unique_id}"
    fine = f"c-after-{unique_id}"
    profiles_dlq = await _dead_letters(kafka, CONSULTANTS)
    matches_dlq = await _dead_letters(kafka, MATCHES)
    try:
        async with notifier() as running:
            # A NUL in a name: valid JSON ("\u0000"), refused by PostgreSQL's text type.
            event = new_event(
                EventType.CONSULTANT_UPSERTED,
                source=Source.INTAKE,
                subject=nul_name,
                data=make_profile(nul_name),
            )
            value, _ = encode(event)
            await kafka_io.raw(
                CONSULTANTS, nul_name.encode(), value.replace(b"Anouk", b"An\\u0000ouk")
            )
            # A revision beyond PostgreSQL's integer: valid by the contract, refused on write.
            await kafka_io.profile(make_profile(huge_revision))
            await kafka_io.found(
                huge_revision, make_assignment(f"a-rev-{unique_id}"), revision=2**31
            )
            # Records after the refused ones, on the same topics, are handled.
            await kafka_io.profile(make_profile(fine))
            await kafka_io.found(fine, make_assignment(f"a-after-{unique_id}"))

            refused_profile = await _dead_letter_of(profiles_dlq, nul_name)
            refused_match = await _dead_letter_of(matches_dlq, huge_revision)
            await wait(lambda: smtp_sink.handler.to(f"{fine}@example.org"), what="later email")
            stored = await running.pool.fetch(
                "SELECT consultant_id FROM notifier_contacts WHERE consultant_id = ANY($1)",
                [nul_name, huge_revision, fine],
            )
            assert {row["consultant_id"] for row in stored} == {huge_revision, fine}

        assert refused_profile["koppel-error-reason"]
        assert refused_match["koppel-error-code"] == b"processing_failed"
        assert refused_match["koppel-error-reason"].startswith(b"PostgreSQL refused the record")
        assert refused_match["koppel-error-source-topic"] == MATCHES.encode()
    finally:
        await profiles_dlq.stop()
        await matches_dlq.stop()
