"""A record PostgreSQL refuses goes to the dead-letter topic; the records after it flow on."""

from __future__ import annotations

from typing import Any

import pytest

from koppel.cloudevents import encode, new_event
from koppel.event_types import EventType, Source
from koppel.topics import CONSULTANTS, MATCHES

pytestmark = pytest.mark.integration


async def test_refused_records_are_dead_lettered_and_the_batch_goes_on(
    notifier: Any, kafka_io: Any, smtp_sink: Any, make_profile: Any, make_assignment: Any,
    wait: Any, dead_letters: Any, unique_id: str,
) -> None:  # fmt: skip
    nul_name, huge_revision = f"c-nul-{unique_id}", f"c-rev-{unique_id}"
    fine = f"c-after-{unique_id}"
    async with (
        dead_letters(CONSULTANTS) as profiles_dlq,
        dead_letters(MATCHES) as matches_dlq,
        notifier() as running,
    ):
        # A NUL in a name: valid JSON ("\u0000"), refused by PostgreSQL's text type.
        event = new_event(
            EventType.CONSULTANT_UPSERTED,
            source=Source.INTAKE,
            subject=nul_name,
            data=make_profile(nul_name),
        )
        value, _ = encode(event)
        await kafka_io.raw(CONSULTANTS, nul_name.encode(), value.replace(b"Anouk", b"An\\u0000ouk"))
        # A revision beyond PostgreSQL's integer: valid by the contract, refused on write.
        await kafka_io.profile(make_profile(huge_revision))
        await kafka_io.found(huge_revision, make_assignment(f"a-rev-{unique_id}"), revision=2**31)
        # Records after the refused ones, on the same topics, are handled.
        await kafka_io.profile(make_profile(fine))
        await kafka_io.found(fine, make_assignment(f"a-after-{unique_id}"))

        refused_profile = await profiles_dlq.of(nul_name)
        refused_match = await matches_dlq.of(huge_revision)
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
