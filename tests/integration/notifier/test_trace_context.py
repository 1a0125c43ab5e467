"""The match event's W3C `traceparent` reaches the webhook receiver and the outcome event."""

from __future__ import annotations

import secrets

import pytest
import structlog
from structlog.testing import capture_logs

from koppel.cloudevents import decode
from koppel.contract import NotificationDelivered
from koppel_testing.integration_notifier import NotifierRig
from koppel_testing.kafka_reading import TopicReader

pytestmark = pytest.mark.integration


async def test_webhook_and_delivered_event_carry_the_match_events_traceparent(
    rig: NotifierRig, reports: TopicReader
) -> None:
    who = rig.named("trace")
    traceparent = f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        async with rig.notifier() as running:
            await rig.subscribe(who)
            await rig.kafka.found(who.id, rig.assignment(), traceparent=traceparent)
            await rig.arrived(who, "webhook")
            hooks = rig.hooks(who)
            assert [hook.headers["traceparent"] for hook in hooks] == [traceparent] * len(hooks)

            stored = await running.pool.fetchval(
                "SELECT traceparent FROM notifier_deliveries WHERE consultant_id = $1",
                who.id,
            )
            assert stored == traceparent

            [record] = await reports.wait_for(who.id.encode(), within=20)
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
    assert rig.receiver.url(who.path) not in str(succeeded)


async def test_a_match_event_without_traceparent_sends_no_header(
    rig: NotifierRig,
) -> None:
    who = rig.named("notrace")
    async with rig.notifier() as running:
        await rig.subscribe(who)
        await rig.kafka.found(who.id, rig.assignment())
        await rig.arrived(who, "webhook")
        assert all("traceparent" not in hook.headers for hook in rig.hooks(who))
        stored = await running.pool.fetchval(
            "SELECT traceparent FROM notifier_deliveries WHERE consultant_id = $1", who.id
        )
        assert stored is None
