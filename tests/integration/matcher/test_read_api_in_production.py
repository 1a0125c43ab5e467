"""`koppel-matcher` as a process in production (the default): its read API answers only a
caller with a token of MATCHER_API_TOKENS; probes and metrics stay open."""

from __future__ import annotations

import httpx
import pytest

from koppel.cloudevents import CloudEvent
from koppel_testing.integration_matcher import SpawnMatcher, found_pair
from koppel_testing.kafka_publishing import TopicWriter
from koppel_testing.kafka_reading import Collector

pytestmark = pytest.mark.integration

STRONG = "Vq3xT9kLm2Rz7Hc4Wd8Np1Bs6Gf5Yj0Ae"


async def test_the_read_api_of_a_production_matcher_needs_a_bearer_token(
    spawn: SpawnMatcher,
    publisher: TopicWriter,
    matches: Collector[CloudEvent],
    unique_id: str,
) -> None:
    matcher = spawn(KOPPEL_ENVIRONMENT="production", MATCHER_API_TOKENS=f"ops:{STRONG}")
    await matcher.wait_ready()
    a, c = await found_pair(publisher, matches, unique_id)
    path = f"/v1/assignments/{a}/matches"
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{matcher.port}", timeout=10) as http:
        anonymous = await http.get(path)
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"].startswith("Bearer ")
        assert anonymous.headers["content-type"] == "application/problem+json"
        assert c not in anonymous.text
        assert (
            await http.get(path, headers={"Authorization": "Bearer demo-token"})
        ).status_code == 401
        answered = await http.get(path, headers={"Authorization": f"Bearer {STRONG}"})
        assert answered.status_code == 200
        assert [m["consultant_id"] for m in answered.json()["matches"]] == [c]
        for open_path in ("/healthz", "/readyz", "/metrics"):
            assert (await http.get(open_path)).status_code == 200, open_path
    matcher.stop()
    assert STRONG not in matcher.log()
