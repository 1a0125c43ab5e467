"""CloudEvents over Kafka: our envelope round-trips, rejects what it cannot read, and
interoperates with the official `cloudevents` SDK in both content modes."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings import kafka as sdk_kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent as SdkEvent
from cloudevents.v1 import kafka as legacy_kafka
from cloudevents.v1.http import CloudEvent as LegacyEvent

from koppel.cloudevents import (
    STRUCTURED_CONTENT_TYPE,
    CloudEvent,
    Headers,
    decode,
    encode,
    encode_binary,
    new_event,
)
from koppel.contract import (
    Assignment,
    AssignmentClosed,
    ConsultantErasure,
    ConsultantProfile,
)
from koppel.errors import EnvelopeError, PayloadError
from koppel.event_types import PAYLOADS, EventType, Source
from koppel.vocabulary import CloseReason
from koppel_testing import WEBHOOK_SECRET as SECRET
from koppel_testing import builders

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

Encoder = Callable[[CloudEvent], tuple[bytes, list[tuple[str, bytes]]]]
ENCODERS = [pytest.param(encode, id="structured"), pytest.param(encode_binary, id="binary")]


def closed_event(**attributes: Any) -> CloudEvent:
    data = AssignmentClosed(
        assignment_id="a-1", reason=CloseReason.FILLED, closed_at=datetime.now(UTC)
    )
    event = new_event(
        EventType.ASSIGNMENT_CLOSED,
        source=Source.INTAKE,
        subject="a-1",
        data=data,
        traceparent=TRACEPARENT,
    )
    return event.model_copy(update=attributes) if attributes else event


def assignment() -> Assignment:
    """An assignment whose id and texts hold what a careless encoder would mangle."""
    return builders.assignment(
        "opdracht:2026.17",
        title="Communicatieadviseur crisis — Zuid-Holland (m/v/x)",
        description="Ervaring met één of meer crises; “snel” schakelen.",
        location={"city": "’s-Gravenhage", "province": "zuid_holland"},
    )


def profile_with_webhook() -> ConsultantProfile:
    return builders.consultant(notification=builders.webhook_notification())


def structured(document: dict[str, Any], content_type: str = STRUCTURED_CONTENT_TYPE) -> CloudEvent:
    return decode(json.dumps(document).encode(), [("content-type", content_type.encode())])


def valid_document(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "specversion": "1.0",
        "id": "e-1",
        "source": "/upstream/crm",
        "type": "nl.koppel.consultant.erased",
        "subject": "c-1",
        "time": "2026-11-23T10:00:00Z",
        "datacontenttype": "application/json",
        "data": {"consultant_id": "c-1"},
    }
    document.update(overrides)
    return {name: value for name, value in document.items() if value is not None}


# --- producing -----------------------------------------------------------------------------


def test_new_event_sets_the_attributes_domain_md_requires() -> None:
    before = datetime.now(UTC)
    event = closed_event()
    assert event.specversion == "1.0"
    assert event.type == "nl.koppel.assignment.closed"
    assert event.source == "/koppel/intake"
    assert event.subject == "a-1"
    assert event.traceparent == TRACEPARENT
    assert event.datacontenttype == "application/json"
    assert event.time is not None
    assert before - timedelta(seconds=1) <= event.time <= datetime.now(UTC)
    assert event.time.utcoffset() == timedelta(0)
    assert isinstance(event.data, dict)
    assert event.data["reason"] == "filled"


def test_new_event_ids_are_unique() -> None:
    assert len({closed_event().id for _ in range(100)}) == 100


def test_structured_encoding_is_one_json_document_with_the_cloudevents_content_type() -> None:
    event = closed_event()
    value, headers = encode(event)
    assert headers == [("content-type", b"application/cloudevents+json")]
    document = json.loads(value)
    assert document["id"] == event.id
    assert document["data"] == event.data
    assert None not in document.values()
    assert "dataschema" not in document


def test_binary_encoding_puts_attributes_in_ce_headers() -> None:
    event = closed_event()
    value, headers = encode_binary(event)
    names = dict(headers)
    assert names["ce_id"] == event.id.encode()
    assert names["ce_type"] == b"nl.koppel.assignment.closed"
    assert names["ce_specversion"] == b"1.0"
    assert names["ce_traceparent"] == TRACEPARENT.encode()
    assert names["content-type"] == b"application/json"
    assert "ce_data" not in names
    assert json.loads(value) == event.data


# --- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize("encoder", ENCODERS)
def test_encode_decode_round_trip(encoder: Encoder) -> None:
    event = closed_event()
    decoded = decode(*encoder(event))
    assert decoded == event
    payload = decoded.payload()
    assert isinstance(payload, AssignmentClosed)
    assert payload.assignment_id == "a-1"


@pytest.mark.parametrize("encoder", ENCODERS)
def test_round_trip_keeps_non_ascii_text(encoder: Encoder) -> None:
    original = assignment()
    event = new_event(
        EventType.ASSIGNMENT_UPSERTED, source=Source.INTAKE, subject=original.id, data=original
    )
    value, headers = encoder(event)
    value.decode("utf-8")
    assert decode(value, headers).payload() == original


@pytest.mark.parametrize("encoder", ENCODERS)
def test_round_trip_carries_the_webhook_secret_for_the_notifier(encoder: Encoder) -> None:
    original = profile_with_webhook()
    event = new_event(
        EventType.CONSULTANT_UPSERTED, source=Source.INTAKE, subject=original.id, data=original
    )
    payload = decode(*encoder(event)).payload()
    assert isinstance(payload, ConsultantProfile)
    assert payload == original
    assert payload.notification.webhook_secret is not None
    assert payload.notification.webhook_secret.get_secret_value() == SECRET


@pytest.mark.parametrize("encoder", ENCODERS)
def test_round_trip_keeps_extension_attributes(encoder: Encoder) -> None:
    event = CloudEvent.model_validate({**closed_event().model_dump(), "tenant": "gemeente-x"})
    decoded = decode(*encoder(event))
    assert decoded.model_extra == {"tenant": "gemeente-x"}


def test_decode_accepts_headers_as_mapping_and_in_any_case() -> None:
    event = closed_event()
    value, headers = encode_binary(event)
    shouted = {name.upper(): raw for name, raw in headers}
    assert decode(value, shouted) == event


@pytest.mark.parametrize(
    "headers",
    [[], [("content-type", b"application/cloudevents+json; charset=utf-8")]],
    ids=["no-content-type", "with-charset"],
)
def test_structured_mode_content_type_is_optional_and_may_have_parameters(
    headers: list[tuple[str, bytes]],
) -> None:
    event = closed_event()
    value, _ = encode(event)
    assert decode(value, headers) == event


def test_binary_mode_json_content_type_may_have_parameters() -> None:
    event = closed_event()
    value, headers = encode_binary(event)
    headers = [(n, r) for n, r in headers if n != "content-type"]
    headers.append(("content-type", b"application/json; charset=utf-8"))
    assert decode(value, headers).payload() == event.payload()


# --- rejected envelopes --------------------------------------------------------------------


def assert_envelope_error(value: bytes | None, headers: Headers, *fragments: str) -> None:
    with pytest.raises(EnvelopeError) as caught:
        decode(value, headers)
    assert not isinstance(caught.value, PayloadError)
    assert caught.value.code == "invalid_envelope"
    for fragment in fragments:
        assert fragment in str(caught.value)


@pytest.mark.parametrize("value", [b"not json", b"{", b"\xff\xfe", b""])
def test_decode_rejects_non_json(value: bytes) -> None:
    assert_envelope_error(value, [("content-type", STRUCTURED_CONTENT_TYPE.encode())], "not JSON")


@pytest.mark.parametrize("value", [b"[]", b"42", b'"event"', b"null"])
def test_decode_rejects_json_that_is_not_an_object(value: bytes) -> None:
    assert_envelope_error(value, [], "JSON object")


@pytest.mark.parametrize("specversion", ["0.3", "1", "2.0", None, 1.0])
def test_decode_rejects_other_specversions(specversion: str | float | None) -> None:
    """None drops the attribute altogether."""
    value = json.dumps(valid_document(specversion=specversion)).encode()
    assert_envelope_error(value, [], "specversion")


@pytest.mark.parametrize("attribute", ["id", "source", "type"])
def test_decode_rejects_missing_required_attributes(attribute: str) -> None:
    document = valid_document()
    del document[attribute]
    assert_envelope_error(json.dumps(document).encode(), [], attribute)
    document[attribute] = ""
    assert_envelope_error(json.dumps(document).encode(), [], attribute)


@pytest.mark.parametrize("attribute", ["id", "source", "type"])
def test_binary_decode_rejects_missing_required_attributes(attribute: str) -> None:
    value, headers = encode_binary(closed_event())
    headers = [(name, raw) for name, raw in headers if name != f"ce_{attribute}"]
    assert_envelope_error(value, headers, attribute)


def test_decode_rejects_a_time_without_timezone() -> None:
    value = json.dumps(valid_document(time="2026-11-23T10:00:00")).encode()
    assert_envelope_error(value, [], "time")


def test_decode_rejects_data_base64() -> None:
    document = valid_document(data=None, data_base64=base64.b64encode(b"{}").decode())
    assert_envelope_error(json.dumps(document).encode(), [], "data_base64")


@pytest.mark.parametrize("content_type", [b"text/plain", b"application/avro"])
def test_decode_rejects_non_cloudevents_content_type_without_ce_headers(
    content_type: bytes,
) -> None:
    value = json.dumps(valid_document()).encode()
    assert_envelope_error(value, [("content-type", content_type)], "not a CloudEvent")


def test_decode_reads_a_structured_event_labelled_application_json() -> None:
    value = json.dumps(valid_document()).encode()
    assert decode(value, [("content-type", b"application/json")]).id == valid_document()["id"]


def test_decode_rejects_plain_json_without_ce_headers_or_specversion() -> None:
    value = json.dumps({"id": "x", "title": "not an event"}).encode()
    assert_envelope_error(value, [("content-type", b"application/json")], "specversion")


def test_binary_decode_rejects_non_json_data() -> None:
    _, headers = encode_binary(closed_event())
    headers = [(n, r) for n, r in headers if n != "content-type"] + [
        ("content-type", b"text/plain")
    ]
    assert_envelope_error(b"hello", headers, "application/json")


def test_binary_decode_rejects_other_specversion() -> None:
    value, headers = encode_binary(closed_event())
    headers = [(n, b"0.3" if n == "ce_specversion" else r) for n, r in headers]
    assert_envelope_error(value, headers, "specversion")


@pytest.mark.parametrize("encoder", ENCODERS)
def test_decode_rejects_a_tombstone(encoder: Encoder) -> None:
    _, headers = encoder(closed_event())
    assert_envelope_error(None, headers, "tombstone")


@pytest.mark.parametrize("encoder", ENCODERS)
def test_decode_rejects_a_header_that_is_not_utf8(encoder: Encoder) -> None:
    value, headers = encoder(closed_event())
    assert_envelope_error(value, [*headers, ("x-origin", b"\xff\xfe")], "x-origin", "UTF-8")


# --- payloads ------------------------------------------------------------------------------


def test_every_event_type_has_a_payload_model() -> None:
    assert set(PAYLOADS) == set(EventType)
    assert {t.value for t in EventType} == {
        "nl.koppel.assignment.upserted",
        "nl.koppel.assignment.closed",
        "nl.koppel.consultant.upserted",
        "nl.koppel.consultant.erased",
        "nl.koppel.match.found",
        "nl.koppel.match.updated",
        "nl.koppel.match.withdrawn",
        "nl.koppel.match.responded",
        "nl.koppel.match.response_withdrawn",
        "nl.koppel.notification.delivered",
        "nl.koppel.notification.failed",
    }


def test_payload_of_a_valid_event_is_its_contract_model() -> None:
    payload = structured(valid_document()).payload()
    assert payload == ConsultantErasure(consultant_id="c-1")


@pytest.mark.parametrize("event_type", ["nl.koppel.assignment.deleted", "com.example.other", ""])
def test_payload_of_an_unknown_type_is_a_payload_error(event_type: str) -> None:
    event = CloudEvent(id="e-1", source="/x", type=event_type or "x", data={})
    with pytest.raises(PayloadError) as caught:
        event.payload()
    assert caught.value.code == "unknown_type"
    assert (event_type or "x") in str(caught.value)


@pytest.mark.parametrize(
    ("event_type", "data", "fields"),
    [
        ("nl.koppel.consultant.erased", {}, ["consultant_id"]),
        ("nl.koppel.consultant.erased", {"consultant_id": "a b"}, ["consultant_id"]),
        ("nl.koppel.consultant.erased", None, ["(root)"]),
        (
            "nl.koppel.assignment.closed",
            {"assignment_id": "a-1", "reason": "cancelled", "closed_at": "2026-11-23T10:00:00"},
            ["reason", "closed_at"],
        ),
        (
            "nl.koppel.assignment.upserted",
            {**assignment().model_dump(mode="json"), "hours_per_week": {"min": 50, "max": 60}},
            ["hours_per_week.min", "hours_per_week.max"],
        ),
        (
            "nl.koppel.assignment.upserted",
            {**assignment().model_dump(mode="json"), "budget": 5},
            ["budget"],
        ),
    ],
)
def test_invalid_data_is_a_payload_error_naming_each_field(
    event_type: str, data: dict[str, Any] | None, fields: list[str]
) -> None:
    event = structured(valid_document(type=event_type, data=data))
    with pytest.raises(PayloadError) as caught:
        event.payload()
    assert caught.value.code == "invalid_payload"
    assert isinstance(caught.value, EnvelopeError)
    for field in fields:
        assert f"{field}:" in str(caught.value)


def test_payload_error_does_not_echo_a_rejected_secret() -> None:
    data = profile_with_webhook().model_dump(mode="json")
    bad = "whsec_" + base64.b64encode(b"x" * 8).decode()
    data["notification"]["webhook_secret"] = bad
    event = structured(valid_document(type="nl.koppel.consultant.upserted", data=data))
    with pytest.raises(PayloadError) as caught:
        event.payload()
    assert "notification.webhook_secret" in str(caught.value)
    assert bad not in str(caught.value)


# --- conformance with the official CloudEvents SDK -----------------------------------------

ATTRIBUTES = ("specversion", "id", "source", "type", "subject", "datacontenttype", "traceparent")


def assert_same_as_sdk(ours: CloudEvent, theirs: BaseCloudEvent) -> None:
    attributes = theirs.get_attributes()
    for name in ATTRIBUTES:
        assert attributes[name] == getattr(ours, name), name
    assert theirs.get_time() == ours.time
    assert theirs.get_data() == ours.data


def sdk_message(value: bytes, headers: list[tuple[str, bytes]]) -> sdk_kafka.KafkaMessage:
    return sdk_kafka.KafkaMessage(headers=dict(headers), key=None, value=value)


def test_sdk_reads_our_structured_mode() -> None:
    event = closed_event()
    message = sdk_message(*encode(event))
    assert_same_as_sdk(event, sdk_kafka.from_structured(message, JSONFormat()))
    assert_same_as_sdk(event, sdk_kafka.from_kafka(message, JSONFormat()))


def test_sdk_reads_our_binary_mode() -> None:
    event = closed_event()
    message = sdk_message(*encode_binary(event))
    assert_same_as_sdk(event, sdk_kafka.from_binary(message, JSONFormat()))
    assert_same_as_sdk(event, sdk_kafka.from_kafka(message, JSONFormat()))


def sdk_event() -> SdkEvent:
    data = AssignmentClosed(
        assignment_id="a-7", reason=CloseReason.WITHDRAWN, closed_at=datetime.now(UTC)
    ).model_dump(mode="json")
    return SdkEvent(
        attributes={
            "type": "nl.koppel.assignment.closed",
            "source": "/upstream/ats",
            "subject": "a-7",
            "time": datetime.now(UTC),
            "datacontenttype": "application/json",
            "traceparent": TRACEPARENT,
        },
        data=data,
    )


@pytest.mark.parametrize(
    "to_message", [sdk_kafka.to_structured, sdk_kafka.to_binary], ids=["structured", "binary"]
)
def test_we_read_what_the_sdk_writes(
    to_message: Callable[[SdkEvent, JSONFormat], sdk_kafka.KafkaMessage],
) -> None:
    theirs = sdk_event()
    message = to_message(theirs, JSONFormat())
    ours = decode(message.value, message.headers)
    assert_same_as_sdk(ours, theirs)
    payload = ours.payload()
    assert isinstance(payload, AssignmentClosed)
    assert payload.reason is CloseReason.WITHDRAWN


def test_legacy_sdk_api_reads_our_both_modes() -> None:
    event = closed_event()
    for value, headers in (encode(event), encode_binary(event)):
        message = legacy_kafka.KafkaMessage(headers=dict(headers), key=None, value=value)
        read = (
            legacy_kafka.from_binary(message)
            if "ce_id" in message.headers
            else legacy_kafka.from_structured(message)
        )
        assert read["id"] == event.id
        assert read["type"] == event.type
        assert read["traceparent"] == TRACEPARENT
        assert read.data == event.data


@pytest.mark.parametrize(
    ("to_message", "datacontenttype"),
    [
        pytest.param(legacy_kafka.to_binary, "application/json", id="binary"),
        pytest.param(legacy_kafka.to_structured, None, id="structured-no-datacontenttype"),
        pytest.param(legacy_kafka.to_structured, "application/json", id="structured"),
    ],
)
def test_we_read_what_the_legacy_sdk_api_writes(
    to_message: Callable[[LegacyEvent], legacy_kafka.KafkaMessage], datacontenttype: str | None
) -> None:
    attributes = {
        "type": "nl.koppel.consultant.erased",
        "source": "/upstream/crm",
        "subject": "c-3",
    }
    if datacontenttype:
        attributes["datacontenttype"] = datacontenttype
    message = to_message(LegacyEvent(attributes, {"consultant_id": "c-3"}))
    value = message.value if isinstance(message.value, bytes) else message.value.encode()
    ours = decode(value, dict(message.headers))
    assert ours.source == "/upstream/crm"
    assert ours.time is not None
    assert ours.payload() == ConsultantErasure(consultant_id="c-3")
