"""The intake HTTP API against an in-memory publisher: statuses, problems, records."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from structlog.contextvars import merge_contextvars
from structlog.testing import capture_logs

from koppel.cloudevents import decode
from koppel.secret_sealing import SecretKeyring, is_sealed
from koppel.topics import ASSIGNMENTS, CONSULTANTS
from koppel_intake.adapters.memory_publisher import InMemoryPublisher
from koppel_testing.builders import assignment_document, consultant_document, webhook_notification
from koppel_testing.problems import problem_fields, problem_of


async def test_assignment_upsert_publishes_a_cloudevent_keyed_by_id(
    auth: dict[str, str],
    client: httpx.AsyncClient,
    publisher: InMemoryPublisher,
) -> None:
    body = assignment_document("A-1")

    response = await client.put("/v1/assignments/A-1", json=body, headers=auth)

    assert response.status_code == 202
    answer = response.json()
    assert set(answer) == {"event_id", "id"}
    assert answer["id"] == "A-1"
    [record] = publisher.records
    assert record.topic == ASSIGNMENTS
    assert record.key == b"A-1"
    event = decode(record.value, record.headers)
    assert event.id == answer["event_id"]
    assert event.type == "nl.koppel.assignment.upserted"
    assert event.source == "/koppel/intake"
    assert event.subject == "A-1"
    assert event.time is not None
    assert event.data["organization"]["name"] == body["organization"]["name"]


async def test_body_without_id_takes_the_path_id(
    auth: dict[str, str],
    client: httpx.AsyncClient,
    publisher: InMemoryPublisher,
) -> None:
    body = assignment_document()
    del body["id"]

    response = await client.put("/v1/assignments/from.path:1", json=body, headers=auth)

    assert response.status_code == 202
    event = decode(publisher.records[0].value, publisher.records[0].headers)
    assert event.data["id"] == "from.path:1"


async def test_body_id_different_from_path_is_a_422_naming_id(
    auth: dict[str, str],
    client: httpx.AsyncClient,
    publisher: InMemoryPublisher,
) -> None:
    response = await client.put(
        "/v1/assignments/A-2", json=assignment_document("A-1"), headers=auth
    )

    assert problem_fields(response, 422) == ["body.id"]
    assert publisher.records == []


async def test_invalid_path_id_is_a_422(auth: dict[str, str], client: httpx.AsyncClient) -> None:
    response = await client.put("/v1/assignments/a%20b", json=assignment_document(), headers=auth)

    assert problem_fields(response, 422) == ["path.id"]


async def test_422_names_every_offending_field_including_nested_ones(
    auth: dict[str, str],
    client: httpx.AsyncClient,
    publisher: InMemoryPublisher,
) -> None:
    body = assignment_document(
        level="principal",
        hours_per_week={"min": 2, "max": 32},
        disciplines_required=["campaigns", "juggling"],
        location={"city": "Zwolle", "province": "overijssel", "lat": 52.5},
        unexpected="x",
    )

    response = await client.put("/v1/assignments/A-1", json=body, headers=auth)

    problem = problem_of(response, 422)
    fields = {error["field"] for error in problem["errors"]}
    assert fields == {
        "body.level",
        "body.hours_per_week.min",
        "body.disciplines_required.1",
        "body.location",
        "body.unexpected",
    }
    assert all(error["message"] for error in problem["errors"])
    assert publisher.records == []


async def test_cross_field_rule_is_a_422(auth: dict[str, str], client: httpx.AsyncClient) -> None:
    body = assignment_document(hours_per_week={"min": 36, "max": 24})

    response = await client.put("/v1/assignments/A-1", json=body, headers=auth)

    assert problem_fields(response, 422) == ["body.hours_per_week"]


async def test_control_characters_in_text_fields_are_a_422_naming_each_field(
    auth: dict[str, str],
    client: httpx.AsyncClient,
    publisher: InMemoryPublisher,
) -> None:
    assignment = assignment_document(
        title="Woordvoerder\r\nBcc: everyone@example.org",
        description="Eerste alinea\n\nTweede alinea",
        organization={"name": "Gemeente\u202eZwolle", "type": "municipality"},
        location={"city": "Zwolle\u2028", "province": "overijssel"},
    )
    consultant = consultant_document(name="Sanne\x00de Vries")

    assignment_answer = await client.put("/v1/assignments/A-1", json=assignment, headers=auth)
    consultant_answer = await client.put("/v1/consultants/C-1", json=consultant, headers=auth)

    problem = problem_of(assignment_answer, 422)
    assert {error["field"] for error in problem["errors"]} == {
        "body.title",
        "body.description",
        "body.organization.name",
        "body.location.city",
    }
    assert all("control characters" in error["message"] for error in problem["errors"])
    assert "everyone@example.org" not in assignment_answer.text  # the value is not echoed
    assert problem_fields(consultant_answer, 422) == ["body.name"]
    assert publisher.records == []


@pytest.mark.parametrize("payload", [b"{not json", b'{"title": "x",', b"\xff\xfe"])
async def test_malformed_json_is_a_400_problem(
    auth: dict[str, str], client: httpx.AsyncClient, payload: bytes
) -> None:
    headers = {**auth, "content-type": "application/json"}

    response = await client.put("/v1/assignments/A-1", content=payload, headers=headers)

    assert response.status_code in {400, 422}
    problem_of(response, response.status_code)


@pytest.mark.parametrize("payload", [b"null", b"[]", b'"text"', b""])
async def test_json_that_is_no_object_is_a_422(
    auth: dict[str, str], client: httpx.AsyncClient, payload: bytes
) -> None:
    headers = {**auth, "content-type": "application/json"}

    response = await client.put("/v1/assignments/A-1", content=payload, headers=headers)

    problem_of(response, 422)


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
async def test_wrong_content_type_is_a_415(
    auth: dict[str, str], client: httpx.AsyncClient, content_type: str | None
) -> None:
    headers = dict(auth)
    if content_type:
        headers["content-type"] = content_type

    response = await client.put(
        "/v1/assignments/A-1", content=json.dumps(assignment_document()).encode(), headers=headers
    )

    problem_of(response, 415)


async def test_json_with_charset_is_accepted(
    auth: dict[str, str], client: httpx.AsyncClient
) -> None:
    headers = {**auth, "content-type": "application/json; charset=utf-8"}

    response = await client.put(
        "/v1/assignments/A-1", content=json.dumps(assignment_document()).encode(), headers=headers
    )

    assert response.status_code == 202


async def test_body_over_one_mebibyte_is_a_413(
    auth: dict[str, str],
    client: httpx.AsyncClient,
    publisher: InMemoryPublisher,
) -> None:
    body = assignment_document(description="x" * (1024 * 1024))

    response = await client.put("/v1/assignments/A-1", json=body, headers=auth)

    problem_of(response, 413)
    assert publisher.records == []


async def test_chunked_body_over_the_limit_is_a_413_while_streaming(
    auth: dict[str, str], client: httpx.AsyncClient, publisher: InMemoryPublisher
) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"description": "'
        for _ in range(64):
            sent += 64 * 1024
            yield b"x" * (64 * 1024)
        yield b'"}'

    headers = {**auth, "content-type": "application/json"}
    response = await client.put("/v1/assignments/A-1", content=chunks(), headers=headers)

    problem_of(response, 413)
    assert "content-length" not in response.request.headers
    assert publisher.records == []


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Basic {token}"},
        {"Authorization": "Bearer "},
        {"Authorization": "{token}"},
    ],
)
async def test_missing_or_unknown_token_is_a_401_with_challenge(
    token: str,
    client: httpx.AsyncClient,
    publisher: InMemoryPublisher,
    headers: dict[str, str],
) -> None:
    filled = {name: value.format(token=token) for name, value in headers.items()}

    response = await client.put("/v1/assignments/A-1", json=assignment_document(), headers=filled)

    problem_of(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert publisher.records == []


async def test_token_in_query_string_is_not_accepted(token: str, client: httpx.AsyncClient) -> None:
    response = await client.put(
        f"/v1/assignments/A-1?access_token={token}&token={token}", json=assignment_document()
    )

    problem_of(response, 401)


async def test_unauthenticated_caller_learns_nothing_about_the_body(
    client: httpx.AsyncClient,
) -> None:
    response = await client.put("/v1/assignments/A-1", json={"level": "nope"})

    problem = problem_of(response, 401)
    assert "errors" not in problem


async def test_second_configured_token_is_accepted(client: httpx.AsyncClient) -> None:
    headers = {"Authorization": "Bearer another-token"}

    response = await client.put("/v1/assignments/A-1", json=assignment_document(), headers=headers)

    assert response.status_code == 202


async def test_close_publishes_assignment_closed(
    auth: dict[str, str], client: httpx.AsyncClient, publisher: InMemoryPublisher
) -> None:
    response = await client.post(
        "/v1/assignments/A-1/close", json={"reason": "filled"}, headers=auth
    )

    assert response.status_code == 202
    [record] = publisher.records
    assert (record.topic, record.key) == (ASSIGNMENTS, b"A-1")
    event = decode(record.value, record.headers)
    assert event.type == "nl.koppel.assignment.closed"
    assert event.data["assignment_id"] == "A-1"
    assert event.data["reason"] == "filled"
    assert event.data["closed_at"].endswith("Z")


async def test_close_with_unknown_reason_is_a_422(
    auth: dict[str, str], client: httpx.AsyncClient
) -> None:
    response = await client.post(
        "/v1/assignments/A-1/close", json={"reason": "bored"}, headers=auth
    )

    assert problem_fields(response, 422) == ["body.reason"]


async def test_consultant_upsert_publishes_the_profile_with_its_secret_sealed(
    auth: dict[str, str],
    token: str,
    client: httpx.AsyncClient,
    publisher: InMemoryPublisher,
    keyring: SecretKeyring,
) -> None:
    body = consultant_document("C-1", notification=webhook_notification())
    secret = body["notification"]["webhook_secret"]
    with capture_logs(processors=[merge_contextvars]) as logs:
        response = await client.put("/v1/consultants/C-1", json=body, headers=auth)

    assert response.status_code == 202
    [record] = publisher.records
    assert (record.topic, record.key) == (CONSULTANTS, b"C-1")
    event = decode(record.value, record.headers)
    assert event.type == "nl.koppel.consultant.upserted"
    sealed = event.data["notification"]["webhook_secret"]
    assert is_sealed(sealed)
    assert keyring.open(sealed, consultant_id="C-1") == secret
    assert record.value is not None
    assert secret.removeprefix("whsec_").encode() not in record.value
    logged = json.dumps(logs, default=str)
    assert secret not in logged
    assert token not in logged
    assert body["email"] not in logged


async def test_consultant_cross_field_rule_is_a_422(
    auth: dict[str, str], client: httpx.AsyncClient
) -> None:
    body = consultant_document(specialisms=["crisis_communication"])

    response = await client.put("/v1/consultants/C-1", json=body, headers=auth)

    problem_of(response, 422)


async def test_erasure_is_a_tombstone_with_event_headers(
    auth: dict[str, str], client: httpx.AsyncClient, publisher: InMemoryPublisher
) -> None:
    response = await client.delete("/v1/consultants/C-9", headers=auth)

    assert response.status_code == 202
    [record] = publisher.records
    assert (record.topic, record.key, record.value) == (CONSULTANTS, b"C-9", None)
    headers = dict(record.headers)
    assert (headers["ce_id"] or b"").decode() == response.json()["event_id"]
    assert headers["ce_type"] == b"nl.koppel.consultant.erased"
    assert headers["ce_subject"] == b"C-9"


async def test_broker_unavailable_is_a_503_with_retry_after(
    auth: dict[str, str],
    client: httpx.AsyncClient,
    publisher: InMemoryPublisher,
) -> None:
    publisher.failing = True

    response = await client.put("/v1/assignments/A-1", json=assignment_document(), headers=auth)

    problem_of(response, 503)
    assert int(response.headers["retry-after"]) > 0


async def test_unknown_route_and_wrong_method_are_problems(
    auth: dict[str, str], client: httpx.AsyncClient
) -> None:
    problem_of(await client.get("/v1/nothing-here", headers=auth), 404)
    wrong_method = await client.get("/v1/assignments/A-1", headers=auth)
    problem_of(wrong_method, 405)
    assert "PUT" in wrong_method.headers["allow"]


async def test_incoming_traceparent_continues_on_the_event(
    auth: dict[str, str],
    client: httpx.AsyncClient,
    publisher: InMemoryPublisher,
) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    headers = {**auth, "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"}

    await client.put("/v1/assignments/A-1", json=assignment_document(), headers=headers)

    event = decode(publisher.records[0].value, publisher.records[0].headers)
    assert event.traceparent is not None
    assert event.traceparent.split("-")[1] == trace_id
    assert event.traceparent.split("-")[2] != "00f067aa0ba902b7"


async def test_without_traceparent_a_trace_is_started(
    auth: dict[str, str],
    client: httpx.AsyncClient,
    publisher: InMemoryPublisher,
) -> None:
    await client.put("/v1/assignments/A-1", json=assignment_document(), headers=auth)

    event = decode(publisher.records[0].value, publisher.records[0].headers)
    assert event.traceparent is not None
    assert event.traceparent.startswith("00-")


async def test_health_readiness_and_metrics(
    auth: dict[str, str],
    client: httpx.AsyncClient,
    publisher: InMemoryPublisher,
) -> None:
    await client.put("/v1/assignments/A-1", json=assignment_document(), headers=auth)

    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/readyz")).status_code == 200
    publisher.failing = True
    assert (await client.get("/readyz")).status_code == 503
    metrics = (await client.get("/metrics")).text
    assert 'koppel_intake_http_requests_total{method="PUT",route="/v1/assignments/{id}"' in metrics
    assert "koppel_intake_events_published_total" in metrics
    assert (
        'koppel_intake_http_request_duration_seconds_count{method="PUT",'
        'route="/v1/assignments/{id}",status="202"}' in metrics
    ), "intake's latency histogram has the status label like the matcher's and notifier's"


async def test_openapi_documents_real_models_and_problem_responses(
    client: httpx.AsyncClient,
) -> None:
    schema = (await client.get("/openapi.json")).json()

    put = schema["paths"]["/v1/assignments/{id}"]["put"]
    body_ref = put["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body_ref.endswith("/AssignmentUpsert")
    assert "hours_per_week" in schema["components"]["schemas"]["AssignmentUpsert"]["properties"]
    for status in ("202", "401", "413", "415", "422"):
        assert status in put["responses"]
    for status in ("401", "413", "415", "422", "503"):
        assert "application/problem+json" in put["responses"][status]["content"]
    assert schema["paths"]["/v1/consultants/{id}"]["delete"]["responses"]["202"]
    assert "HTTPBearer" in schema["components"]["securitySchemes"]


async def test_request_logs_bind_event_entity_caller_and_trace(
    auth: dict[str, str], client: httpx.AsyncClient
) -> None:
    with capture_logs(processors=[merge_contextvars]) as logs:
        response = await client.put(
            "/v1/assignments/A-7", json=assignment_document("A-7"), headers=auth
        )

    [handled] = [entry for entry in logs if entry["event"] == "request handled"]
    assert handled["event_id"] == response.json()["event_id"]
    assert handled["entity_id"] == "A-7"
    assert handled["caller"] == "crm"
    assert handled["status"] == 202
    assert handled["traceparent"].startswith("00-")


async def test_log_context_does_not_leak_into_the_next_request(
    auth: dict[str, str], client: httpx.AsyncClient
) -> None:
    await client.put("/v1/assignments/A-7", json=assignment_document("A-7"), headers=auth)
    with capture_logs(processors=[merge_contextvars]) as logs:
        await client.put("/v1/assignments/A-8", json={"title": ""}, headers=auth)

    [handled] = [entry for entry in logs if entry["event"] == "request handled"]
    assert "event_id" not in handled
    assert "entity_id" not in handled
