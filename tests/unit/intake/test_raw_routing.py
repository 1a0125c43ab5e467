"""Routing raw-topic records: canonical events for valid ones, dead letters for the rest."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from koppel.cloudevents import CloudEvent, decode, encode, encode_binary
from koppel.secret_sealing import SecretKeyring, new_key
from koppel.topics import ASSIGNMENTS, CONSULTANTS, RAW
from koppel_intake.service_layer.raw_routing import IncomingRecord, route
from koppel_testing.builders import assignment_document, consultant_document

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TITLE = "Interim communicatieadviseur"
KEYRING = SecretKeyring.parse(new_key("unit"))


def _upstream(event_type: str, subject: str | None, data: dict[str, Any]) -> CloudEvent:
    return CloudEvent(
        id="upstream-1",
        source="/crm",
        type=event_type,
        subject=subject,
        time=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
        data=data,
    )


def _record(
    key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]] | None = None
) -> IncomingRecord:
    return IncomingRecord(
        topic=RAW, partition=3, offset=42, key=key, value=value, headers=tuple(headers or [])
    )


@pytest.mark.parametrize("encoder", [encode, encode_binary], ids=["structured", "binary"])
def test_valid_assignment_becomes_a_canonical_event_with_the_upstream_id(
    encoder: Callable[[CloudEvent], tuple[bytes, list[tuple[str, bytes]]]],
) -> None:
    value, headers = encoder(
        _upstream("nl.koppel.assignment.upserted", "A-1", assignment_document("A-1", title=TITLE))
    )

    routed = route(_record(b"A-1", value, headers), keyring=KEYRING, now=NOW)

    assert not routed.dead_lettered
    assert routed.record.topic == ASSIGNMENTS
    assert routed.record.key == b"A-1"
    event = decode(routed.record.value, routed.record.headers)
    assert event.id == "upstream-1"
    assert event.source == "/koppel/intake"
    assert event.subject == "A-1"
    assert event.time == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    assert event.traceparent is not None
    assert event.data["title"] == TITLE


def test_upstream_without_subject_is_given_the_entity_id() -> None:
    value, headers = encode(_upstream("nl.koppel.consultant.upserted", None, consultant_document()))

    routed = route(_record(b"C-1", value, headers), keyring=KEYRING, now=NOW)

    assert routed.record.topic == CONSULTANTS
    assert decode(routed.record.value, routed.record.headers).subject == "C-1"


def test_close_routes_to_assignments() -> None:
    data = {"assignment_id": "A-1", "reason": "expired", "closed_at": "2026-11-23T10:00:00Z"}
    value, headers = encode(_upstream("nl.koppel.assignment.closed", "A-1", data))

    routed = route(_record(b"A-1", value, headers), keyring=KEYRING, now=NOW)

    assert routed.event_type == "nl.koppel.assignment.closed"
    assert routed.record.topic == ASSIGNMENTS


def test_erasure_becomes_a_tombstone() -> None:
    value, headers = encode(
        _upstream("nl.koppel.consultant.erased", "C-1", {"consultant_id": "C-1"})
    )

    routed = route(_record(b"C-1", value, headers), keyring=KEYRING, now=NOW)

    assert (routed.record.topic, routed.record.key, routed.record.value) == (
        CONSULTANTS,
        b"C-1",
        None,
    )
    assert dict(routed.record.headers)["ce_id"] == b"upstream-1"


def _poison_cases(assignment: dict[str, Any]) -> list[tuple[str, bytes | None, bytes, Any]]:
    event = _upstream("nl.koppel.assignment.upserted", "A-1", assignment)
    bad_data = _upstream("nl.koppel.assignment.upserted", "A-1", {**assignment, "level": "x"})
    unknown = _upstream("nl.koppel.assignment.deleted", "A-1", assignment)
    foreign = _upstream("nl.koppel.match.withdrawn", "A-1", {})
    wrong_subject = _upstream("nl.koppel.assignment.upserted", "A-2", assignment)
    return [
        ("invalid_envelope", b"A-1", b"\x00not json", []),
        ("invalid_envelope", b"A-1", json.dumps({"hello": "world"}).encode(), []),
        ("invalid_envelope", b"A-1", b"[1, 2]", []),
        ("unknown_type", b"A-1", *encode(unknown)),
        ("invalid_payload", b"A-1", *encode(foreign)),
        ("invalid_payload", b"A-1", *encode(bad_data)),
        ("key_mismatch", b"A-2", *encode(event)),
        ("key_mismatch", None, *encode(event)),
        ("key_mismatch", b"\xff", *encode(event)),
        ("subject_mismatch", b"A-1", *encode(wrong_subject)),
    ]


@pytest.mark.parametrize("case", range(10))
def test_each_kind_of_poison_is_dead_lettered_as_received(case: int) -> None:
    code, key, value, headers = _poison_cases(assignment_document("A-1"))[case]
    record = _record(key, value, [*headers, ("x-upstream", b"kept")])

    routed = route(record, keyring=KEYRING, now=NOW)

    assert routed.code == code
    out = routed.record
    assert (out.topic, out.key, out.value) == (f"{RAW}.dlq", key, value)
    header = dict(out.headers)
    assert header["x-upstream"] == b"kept"
    assert header["koppel-error-code"] == code.encode()
    assert header["koppel-error-reason"]
    assert header["koppel-error-source-topic"] == RAW.encode()
    assert header["koppel-error-source-partition"] == b"3"
    assert header["koppel-error-source-offset"] == b"42"
    assert header["koppel-error-at"] == NOW.isoformat().encode()


def test_invalid_data_reason_names_the_fields() -> None:
    data = assignment_document("A-1", level="x", hours_per_week={"min": 1, "max": 32})
    value, headers = encode(_upstream("nl.koppel.assignment.upserted", "A-1", data))

    routed = route(_record(b"A-1", value, headers), keyring=KEYRING, now=NOW)

    reason = (dict(routed.record.headers)["koppel-error-reason"] or b"").decode()
    assert "level" in reason
    assert "hours_per_week.min" in reason


@pytest.mark.parametrize("character", ["\n", "\u2028", "\u202e", "\x85"])
def test_a_control_character_in_a_text_field_is_dead_lettered_with_a_reason(character: str) -> None:
    data = assignment_document("A-1", title=f"Woordvoerder{character}crisis")
    value, headers = encode(_upstream("nl.koppel.assignment.upserted", "A-1", data))

    routed = route(_record(b"A-1", value, headers), keyring=KEYRING, now=NOW)

    assert routed.code == "invalid_payload"
    assert (routed.record.topic, routed.record.value) == (f"{RAW}.dlq", value)
    reason = (dict(routed.record.headers)["koppel-error-reason"] or b"").decode()
    assert reason.startswith("title: ")
    assert "control characters" in reason
    assert "Woordvoerder" not in reason


def test_tombstone_on_the_raw_topic_is_dead_lettered() -> None:
    routed = route(_record(b"C-1", None), keyring=KEYRING, now=NOW)

    assert routed.code == "invalid_envelope"
    assert routed.record.value is None


def test_an_event_without_time_is_dated_by_its_record_not_by_routing() -> None:
    """A raw record replayed from a dead-letter topic days later keeps its own date."""
    upstream = _upstream("nl.koppel.assignment.upserted", "A-1", assignment_document("A-1"))
    value, headers = encode(upstream.model_copy(update={"time": None}))
    written = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
    record = IncomingRecord(
        topic=RAW,
        partition=3,
        offset=42,
        key=b"A-1",
        value=value,
        headers=tuple(headers),
        timestamp_ms=int(written.timestamp() * 1000),
    )

    routed = route(record, keyring=KEYRING, now=NOW)

    assert decode(routed.record.value, routed.record.headers).time == written
    undated = route(_record(b"A-1", value, headers), keyring=KEYRING, now=NOW)
    assert decode(undated.record.value, undated.record.headers).time == NOW
