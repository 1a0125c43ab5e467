"""Answers on a consultant's behalf (contract §8.1) against an in-memory publisher and match
directory: every outcome of `PUT` / `DELETE /v1/matches/{match_id}/response`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from koppel.cloudevents import CloudEvent, decode
from koppel.contract.match import match_id_for
from koppel.topics import RESPONSES
from koppel_intake.adapters.memory_publisher import InMemoryPublisher
from koppel_testing.match_directory import InMemoryMatchDirectory
from koppel_testing.problems import problem_fields, problem_of

INTERESTED: dict[str, Any] = {"consultant_id": "C-1", "response": "interested"}


@pytest.fixture
def match_id(directory: InMemoryMatchDirectory) -> str:
    """C-1's open match with A-1, known to the match directory."""
    return directory.add("C-1", "A-1")


def _path(match_id: str) -> str:
    return f"/v1/matches/{match_id}/response"


def _published(publisher: InMemoryPublisher) -> CloudEvent:
    (record,) = publisher.records
    assert record.topic == RESPONSES
    assert record.value is not None
    event = decode(record.value, record.headers)
    assert event.subject is not None
    assert record.key == event.subject.encode()
    return event


@dataclass(frozen=True)
class AnswersApi:
    """The app's answer routes, with the in-memory publisher and match directory behind them."""

    client: httpx.AsyncClient
    auth: dict[str, str]
    publisher: InMemoryPublisher
    directory: InMemoryMatchDirectory

    async def answer(
        self, match_id: str, headers: dict[str, str] | None = None, **body: Any
    ) -> httpx.Response:
        """`PUT` of C-1's interested answer, as the authenticated caller unless `headers` are
        given; `body` replaces or adds fields."""
        return await self.client.put(
            _path(match_id), json={**INTERESTED, **body}, headers=_or(headers, self.auth)
        )

    async def take_back(
        self, match_id: str, consultant_id: str = "C-1", headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """`DELETE` of the consultant's answer, as the authenticated caller unless `headers`
        are given."""
        return await self.client.delete(
            _path(match_id),
            params={"consultant_id": consultant_id},
            headers=_or(headers, self.auth),
        )

    def accepted(self, response: httpx.Response, match_id: str) -> CloudEvent:
        """The one event an accepted answer published, once the answer names it and the match."""
        assert response.status_code == 202, response.text
        event = _published(self.publisher)
        assert response.json() == {"event_id": event.id, "id": match_id}
        return event


def _or(headers: dict[str, str] | None, default: dict[str, str]) -> dict[str, str]:
    return default if headers is None else headers


@pytest.fixture
def api(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    publisher: InMemoryPublisher,
    directory: InMemoryMatchDirectory,
) -> AnswersApi:
    return AnswersApi(client, auth, publisher, directory)


def _recent(stamp: str) -> bool:
    moment = datetime.fromisoformat(stamp)
    return timedelta(0) <= datetime.now(UTC) - moment < timedelta(minutes=1)


async def test_an_interested_answer_is_published_keyed_by_the_match(
    api: AnswersApi, match_id: str
) -> None:
    response = await api.answer(match_id)

    event = api.accepted(response, match_id)
    assert api.publisher.records[0].key == match_id.encode()
    assert event.type == "nl.koppel.match.responded"
    assert event.source == "/koppel/intake"
    assert event.traceparent is not None
    data = event.data
    assert {k: v for k, v in data.items() if k != "responded_at"} == {
        "match_id": match_id,
        "consultant_id": "C-1",
        "assignment_id": "A-1",
        "response": "interested",
        "reason": None,
        "note": None,
        "via": "api",
    }
    assert _recent(data["responded_at"])
    assert api.directory.asked == [match_id]


async def test_not_interested_carries_the_reason_and_the_note(api: AnswersApi) -> None:
    match_id = api.directory.add("C-1", "A-1", status="withdrawn")

    response = await api.answer(
        match_id,
        response="not_interested",
        reason="hours",
        note="Maximaal 24 uur per week.",
    )

    data = api.accepted(response, match_id).data
    assert (data["response"], data["reason"], data["note"]) == (
        "not_interested",
        "hours",
        "Maximaal 24 uur per week.",
    )


async def test_unknown_match_unknown_consultant_and_anothers_match_are_one_404(
    api: AnswersApi,
) -> None:
    theirs = api.directory.add("C-2", "A-1")
    cases = [
        (match_id_for("A-404", "C-1"), "C-1"),  # no such match
        (theirs, "C-1"),  # another consultant's match
        (theirs, "C-unknown"),  # a consultant the matcher never saw
    ]
    problems = []
    for match_id, consultant_id in cases:
        answered = await api.answer(match_id, consultant_id=consultant_id)
        taken_back = await api.take_back(match_id, consultant_id)
        for response in (answered, taken_back):
            problem = problem_of(response, 404)
            assert "C-2" not in response.text
            problems.append(problem)
    assert all(problem == problems[0] for problem in problems)
    assert problems[0]["type"] == "urn:koppel:problem:match-not-found"
    assert api.publisher.records == []


async def test_an_unreachable_matcher_is_a_503_with_retry_after_and_nothing_published(
    api: AnswersApi, match_id: str
) -> None:
    api.directory.unavailable = True

    answered = await api.answer(match_id)
    taken_back = await api.take_back(match_id)

    for response in (answered, taken_back):
        problem = problem_of(response, 503)
        assert problem["type"] == "urn:koppel:problem:matcher-unavailable"
        assert int(response.headers["retry-after"]) > 0
    assert api.publisher.records == []


async def test_an_unacknowledged_answer_is_a_503(api: AnswersApi, match_id: str) -> None:
    api.publisher.failing = True

    response = await api.answer(match_id)

    problem = problem_of(response, 503)
    assert problem["type"] == "urn:koppel:problem:broker-unavailable"


async def test_taking_the_answer_back_publishes_response_withdrawn(
    api: AnswersApi, match_id: str
) -> None:
    response = await api.take_back(match_id)

    event = api.accepted(response, match_id)
    assert event.type == "nl.koppel.match.response_withdrawn"
    data = event.data
    assert {k: v for k, v in data.items() if k != "withdrawn_at"} == {
        "match_id": match_id,
        "consultant_id": "C-1",
        "assignment_id": "A-1",
        "via": "api",
    }
    assert _recent(data["withdrawn_at"])


async def test_invalid_answers_are_422s_naming_the_field(api: AnswersApi, match_id: str) -> None:
    path = _path(match_id)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"consultant_id": "C-1", "response": "maybe"}, "body.response"),
        ({"consultant_id": "C-1", "response": "not_interested", "reason": "x"}, "body.reason"),
        ({"consultant_id": "C-1", "response": "not_interested", "note": "n" * 501}, "body.note"),
        ({"consultant_id": "C-1", "response": "not_interested", "note": "a\u202eb"}, "body.note"),
        ({"response": "interested"}, "body.consultant_id"),
        ({"consultant_id": "C 1", "response": "interested"}, "body.consultant_id"),
        ({"consultant_id": "C-1", "response": "interested", "extra": 1}, "body.extra"),
    ]
    for body, field in cases:
        fields = problem_fields(await api.client.put(path, json=body, headers=api.auth), 422)
        assert field in fields, (body, fields)
    problem_of(await api.answer(match_id, reason="rate"), 422)
    missing = await api.client.delete(path, headers=api.auth)
    assert "query.consultant_id" in problem_fields(missing, 422)
    bad_id = await api.answer("not a match")
    assert "path.match_id" in problem_fields(bad_id, 422)
    assert api.publisher.records == []
    assert api.directory.asked == []


