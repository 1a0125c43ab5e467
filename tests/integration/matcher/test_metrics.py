"""/metrics shows each shard consumer's lag per partition and the HTTP latency histogram."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from koppel.cloudevents import CloudEvent
from koppel.topics import ASSIGNMENTS, CONSULTANTS
from koppel_matcher.adapters.match_queries import MatchQueries
from koppel_matcher.bootstrap import Matcher
from koppel_matcher.entrypoints.http import create_app
from koppel_testing.integration_matcher import found_pair
from koppel_testing.integration_metrics import consumer_lag, covers, sample_values
from koppel_testing.kafka_publishing import TopicWriter
from koppel_testing.kafka_reading import Collector

pytestmark = pytest.mark.integration


async def test_shard_consumer_lag_and_http_latency_are_exposed(
    matcher: Matcher,
    publisher: TopicWriter,
    matches: Collector[CloudEvent],
    unique_id: str,
) -> None:
    await found_pair(publisher, matches, unique_id)
    group = f"test-matcher-{unique_id}.shard-"
    app = create_app(MatchQueries(matcher.pool), matcher, matcher.settings.callers())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://m"
    ) as http:
        assert (await http.get("/healthz")).status_code == 200
        lag: list[str] = []
        text = ""
        for _ in range(100):
            text = (await http.get("/metrics")).text
            lag = consumer_lag(text, group, prefix=True)
            if covers(lag, CONSULTANTS) and covers(lag, ASSIGNMENTS):
                break
            await asyncio.sleep(0.1)
    assert covers(lag, CONSULTANTS), lag
    assert covers(lag, ASSIGNMENTS), lag
    assert all(value >= 0 for value in sample_values(lag))
    assert (
        'koppel_matcher_http_request_duration_seconds_count{method="GET",route="/healthz",'
        'status="200"}' in text
    )
    assert "koppel_matcher_events_produced_total{" in text
