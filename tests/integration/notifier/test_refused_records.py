"""A record PostgreSQL refuses goes to the dead-letter topic; the records after it flow on."""

from __future__ import annotations

import pytest

from koppel.cloudevents import encode, new_event
from koppel.event_types import EventType, Source
from koppel.topics import CONSULTANTS, MATCHES, dlq
from koppel_testing import builders
from koppel_testing.integration_notifier import NotifierFactory
from koppel_testing.integration_waiting import Wait
from koppel_testing.kafka_publishing import TopicWriter
from koppel_testing.kafka_reading import OpenReader
from koppel_testing.receivers import SmtpSink

pytestmark = pytest.mark.integration


async def test_refused_records_are_dead_lettered_and_the_batch_goes_on(
    notifier: NotifierFactory,
    reader: OpenReader,
    kafka_io: TopicWriter,
    smtp_sink: SmtpSink,
    wait: Wait,
    unique_id: str,
) -> None:
    nul_name, huge_revision = f"c-nul-{unique_id}", f"c-rev-{unique_id}"
    fine = f"c-after-{unique_id}"
    profiles_dlq = await reader(dlq(CONSULTANTS))
    matches_dlq = await reader(dlq(MATCHES))
    async with notifier() as running:
        # A NUL in a name: valid JSON ("\u0000"), refused by PostgreSQL's text type.
        event = new_event(
            EventType.CONSULTANT_UPSERTED,
            source=Source.INTAKE,
            subject=nul_name,
            data=builders.consultant(nul_name, name="Anouk de Vries"),
        )
        value, _ = encode(event)
        await kafka_io.raw(CONSULTANTS, nul_name.encode(), value.replace(b"Anouk", b"An\\u0000ouk"))
        # A revision beyond PostgreSQL's integer: valid by the contract, refused on write.
        await kafka_io.profile(builders.consultant(huge_revision))
        await kafka_io.found(
            huge_revision, builders.assignment(f"a-rev-{unique_id}"), revision=2**31
        )
        # Records after the refused ones, on the same topics, are handled.
        await kafka_io.profile(builders.consultant(fine, email=f"{fine}@example.org"))
        await kafka_io.found(fine, builders.assignment(f"a-after-{unique_id}"))

        [refused_profile] = await profiles_dlq.wait_for(nul_name.encode())
        [refused_match] = await matches_dlq.wait_for(huge_revision.encode())
        await wait(lambda: smtp_sink.handler.to(f"{fine}@example.org"), what="later email")
        stored = await running.pool.fetch(
            "SELECT consultant_id FROM notifier_contacts WHERE consultant_id = ANY($1)",
            [nul_name, huge_revision, fine],
        )
        assert {row["consultant_id"] for row in stored} == {huge_revision, fine}

    profile_errors, match_errors = dict(refused_profile.headers), dict(refused_match.headers)
    assert profile_errors["koppel-error-reason"]
    assert match_errors["koppel-error-code"] == b"processing_failed"
    assert match_errors["koppel-error-reason"].startswith(b"PostgreSQL refused the record")
    assert match_errors["koppel-error-source-topic"] == MATCHES.encode()
