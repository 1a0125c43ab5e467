"""Answers end to end (contract §8.1): a real matcher found the match and serves its read API
over HTTP; the real intake app checks each answer against it and publishes it on
`koppel.responses.v1` (real Kafka).

It lives with the matcher's tests for their fixtures (`matcher`, `publisher`, `matches`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from koppel.cloudevents import CloudEvent
from koppel.contract.match import match_id_for
from koppel.topics import RESPONSES
from koppel_demo.sandbox import free_port
from koppel_intake.adapters.matcher_directory import HttpMatchDirectory
from koppel_intake.service_layer.ports import DirectoryUnavailableError, KnownMatch
from koppel_matcher.adapters.match_queries import MatchQueries
from koppel_matcher.bootstrap import Matcher
from koppel_matcher.entrypoints.http import create_app
from koppel_testing.builders import assignment, consultant
from koppel_testing.integration_intake import MatcherEndpoint, intake_client
from koppel_testing.integration_matcher import READ_TOKEN, decoded, found_pair
from koppel_testing.kafka_publishing import TopicWriter
from koppel_testing.kafka_reading import Collector

pytestmark = pytest.mark.integration

INTAKE_TOKEN = "answers-intake-token"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


class ServedMatcher:
    """The matcher's read API under uvicorn on a free port, in this event loop."""

    def __init__(self, matcher: Matcher) -> None:
        app = create_app(MatchQueries(matcher.pool), matcher, matcher.settings.callers())
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None, access_log=False)
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve())
        async with asyncio.timeout(30):
            while not self._server.started:
                assert not self._task.done(), "the matcher's read API did not start"
                await asyncio.sleep(0.05)

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task
            self._task = None


@pytest.fixture
async def served(matcher: Matcher) -> AsyncIterator[ServedMatcher]:
    server = ServedMatcher(matcher)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def intake(served: ServedMatcher, kafka: str) -> AsyncIterator[httpx.AsyncClient]:
    """The production intake app (real Kafka publisher, the matcher's read API over HTTP)."""
    endpoint = MatcherEndpoint(served.url, READ_TOKEN)
    async with intake_client(
        kafka, INTAKE_TOKEN, INTAKE_MATCHER_TIMEOUT_SECONDS=2, **endpoint.settings()
    ) as client:
        yield client


@pytest.fixture
async def responses(kafka: str, unique_id: str) -> AsyncIterator[Collector[CloudEvent]]:
    """The answers on `koppel.responses.v1` about this test's consultants, from now on."""

    def ours(event: CloudEvent) -> bool:
        return unique_id in str((event.data or {}).get("consultant_id", ""))

    collector = Collector(kafka, RESPONSES, decoded, ours)
    await collector.start()
    try:
        yield collector
    finally:
        await collector.stop()


async def test_an_answer_to_a_found_match_reaches_the_responses_topic(
    intake: httpx.AsyncClient,
    served: ServedMatcher,
    publisher: TopicWriter,
    matches: Collector[CloudEvent],
    responses: Collector[CloudEvent],
    unique_id: str,
) -> None:
    a, c, other = f"a-{unique_id}", f"c1-{unique_id}", f"c2-{unique_id}"
    await publisher.assignment(assignment(a))
    await publisher.profile(consultant(c))
    await publisher.profile(consultant(other))
    await matches.wait_for(2)
    match_id = match_id_for(a, c)
    path = f"/v1/matches/{match_id}/response"
    traceparent = f"00-{TRACE_ID}-00f067aa0ba902b7-01"

    answered = await intake.put(
        path,
        json={"consultant_id": c, "response": "not_interested", "reason": "hours"},
        headers={"traceparent": traceparent},
    )

    assert answered.status_code == 202, answered.text
    (event,) = await responses.wait_for(1)
    assert answered.json() == {"event_id": event.id, "id": match_id}
    assert event.type == "nl.koppel.match.responded"
    assert event.subject == match_id
    assert event.traceparent is not None
    assert event.traceparent.split("-")[1] == TRACE_ID
    data = event.data
    assert (data["match_id"], data["consultant_id"], data["assignment_id"]) == (match_id, c, a)
    assert (data["response"], data["reason"], data["via"]) == ("not_interested", "hours", "api")

    for consultant_id, target in (
        (other, match_id),  # another consultant's match
        (f"nobody-{unique_id}", match_id),  # a consultant the matcher does not know
        (c, match_id_for(f"nothing-{unique_id}", c)),  # no such match
    ):
        refused = await intake.put(
            f"/v1/matches/{target}/response",
            json={"consultant_id": consultant_id, "response": "interested"},
        )
        assert refused.status_code == 404, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert other not in refused.text

    taken_back = await intake.delete(path, params={"consultant_id": c})

    assert taken_back.status_code == 202, taken_back.text
    events = await responses.wait_for(2)
    assert len(events) == 2, "the refused answers published nothing"
    withdrawn = events[1]
    assert withdrawn.type == "nl.koppel.match.response_withdrawn"
    assert withdrawn.id == taken_back.json()["event_id"]
    assert (withdrawn.data["match_id"], withdrawn.data["via"]) == (match_id, "api")

    await served.stop()
    unreachable = await intake.put(path, json={"consultant_id": c, "response": "interested"})
    assert unreachable.status_code == 503, unreachable.text
    assert unreachable.headers["content-type"] == "application/problem+json"
    assert int(unreachable.headers["retry-after"]) > 0
    assert len(await responses.settle(1.0)) == 2


async def test_the_directory_adapter_reads_the_matchers_answer(
    served: ServedMatcher,
    publisher: TopicWriter,
    matches: Collector[CloudEvent],
    unique_id: str,
) -> None:
    """`HttpMatchDirectory` against the real read API: a match, none, and a refused token."""
    a, c = await found_pair(publisher, matches, unique_id)
    directory = HttpMatchDirectory(served.url, READ_TOKEN, timeout_seconds=5)
    refused = HttpMatchDirectory(served.url, "not-the-token", timeout_seconds=5)
    try:
        found = await directory.find(match_id_for(a, c))
        assert found == KnownMatch(match_id_for(a, c), c, a, "found")
        assert await directory.find(match_id_for(a, f"nobody-{unique_id}")) is None
        with pytest.raises(DirectoryUnavailableError):
            await refused.find(match_id_for(a, c))
    finally:
        await directory.close()
        await refused.close()
