"""Erasure is final: nothing about the consultant stays, nothing old brings them back, and a
registration after the erasure is a new consultant, notified afresh (DOMAIN.md 8.6)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from koppel.cloudevents import encode, new_event
from koppel.contract import Assignment
from koppel.contract.common import ContractModel
from koppel.event_types import EventType, Source
from koppel.topics import ASSIGNMENTS, CONSULTANTS, MATCHES
from koppel.vocabulary import WithdrawalReason
from koppel_matcher.bootstrap import start_matcher
from koppel_matcher.settings import Settings as MatcherSettings
from koppel_notifier.bootstrap import Notifier
from koppel_testing import builders
from koppel_testing.integration_notifier import (
    NotifierFactory,
    Rows,
    has_statuses,
    marker_for,
    routed,
)
from koppel_testing.integration_waiting import Wait
from koppel_testing.kafka_publishing import TopicWriter
from koppel_testing.receivers import Receiver, SmtpSink

pytestmark = pytest.mark.integration

ERASED = WithdrawalReason.CONSULTANT_ERASED


async def test_after_an_erasure_no_table_holds_anything_of_the_consultant(
    notifier: NotifierFactory,
    kafka_io: TopicWriter,
    smtp_sink: SmtpSink,
    receiver: Receiver,
    wait: Wait,
    unique_id: str,
) -> None:
    consultant, path = f"c-gone-{unique_id}", f"hook-{unique_id}"
    name, address = f"Zwaantje Erasmus {unique_id}", f"zwaantje-{unique_id}@example.org"
    receiver.script(path, [503] * 50, headers={"retry-after": "3600"})
    first, late = builders.assignment(f"a1-{unique_id}"), builders.assignment(f"a2-{unique_id}")
    async with notifier() as running:
        profile = receiver.subscriber(
            consultant,
            path,
            channels=["email", "webhook"],
            name=name,
            email=address,
        )
        await kafka_io.profile(profile)
        await kafka_io.found(consultant, first)
        await wait(lambda: smtp_sink.handler.to(address), what="the email")
        await wait(lambda: receiver.at(path), what="a webhook attempt")
        await wait(
            lambda: has_statuses(running, consultant, {"delivered", "pending"}, exactly=True)
        )

        await kafka_io.erase(consultant)
        # What the matcher publishes around an erasure: a match found just before it read
        # the tombstone, then a withdrawal of every standing match.
        await kafka_io.found(consultant, late)
        await kafka_io.withdrawn(consultant, first, ERASED)
        await kafka_io.withdrawn(consultant, late, ERASED)
        await _caught_up(running, kafka_io, wait, consultant)

        leftovers = await _rows_naming(running, [consultant, name, address, path])
        assert leftovers == []
        assert await _erasure_records(running) == 1


async def test_a_profile_written_before_the_erasure_does_not_bring_it_back(
    notifier: NotifierFactory,
    kafka_io: TopicWriter,
    smtp_sink: SmtpSink,
    wait: Wait,
    rows: Rows,
    unique_id: str,
) -> None:
    """As when a dead letter of the profile is replayed after the tombstone was compacted."""
    consultant, address = f"c-replay-{unique_id}", f"replay-{unique_id}@example.org"
    assignment = builders.assignment(f"a-{unique_id}")
    written = datetime.now(UTC) - timedelta(minutes=5)
    old_profile = _event(
        EventType.CONSULTANT_UPSERTED,
        consultant,
        builders.consultant(consultant, email=address),
        written,
    )
    async with notifier() as running:
        await kafka_io.raw(CONSULTANTS, consultant.encode(), *old_profile)
        await wait(lambda: _contact(running, consultant), what="the profile")
        await kafka_io.erase(consultant)
        await wait(lambda: _address_forgotten(running, consultant), what="the erasure")

        await kafka_io.raw(CONSULTANTS, consultant.encode(), *old_profile)
        old_match = _old_found(consultant, assignment, written)
        await kafka_io.raw(MATCHES, consultant.encode(), *old_match)
        await _caught_up(running, kafka_io, wait, consultant)

        assert not await _contact(running, consultant)
        assert await _rows_naming(running, [consultant, address]) == []
        assert await rows(running, consultant) == []
        assert smtp_sink.handler.to(address) == []
        assert running.metrics.events.labels(CONSULTANTS, "stale")._value.get() == 1
        assert running.metrics.events.labels(MATCHES, "stale")._value.get() == 1


async def test_a_registration_after_the_erasure_is_notified_afresh(
    notifier: NotifierFactory,
    kafka_io: TopicWriter,
    smtp_sink: SmtpSink,
    wait: Wait,
    unique_id: str,
) -> None:
    """The matcher announces the pair again with the same match id and revision 1."""
    consultant, address = f"c-again-{unique_id}", f"again-{unique_id}@example.org"
    assignment = builders.assignment(f"a-{unique_id}")
    async with notifier() as running:
        await kafka_io.profile(builders.consultant(consultant, email=address))
        await kafka_io.found(consultant, assignment)
        await wait(lambda: smtp_sink.handler.to(address), what="the first email")

        await kafka_io.erase(consultant)
        await kafka_io.withdrawn(consultant, assignment, ERASED)
        await wait(lambda: _address_forgotten(running, consultant), what="the erasure")
        await kafka_io.profile(builders.consultant(consultant, email=address))
        await kafka_io.found(consultant, assignment)

        await wait(lambda: len(smtp_sink.handler.to(address)) == 2, what="the second email")
        first, second = smtp_sink.handler.to(address)
        assert first.message["Subject"] == second.message["Subject"]
        # A message of its own, not a repeat a mail provider would drop as a duplicate.
        assert first.message_id != second.message_id


async def test_with_the_real_matcher_a_new_registration_is_matched_and_emailed_again(
    notifier: NotifierFactory,
    kafka: str,
    fresh_database: str,
    kafka_io: TopicWriter,
    smtp_sink: SmtpSink,
    wait: Wait,
    unique_id: str,
) -> None:
    """Profile, erasure, the old profile replayed, a new profile: the matcher and the
    notifier together email the new registration, and only it."""
    consultant, address = f"c-both-{unique_id}", f"both-{unique_id}@example.org"
    assignment = builders.assignment(f"a-both-{unique_id}")
    old_profile = _event(
        EventType.CONSULTANT_UPSERTED,
        consultant,
        builders.consultant(consultant, email=address),
        datetime.now(UTC),
    )
    matcher = await start_matcher(
        MatcherSettings.model_validate(
            {
                "KOPPEL_ENVIRONMENT": "development",
                "MATCHER_API_TOKENS": f"ops:{'t' * 40}",
                "KAFKA_BOOTSTRAP_SERVERS": kafka,
                "DATABASE_URL": fresh_database,
                "MATCHER_GROUP_ID": f"test-erasure-matcher-{unique_id}",
                "MATCHER_INSTANCE_ID": f"test-{unique_id}",
                "MATCHER_INITIAL_OFFSET": "latest",
            }
        )
    )
    try:
        await wait(matcher.loaded, what="the matcher ready")
        async with notifier() as running:
            value, headers = _event(
                EventType.ASSIGNMENT_UPSERTED, assignment.id, assignment, datetime.now(UTC)
            )
            await kafka_io.raw(ASSIGNMENTS, assignment.id.encode(), value, headers)
            await kafka_io.raw(CONSULTANTS, consultant.encode(), *old_profile)
            await wait(lambda: smtp_sink.handler.to(address), what="the first email")

            await kafka_io.erase(consultant)
            await wait(lambda: _address_forgotten(running, consultant), what="the erasure")
            await kafka_io.raw(CONSULTANTS, consultant.encode(), *old_profile)
            await kafka_io.profile(builders.consultant(consultant, email=address))

            await wait(lambda: len(smtp_sink.handler.to(address)) == 2, what="the second email")
            await asyncio.sleep(1.0)
            assert len(smtp_sink.handler.to(address)) == 2
    finally:
        await matcher.stop()


def _event(
    event_type: EventType,
    subject: str,
    data: ContractModel,
    time: datetime,
) -> tuple[bytes, list[tuple[str, bytes]]]:
    source = Source.MATCHER.value if event_type is EventType.MATCH_FOUND else Source.INTAKE.value
    event = new_event(event_type, source=source, subject=subject, data=data)
    return encode(event.model_copy(update={"time": time}))


def _old_found(
    consultant: str,
    assignment: Assignment,
    time: datetime,
) -> tuple[bytes, list[tuple[str, bytes]]]:
    data = builders.match_found(
        consultant, assignment, score=0.9, reasons=["Je beheerst het gevraagde vakgebied"]
    )
    return _event(EventType.MATCH_FOUND, consultant, data, time)


async def _rows_naming(running: Notifier, needles: list[str]) -> list[tuple[str, str]]:
    """(table, row as text) of every row in any table of the database holding a needle."""
    tables = await running.pool.fetch(
        "SELECT table_name FROM information_schema.tables"
        " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
    )
    found = []
    for table in (row["table_name"] for row in tables):
        for row in await running.pool.fetch(f'SELECT t::text AS line FROM "{table}" t'):  # noqa: S608 - names from the catalogue
            if any(needle in row["line"] for needle in needles):
                found.append((table, row["line"]))
    return found


async def _erasure_records(running: Notifier) -> int:
    return int(await running.pool.fetchval("SELECT count(*) FROM notifier_erasures"))


async def _address_forgotten(running: Notifier, consultant: str) -> bool:
    email = await running.pool.fetchval(
        "SELECT email FROM notifier_contacts WHERE consultant_id = $1", consultant
    )
    return email is None


async def _contact(running: Notifier, consultant: str) -> bool:
    return bool(
        await running.pool.fetchval(
            "SELECT count(*) FROM notifier_contacts WHERE consultant_id = $1", consultant
        )
    )


async def _caught_up(running: Notifier, kafka_io: TopicWriter, wait: Wait, consultant: str) -> None:
    """Wait until the notifier has consumed what was sent about `consultant` so far.

    A marker consultant in the same partitions of both topics, with a profile and a match:
    once its match is routed, everything before it on both partitions has been handled.
    """
    marker = marker_for(consultant)
    await kafka_io.profile(builders.consultant(marker))
    await wait(lambda: _contact(running, marker), what="the marker's profile")
    await kafka_io.found(marker, builders.assignment(f"marker-{marker}"))
    await wait(lambda: routed(running, marker), what="the marker's match routed")
