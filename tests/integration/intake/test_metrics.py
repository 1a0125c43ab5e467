"""/metrics shows the raw consumer's lag per partition and the HTTP latency histogram."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from koppel.topics import RAW
from koppel_intake.adapters.kafka_producer import KafkaEventPublisher
from koppel_testing.integration_intake import StartConsumer
from koppel_testing.integration_metrics import consumer_lag, sample_values

pytestmark = pytest.mark.integration


async def test_consumer_lag_and_http_latency_are_exposed(
    intake_api: httpx.AsyncClient,
    publisher: KafkaEventPublisher,
    start_consumer: StartConsumer,
    group_id: str,
) -> None:
    await start_consumer(publisher)
    # A request is counted once it is answered: the latency of /metrics shows from the
    # second scrape on (the first may find the lag series already).
    scraped = (
        'koppel_intake_http_request_duration_seconds_count{method="GET",route="/metrics",'
        'status="200"}'
    )
    text = ""
    for _ in range(100):
        text = (await intake_api.get("/metrics")).text
        if f'group="{group_id}"' in text and scraped in text:
            break
        await asyncio.sleep(0.1)
    lag = consumer_lag(text, group_id)
    assert lag, "no lag series for the raw consumer's group"
    assert all(f'topic="{RAW}"' in line for line in lag)
    assert all(value >= 0 for value in sample_values(lag))
    assert scraped in text
