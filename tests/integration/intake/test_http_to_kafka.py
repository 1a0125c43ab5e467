"""HTTP → Kafka against a real broker: each command lands on its topic, keyed by the id."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from cloudevents.v1.kafka import KafkaMessage, from_structured

from koppel.cloudevents import decode
from koppel.topics import ASSIGNMENTS, CONSULTANTS
from koppel_testing import builders
from koppel_testing.kafka_reading import OpenReader

pytestmark = pytest.mark.integration


async def test_assignment_upsert_is_a_cloudevent_on_the_assignments_topic(
    intake_api: httpx.AsyncClient, reader: OpenReader, new_id: Callable[[str], str]
) -> None:
    assignment_id = new_id("A")
    assignments = await reader(ASSIGNMENTS)
    trace_id = "0af7651916cd43dd8448eb211c80319c"

    response = await intake_api.put(
        f"/v1/assignments/{assignment_id}",
        json=builders.assignment_document(assignment_id, hours_per_week={"min": 24, "max": 32}),
        headers={"traceparent": f"00-{trace_id}-b7ad6b7169203331-01"},
    )

    assert response.status_code == 202, response.text
    [record] = await assignments.wait_for(assignment_id.encode())
    headers = dict(record.headers)
    assert headers["content-type"] == b"application/cloudevents+json"
    event = decode(record.value, record.headers)
    assert event.id == response.json()["event_id"]
    assert event.type == "nl.koppel.assignment.upserted"
    assert event.subject == assignment_id
    assert event.traceparent is not None
    assert trace_id in event.traceparent
    # The official SDK parses what we emit.
    sdk_event = from_structured(
        KafkaMessage(
            headers={name: bytes(value) for name, value in record.headers},
            key=record.key,
            value=record.value,
        )
    )
    assert sdk_event["id"] == event.id
    assert sdk_event["specversion"] == "1.0"
    assert sdk_event["type"] == "nl.koppel.assignment.upserted"
    assert sdk_event["source"] == "/koppel/intake"
    assert sdk_event["subject"] == assignment_id
    assert sdk_event.data["id"] == assignment_id
    assert sdk_event.data["hours_per_week"] == {"min": 24, "max": 32}


async def test_close_is_an_assignment_closed_event(
    intake_api: httpx.AsyncClient, reader: OpenReader, new_id: Callable[[str], str]
) -> None:
    assignment_id = new_id("A")
    assignments = await reader(ASSIGNMENTS)

    response = await intake_api.post(
        f"/v1/assignments/{assignment_id}/close", json={"reason": "withdrawn"}
    )

    assert response.status_code == 202
    [record] = await assignments.wait_for(assignment_id.encode())
    event = decode(record.value, record.headers)
    assert event.type == "nl.koppel.assignment.closed"
    assert event.data["assignment_id"] == assignment_id
    assert event.data["reason"] == "withdrawn"


async def test_consultant_upsert_then_erasure_ends_in_a_tombstone(
    intake_api: httpx.AsyncClient,
    reader: OpenReader,
    new_id: Callable[[str], str],
) -> None:
    consultant_id = new_id("C")
    consultants = await reader(CONSULTANTS)

    upserted = await intake_api.put(
        f"/v1/consultants/{consultant_id}",
        json=builders.consultant_document(consultant_id, email="joost@example.org"),
    )
    erased = await intake_api.delete(f"/v1/consultants/{consultant_id}")

    assert (upserted.status_code, erased.status_code) == (202, 202)
    profile, tombstone = await consultants.wait_for(consultant_id.encode(), count=2)
    event = decode(profile.value, profile.headers)
    assert event.type == "nl.koppel.consultant.upserted"
    assert event.data["email"] == "joost@example.org"
    assert tombstone.value is None
    assert tombstone.partition == profile.partition
    headers = dict(tombstone.headers)
    assert headers["ce_id"].decode() == erased.json()["event_id"]
    assert headers["ce_type"] == b"nl.koppel.consultant.erased"


async def test_invalid_input_publishes_nothing(
    intake_api: httpx.AsyncClient, reader: OpenReader, new_id: Callable[[str], str]
) -> None:
    assignment_id = new_id("A")
    assignments = await reader(ASSIGNMENTS)

    invalid = await intake_api.put(
        f"/v1/assignments/{assignment_id}",
        json=builders.assignment_document(assignment_id, level="guru"),
    )
    anonymous = await intake_api.put(
        f"/v1/assignments/{assignment_id}",
        json=builders.assignment_document(assignment_id),
        headers={"Authorization": "Bearer nope"},
    )

    assert (invalid.status_code, anonymous.status_code) == (422, 401)
    seen = await assignments.drain(2.0)
    assert [r for r in seen if r.key == assignment_id.encode()] == []


async def test_readiness_and_metrics_reflect_the_broker(intake_api: httpx.AsyncClient) -> None:
    ready = await intake_api.get("/readyz")
    metrics = await intake_api.get("/metrics")

    assert ready.json() == {"status": "ready", "kafka": True}
    assert "koppel_intake_events_published_total" in metrics.text
    assert json.loads((await intake_api.get("/openapi.json")).text)["openapi"].startswith("3.")
