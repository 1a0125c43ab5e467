"""/metrics shows the consumer's lag per partition, HTTP latency and produced events."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from koppel.topics import CONSULTANTS, MATCHES, NOTIFICATIONS
from koppel_testing.integration_metrics import consumer_lag, covers, sample_values
from koppel_testing.integration_notifier import NotifierRig

pytestmark = pytest.mark.integration


async def test_consumer_lag_http_latency_and_produced_events_are_exposed(
    rig: NotifierRig,
) -> None:
    who = rig.named("metrics")
    async with rig.notifier() as running:
        group = running.settings.group_id
        await rig.subscribe(who)
        await rig.kafka.found(who.id, rig.assignment())
        await rig.arrived(who, "webhook")
        transport = httpx.ASGITransport(app=running.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://notifier") as web:
            assert (await web.get("/healthz")).status_code == 200
            text = ""
            # The delivered event goes out through the outbox relay, shortly after the webhook.
            produced = f'koppel_notifier_events_produced_total{{topic="{NOTIFICATIONS}"}} 1.0'
            for _ in range(100):
                text = (await web.get("/metrics")).text
                lag = consumer_lag(text, group)
                if covers(lag, MATCHES) and covers(lag, CONSULTANTS) and produced in text:
                    break
                await asyncio.sleep(0.1)
    assert covers(lag, MATCHES), lag
    assert covers(lag, CONSULTANTS), lag
    assert all(value >= 0 for value in sample_values(lag))
    assert (
        'koppel_notifier_http_request_duration_seconds_count{method="GET",route="/healthz",'
        'status="200"} 1.0' in text
    )
    assert produced in text
