"""The match event's W3C `traceparent` reaches the webhook receiver and the outcome event."""

from __future__ import annotations

import secrets

import pytest
import structlog
from structlog.testing import capture_logs

from koppel.cloudevents import decode
from koppel.contract import NotificationDelivered
from koppel_testing import builders
from koppel_testing.integration_notifier import NotifierFactory
from koppel_testing.integration_waiting import Wait
from koppel_testing.kafka_publishing import TopicWriter
from koppel_testing.kafka_reading import TopicReader
from koppel_testing.receivers import Receiver

pytestmark = pytest.mark.integration


async def test_webhook_and_delivered_event_carry_the_match_events_traceparent(
    notifier: NotifierFactory,
    kafka_io: TopicWriter,
    receiver: Receiver,
    wait: Wait,
    unique_id: str,
    reports: TopicReader,
) -> None:
    consultant = f"c-trace-{unique_id}"
    path = f"hook-{consultant}"
    traceparent = f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        async with notifier() as running:
            await kafka_io.profile(receiver.subscriber(consultant, path))
            await kafka_io.found(
                consultant, builders.assignment(f"a-{unique_id}"), traceparent=traceparent
            )
            await wait(lambda: receiver.at(path), what="the webhook")
            hooks = receiver.at(path)
            assert [hook.headers["traceparent"] for hook in hooks] == [traceparent] * len(hooks)

            stored = await running.pool.fetchval(
                "SELECT traceparent FROM notifier_deliveries WHERE consultant_id = $1",
                consultant,
            )
            assert stored == traceparent

            [record] = await reports.wait_for(consultant.encode(), within=20)
    event = decode(record.value, record.headers)
    assert event.type == "nl.koppel.notification.delivered"
    assert event.traceparent == traceparent
    # The trace can be followed through the notifier's logs to the successful delivery,
    # and the line names no URL.
    (succeeded,) = [
        entry
        for entry in logs
        if entry["event"] == "delivery succeeded" and entry.get("trace_id") == traceparent[3:35]
    ]
    delivered = event.payload()
    assert isinstance(delivered, NotificationDelivered)
    assert succeeded["channel"] == "webhook"
    assert succeeded["match_ids"] == delivered.match_ids
    assert succeeded["delivery_id"] == delivered.notification_id
    assert receiver.url(path) not in str(succeeded)


async def test_a_match_event_without_traceparent_sends_no_header(
    notifier: NotifierFactory,
    kafka_io: TopicWriter,
    receiver: Receiver,
    wait: Wait,
    unique_id: str,
) -> None:
    consultant = f"c-notrace-{unique_id}"
    path = f"hook-{consultant}"
    async with notifier() as running:
        await kafka_io.profile(receiver.subscriber(consultant, path))
        await kafka_io.found(consultant, builders.assignment(f"a-{unique_id}"))
        await wait(lambda: receiver.at(path), what="the webhook")
        assert all("traceparent" not in hook.headers for hook in receiver.at(path))
        stored = await running.pool.fetchval(
            "SELECT traceparent FROM notifier_deliveries WHERE consultant_id = $1", consultant
        )
        assert stored is None