async def test_without_a_token_it_is_a_401_and_the_matcher_is_not_asked(
    api: AnswersApi, match_id: str
) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        problem_of(await api.answer(match_id, headers), 401)
        problem_of(await api.take_back(match_id, headers=headers), 401)
    assert api.directory.asked == []


async def test_the_consultants_note_never_reaches_a_log_line(
    api: AnswersApi, match_id: str
) -> None:
    note = "Bel me liever op 06-12345678, groet Sanne"

    with capture_logs() as logs:
        response = await api.answer(match_id, response="not_interested", note=note)

    assert response.status_code == 202
    assert logs
    assert not any("06-12345678" in repr(entry) for entry in logs)


async def test_openapi_documents_the_answer_routes_with_examples(
    client: httpx.AsyncClient,
) -> None:
    schema = (await client.get("/openapi.json")).json()

    path = schema["paths"]["/v1/matches/{match_id}/response"]
    put, delete = path["put"], path["delete"]
    body = put["requestBody"]["content"]["application/json"]
    assert body["schema"]["$ref"].endswith("/ResponseCommand")
    assert {"interested", "not_interested"} <= set(body["examples"])
    for operation in (put, delete):
        assert "202" in operation["responses"]
        for status in ("401", "404", "422", "503"):
            assert "application/problem+json" in operation["responses"][status]["content"]
    (parameter,) = [p for p in delete["parameters"] if p["name"] == "consultant_id"]
    assert parameter["in"] == "query"
    assert parameter["required"] is True
