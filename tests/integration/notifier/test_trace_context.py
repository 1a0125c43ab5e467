"""The match event's W3C `traceparent` reaches the webhook receiver and the outcome event."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pytest
import structlog
from aiokafka import AIOKafkaConsumer
from structlog.testing import capture_logs

from koppel.cloudevents import decode
from koppel.contract import NotificationDelivered
from koppel.topics import NOTIFICATIONS
from koppel_testing import WEBHOOK_SECRET as SECRET

pytestmark = pytest.mark.integration


async def test_webhook_and_delivered_event_carry_the_match_events_traceparent(
    notifier: Any,
    kafka_io: Any,
    receiver: Any,
    make_profile: Any,
    make_assignment: Any,
    wait: Any,
    unique_id: str,
    kafka: str,
) -> None:
    consultant = f"c-trace-{unique_id}"
    path = f"hook-{consultant}"
    traceparent = f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"
    reports = AIOKafkaConsumer(
        NOTIFICATIONS, bootstrap_servers=kafka, auto_offset_reset="latest", group_id=None
    )
    await reports.start()
    await reports.seek_to_end()
    try:
        with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
            async with notifier() as running:
                await kafka_io.profile(
                    make_profile(
                        consultant,
                        channels=["webhook"],
                        webhook_url=receiver.url(path),
                        webhook_secret=SECRET,
                    )
                )
                await kafka_io.found(
                    consultant, make_assignment(f"a-{unique_id}"), traceparent=traceparent
                )
                await wait(lambda: receiver.at(path), what="the webhook")
                hooks = receiver.at(path)
                assert [hook.headers["traceparent"] for hook in hooks] == [traceparent] * len(hooks)

                stored = await running.pool.fetchval(
                    "SELECT traceparent FROM notifier_deliveries WHERE consultant_id = $1",
                    consultant,
                )
                assert stored == traceparent

                async with asyncio.timeout(20):
                    while True:
                        record = await reports.getone()
                        if record.key == consultant.encode():
                            break
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
    finally:
        await reports.stop()


async def test_a_match_event_without_traceparent_sends_no_header(
    notifier: Any,
    kafka_io: Any,
    receiver: Any,
    make_profile: Any,
    make_assignment: Any,
    wait: Any,
    unique_id: str,
) -> None:
    consultant = f"c-notrace-{unique_id}"
    path = f"hook-{consultant}"
    async with notifier() as running:
        await kafka_io.profile(
            make_profile(
                consultant,
                channels=["webhook"],
                webhook_url=receiver.url(path),
                webhook_secret=SECRET,
            )
        )
        await kafka_io.found(consultant, make_assignment(f"a-{unique_id}"))
        await wait(lambda: receiver.at(path), what="the webhook")
        assert all("traceparent" not in hook.headers for hook in receiver.at(path))
        stored = await running.pool.fetchval(
            "SELECT traceparent FROM notifier_deliveries WHERE consultant_id = $1", consultant
        )
        assert stored is None
