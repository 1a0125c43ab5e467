"""The inbox use cases and the consumer that feeds them, against an in-memory inbox."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any, cast

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaConnectionError

from koppel.cloudevents import encode, new_event
from koppel.contract import MatchFound, match_id_for
from koppel.dead_letters import DeadLetterCode
from koppel.event_types import EventType, Source
from koppel.secret_sealing import SecretKeyring, new_key
from koppel.topics import CONSULTANTS, MATCHES, RESPONSES
from koppel.vocabulary import WithdrawalReason
from koppel_notifier.domain.commands import ConsultantErased
from koppel_notifier.domain.model import ChannelName
from koppel_notifier.entrypoints.kafka_consumer import InboxConsumer
from koppel_notifier.metrics import NotifierMetrics
from koppel_testing.notifier_inbox import (
    T0,
    FakeInbox,
    answered,
    contact,
    found,
    handled,
    planned,
    profile,
    withdrawn,
)

KEYRING = SecretKeyring.parse(new_key("unit"))

MatchBuilder = Callable[..., dict[str, Any]]
Wait = Callable[..., Awaitable[None]]


# ---------------------------------------------------------------- the use cases


async def test_a_found_match_routed_to_email_and_webhook_plans_two_deliveries() -> None:
    fake = FakeInbox()
    assert await handled(fake, profile(), found()) == ["applied", "applied"]
    assert planned(fake) == {
        "match.found|m-1|1|email": "pending",
        "match.found|m-1|1|webhook": "pending",
    }


async def test_in_digest_mode_the_email_waits_for_the_digest_and_the_webhook_does_not() -> None:
    fake = FakeInbox()
    await handled(fake, profile(digest=True), found())
    assert planned(fake) == {
        "match.found|m-1|1|email": "queued",
        "match.found|m-1|1|webhook": "pending",
    }


async def test_a_match_below_min_score_is_kept_but_sends_nothing() -> None:
    fake = FakeInbox()
    assert await handled(fake, profile(min_score=0.9), found(score=0.8)) == ["applied", "applied"]
    assert planned(fake) == {}


async def test_a_replayed_match_is_a_duplicate_and_plans_nothing_more() -> None:
    fake = FakeInbox()
    assert await handled(fake, profile(), found(), found()) == ["applied", "applied", "duplicate"]
    assert len(planned(fake)) == 2


async def test_a_match_before_the_profile_waits_and_is_routed_when_it_arrives() -> None:
    fake = FakeInbox()
    assert await handled(fake, found()) == ["applied"]
    assert planned(fake) == {}
    await handled(fake, profile(channels=frozenset({ChannelName.WEBHOOK})))
    assert planned(fake) == {"match.found|m-1|1|webhook": "pending"}
    assert all(event.routed for event in fake.tables.events.values())


async def test_an_erased_consultants_late_match_is_ignored() -> None:
    fake = FakeInbox()
    erased_at = T0 + timedelta(hours=1)
    await handled(fake, profile(), ConsultantErased("c-1", erased_at))
    assert await handled(fake, found(at=erased_at - timedelta(seconds=1))) == ["stale"]
    assert await handled(fake, profile(at=erased_at)) == ["stale"]
    assert fake.tables.events == {}
    assert fake.tables.deliveries == {}
    assert fake.tables.contacts == {}


async def test_a_registration_after_the_erasure_is_notified_under_new_keys() -> None:
    fake = FakeInbox()
    erased_at = T0 + timedelta(hours=1)
    await handled(fake, profile(), found(), ConsultantErased("c-1", erased_at))
    later = erased_at + timedelta(minutes=1)
    assert await handled(fake, profile(at=later), found(at=later)) == ["applied", "applied"]
    assert set(planned(fake)) == {
        f"match.found|m-1|1|email|after:{erased_at.isoformat()}",
        f"match.found|m-1|1|webhook|after:{erased_at.isoformat()}",
    }


async def test_a_withdrawal_cancels_what_is_unsent_and_is_announced_where_the_match_was() -> None:
    fake = FakeInbox()
    await handled(fake, profile(), found())
    fake.tables.deliveries["match.found|m-1|1|webhook"].status = "delivered"
    assert await handled(fake, withdrawn()) == ["applied"]
    assert planned(fake) == {
        "match.found|m-1|1|email": "cancelled",
        "match.found|m-1|1|webhook": "delivered",
        "match.withdrawn|m-1|1|webhook": "pending",
    }


async def test_a_withdrawal_of_a_match_never_found_is_ignored() -> None:
    fake = FakeInbox()
    assert await handled(fake, profile(), withdrawn()) == ["applied", "ignored"]
    assert planned(fake) == {}


async def test_the_matchers_erasure_withdrawal_forgets_the_consultants_matches() -> None:
    fake = FakeInbox()
    await handled(fake, profile(), found())
    erasure = withdrawn(reason=WithdrawalReason.CONSULTANT_ERASED)
    assert await handled(fake, erasure) == ["ignored"]
    assert fake.tables.events == {}
    assert planned(fake) == {}


async def test_a_profile_change_cancels_dropped_channels_and_releases_the_digest() -> None:
    fake = FakeInbox()
    await handled(fake, profile(digest=True), found())
    await handled(fake, profile(channels=frozenset({ChannelName.EMAIL})))
    assert planned(fake) == {
        "match.found|m-1|1|email": "pending",
        "match.found|m-1|1|webhook": "cancelled",
    }


# ---------------------------------------------------------------- the consumer


class FakeDeadLetters:
    def __init__(self) -> None:
        self.letters: list[tuple[str, bytes | None, DeadLetterCode, str]] = []

    async def dead_letter(
        self,
        topic: str,
        *,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]],
        error_code: DeadLetterCode,
        error: str,
        source_topic: str,
        partition: int,
        offset: int,
    ) -> None:
        self.letters.append((topic, key, error_code, error))


class FakeKafka:
    """Serves `batches` one poll at a time, then nothing; keeps seeks and commits."""

    def __init__(self, batches: list[dict[TopicPartition, list[ConsumerRecord]]]) -> None:
        self._batches = batches
        self._listener: Any = None
        self.seeks: list[tuple[TopicPartition, int]] = []
        self.commits: list[dict[TopicPartition, int]] = []

    def subscribe(self, topics: list[str], *, listener: Any) -> None:
        self._listener = listener

    async def start(self) -> None:
        await self._listener.on_partitions_assigned([])

    async def getmany(self, *, timeout_ms: int, max_records: int) -> dict[Any, Any]:
        if self._batches:
            return self._batches.pop(0)
        await asyncio.sleep(0.01)
        return {}

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self.seeks.append((partition, offset))

    async def commit(self, offsets: dict[TopicPartition, Any]) -> None:
        self.commits.append({tp: meta.offset for tp, meta in offsets.items()})

    def assignment(self) -> set[TopicPartition]:
        return set()

    async def stop(self) -> None:
        pass


def match_record(offset: int, payload: dict[str, Any], consultant_id: str) -> ConsumerRecord:
    match_id = match_id_for("a-1", consultant_id)
    data = MatchFound.model_validate(
        {**payload, "consultant_id": consultant_id, "match_id": match_id}
    )
    event = new_event(
        EventType.MATCH_FOUND, source=Source.MATCHER, subject=consultant_id, data=data
    )
    value, headers = encode(event)
    return _record(MATCHES, offset, consultant_id.encode(), value, headers)


def _record(
    topic: str, offset: int, key: bytes, value: bytes | None, headers: list[tuple[str, bytes]]
) -> ConsumerRecord:
    return ConsumerRecord(
        topic, 0, offset, 1_764_633_600_000 + offset, 0, key, value, None, 0, 0, headers
    )


def consumer(
    fake: FakeInbox,
    letters: FakeDeadLetters,
    metrics: NotifierMetrics,
    kafka: FakeKafka | None = None,
) -> tuple[InboxConsumer, list[int]]:
    woken: list[int] = []
    reader = cast(AIOKafkaConsumer, kafka or FakeKafka([]))
    running = InboxConsumer(
        lambda: reader,
        fake,
        letters,
        metrics,
        lambda: woken.append(1),
        group_id="notifier-unit",
        keyring=KEYRING,
    )
    return running, woken


def consumed(metrics: NotifierMetrics, topic: str, result: str) -> float | None:
    return metrics.registry.get_sample_value(
        "koppel_notifier_events_consumed_total", {"topic": topic, "result": result}
    )


async def test_an_unreadable_record_is_dead_lettered_and_the_rest_of_the_batch_applied(
    make_match: MatchBuilder,
) -> None:
    fake, letters, metrics = FakeInbox(), FakeDeadLetters(), NotifierMetrics()
    await handled(fake, profile())
    batch = [match_record(0, make_match(), "c-1"), _record(MATCHES, 1, b"c-1", b"{not json", [])]
    running, _ = consumer(fake, letters, metrics)
    await running.apply({TopicPartition(MATCHES, 0): batch})
    assert len(planned(fake)) == 2
    [(topic, key, code, _)] = letters.letters
    assert (topic, key) == (f"{MATCHES}.dlq", b"c-1")
    assert code is not DeadLetterCode.PROCESSING_FAILED
    assert consumed(metrics, MATCHES, "applied") == 1
    assert consumed(metrics, MATCHES, "dead_lettered") == 1


async def test_a_record_postgresql_refuses_goes_alone_and_the_others_are_written_once(
    make_match: MatchBuilder,
) -> None:
    fake, letters, metrics = FakeInbox(refused=["c-2"]), FakeDeadLetters(), NotifierMetrics()
    await handled(fake, profile())
    batch = [
        match_record(0, make_match(), "c-1"),
        match_record(1, make_match(), "c-2"),
        _record(CONSULTANTS, 2, b"c-3", None, []),
    ]
    running, _ = consumer(fake, letters, metrics)
    await running.apply({TopicPartition(MATCHES, 0): batch})
    assert len(planned(fake)) == 2
    assert "c-3" in fake.tables.erasures
    [(topic, key, code, reason)] = letters.letters
    assert (topic, key, code) == (f"{MATCHES}.dlq", b"c-2", DeadLetterCode.PROCESSING_FAILED)
    assert reason.startswith("PostgreSQL refused the record (SQLSTATE 22000 DataError)")
    assert consumed(metrics, MATCHES, "applied") == 1


async def test_offsets_are_committed_after_the_batch_and_a_failed_write_is_read_again(
    make_match: MatchBuilder, wait: Wait
) -> None:
    fake, letters, metrics = FakeInbox(failures=1), FakeDeadLetters(), NotifierMetrics()
    fake.tables.contacts["c-1"] = contact()
    partition = TopicPartition(MATCHES, 0)
    batch = {partition: [match_record(7, make_match(), "c-1")]}
    kafka = FakeKafka([batch, batch])
    running, woken = consumer(fake, letters, metrics, kafka)
    task = asyncio.create_task(running.run())
    try:
        await wait(lambda: kafka.commits, within=5, what="offsets committed")
        assert kafka.seeks == [(partition, 7)]
        assert kafka.commits == [{partition: 8}]
        assert fake.committed == 1
        assert len(planned(fake)) == 2
        assert woken == [1]
        assert running.started
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_answers_are_recorded_unreadable_ones_dead_lettered_and_tombstones_ignored(
    found_payload: dict[str, Any],
) -> None:
    fake, letters, metrics = FakeInbox(), FakeDeadLetters(), NotifierMetrics()
    answer = answered().answer
    event = new_event(
        EventType.MATCH_RESPONDED, source=Source.INTAKE, subject=answer.match_id, data=answer
    )
    value, headers = encode(event)
    key = answer.match_id.encode()
    wrong = new_event(
        EventType.MATCH_FOUND,
        source=Source.MATCHER,
        subject="c-1",
        data=MatchFound.model_validate(found_payload),
    )
    wrong_value, wrong_headers = encode(wrong)
    batch = [
        _record(RESPONSES, 0, key, value, headers),
        _record(RESPONSES, 1, key, b"{not json", []),
        _record(RESPONSES, 2, key, wrong_value, wrong_headers),
        _record(RESPONSES, 3, key, None, []),
    ]
    running, _ = consumer(fake, letters, metrics)
    await running.apply({TopicPartition(RESPONSES, 0): batch})
    assert fake.tables.answers == {answer.match_id: answer}
    assert [(topic, code) for topic, _, code, _ in letters.letters] == [
        (f"{RESPONSES}.dlq", DeadLetterCode.INVALID_ENVELOPE),
        (f"{RESPONSES}.dlq", DeadLetterCode.UNKNOWN_TYPE),
    ]
    assert consumed(metrics, RESPONSES, "applied") == 1
    assert consumed(metrics, RESPONSES, "ignored") == 1
    assert consumed(metrics, RESPONSES, "dead_lettered") == 2


class BrokenKafka(FakeKafka):
    """A consumer whose first poll fails, as a broker or network fault would end the loop."""

    async def getmany(self, *, timeout_ms: int, max_records: int) -> dict[Any, Any]:
        raise KafkaConnectionError("the broker went away")


async def test_a_crashed_loop_runs_again_through_a_fresh_consumer(
    make_match: MatchBuilder, wait: Wait
) -> None:
    fake, letters, metrics = FakeInbox(), FakeDeadLetters(), NotifierMetrics()
    fake.tables.contacts["c-1"] = contact()
    partition = TopicPartition(MATCHES, 0)
    readers = [BrokenKafka([]), FakeKafka([{partition: [match_record(3, make_match(), "c-1")]}])]
    handed_out: list[FakeKafka] = []

    def new_consumer() -> AIOKafkaConsumer:
        handed_out.append(readers[len(handed_out)])
        return cast(AIOKafkaConsumer, handed_out[-1])

    running = InboxConsumer(
        new_consumer,
        fake,
        letters,
        metrics,
        lambda: None,
        group_id="notifier-unit",
        keyring=KEYRING,
    )
    with pytest.raises(KafkaConnectionError):
        await running.run()
    task = asyncio.create_task(running.run())
    try:
        await wait(lambda: readers[1].commits, within=5, what="offsets committed")
        assert handed_out == readers
        assert readers[1].commits == [{partition: 4}]
        assert len(planned(fake)) == 2
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
