"""CloudEvents 1.0 over Kafka (protocol binding): encode structured, decode both modes.

Koppel emits structured mode (`content-type: application/cloudevents+json`, the whole
event in the value) because a human reading a topic with kcat then sees every attribute.
Receivers accept binary mode too (`ce_*` headers, the data as the value), since upstream
systems producing onto the raw topic may use either.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from koppel.contract.common import ContractModel, EventData
from koppel.dead_letters import DeadLetterCode
from koppel.errors import EnvelopeError, PayloadError
from koppel.event_types import PAYLOADS, EventType

STRUCTURED_CONTENT_TYPE = "application/cloudevents+json"
JSON_CONTENT_TYPE = "application/json"
SPEC_VERSION = "1.0"

Headers = Sequence[tuple[str, bytes | None]]


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 event with JSON data; `traceparent` is the tracing extension
    (`koppel.tracing`)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: str = SPEC_VERSION
    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    subject: str | None = None
    time: AwareDatetime | None = None
    datacontenttype: str | None = JSON_CONTENT_TYPE
    dataschema: str | None = None
    traceparent: str | None = None
    data: Any = None

    def payload(self) -> EventData:
        """The data validated against the model of this event's type."""
        try:
            event_type = EventType(self.type)
        except ValueError:
            raise PayloadError(
                f"unknown event type {self.type!r}", code=DeadLetterCode.UNKNOWN_TYPE
            ) from None
        try:
            return PAYLOADS[event_type].model_validate(self.data)
        except ValidationError as exc:
            raise PayloadError(describe_validation_error(exc)) from exc


def new_event(
    event_type: EventType,
    *,
    source: str,
    subject: str,
    data: ContractModel,
    traceparent: str | None = None,
) -> CloudEvent:
    """A fresh event: unique id, current UTC time, data dumped in JSON mode."""
    return CloudEvent(
        id=str(uuid.uuid4()),
        source=source,
        type=event_type.value,
        subject=subject,
        time=datetime.now(UTC),
        data=data.model_dump(mode="json"),
        traceparent=traceparent,
    )


def encode(event: CloudEvent) -> tuple[bytes, list[tuple[str, bytes]]]:
    """Structured-mode Kafka value and headers for `event`."""
    # pydantic-core's serializer: compact, UTF-8, and twice as fast as json.dumps of a dump.
    value = event.model_dump_json(exclude_none=True).encode()
    return value, [("content-type", STRUCTURED_CONTENT_TYPE.encode())]


def encode_binary(event: CloudEvent) -> tuple[bytes, list[tuple[str, bytes]]]:
    """Binary-mode Kafka value (the data) and `ce_*` headers for `event`."""
    attributes = event.model_dump(mode="json", exclude_none=True)
    data = attributes.pop("data", None)
    content_type = attributes.pop("datacontenttype", JSON_CONTENT_TYPE)
    headers = [(f"ce_{name}", str(value).encode()) for name, value in attributes.items()]
    headers.append(("content-type", content_type.encode()))
    return json.dumps(data, ensure_ascii=False).encode(), headers


def decode(
    value: bytes | None,
    headers: Iterable[tuple[str, bytes | None]] | Mapping[str, bytes | None],
) -> CloudEvent:
    """Read a CloudEvent from a Kafka record in either mode; raise `EnvelopeError` if it is none."""
    header_map = _header_map(headers)
    if value is None:
        raise EnvelopeError("record has no value (tombstone)")
    if "ce_specversion" in header_map:
        return _decode_binary(value, header_map)
    content_type = header_map.get("content-type", "")
    # Some producers (the SDK's legacy v1 Kafka API among them) label a structured record
    # with the data's type, application/json; a JSON object carrying `specversion` is
    # unambiguous, so accept it rather than dead-letter a well-formed event.
    lenient = content_type.split(";")[0].strip() == JSON_CONTENT_TYPE
    if content_type and not content_type.startswith(STRUCTURED_CONTENT_TYPE) and not lenient:
        raise EnvelopeError(
            f"content-type {content_type!r} without ce_* headers is not a CloudEvent"
        )
    document = _json(value)
    if not isinstance(document, dict):
        raise EnvelopeError("structured CloudEvent must be a JSON object")
    if lenient and "specversion" not in document:
        raise EnvelopeError("application/json without ce_* headers or specversion is no CloudEvent")
    if "data_base64" in document:
        raise EnvelopeError("data_base64 is not supported: Koppel events carry JSON data")
    return _validated(document)


def _decode_binary(value: bytes, header_map: dict[str, str]) -> CloudEvent:
    attributes: dict[str, Any] = {
        name.removeprefix("ce_"): text
        for name, text in header_map.items()
        if name.startswith("ce_")
    }
    content_type = header_map.get("content-type", JSON_CONTENT_TYPE)
    if not content_type.startswith(JSON_CONTENT_TYPE):
        raise EnvelopeError(f"binary-mode data must be {JSON_CONTENT_TYPE}, got {content_type!r}")
    attributes["datacontenttype"] = content_type
    attributes["data"] = _json(value)
    return _validated(attributes)


def _validated(document: dict[str, Any]) -> CloudEvent:
    if document.get("specversion") != SPEC_VERSION:
        raise EnvelopeError(f"specversion must be {SPEC_VERSION!r}")
    try:
        return CloudEvent.model_validate(document)
    except ValidationError as exc:
        raise EnvelopeError(describe_validation_error(exc)) from exc


def _json(value: bytes) -> Any:
    try:
        return json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EnvelopeError(f"value is not JSON: {exc}") from exc
    except RecursionError:
        raise EnvelopeError("value is not JSON we read: nested too deeply") from None


def _header_map(
    headers: Iterable[tuple[str, bytes | None]] | Mapping[str, bytes | None],
) -> dict[str, str]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    result: dict[str, str] = {}
    for name, raw in items:
        lowered = name.lower()
        if raw is None:
            # Kafka allows a header without a value; it must not become the text "None".
            if lowered.startswith("ce_") or lowered == "content-type":
                raise EnvelopeError(f"header {name!r} has no value")
            continue
        try:
            result[lowered] = raw.decode() if isinstance(raw, bytes) else str(raw)
        except UnicodeDecodeError as exc:
            raise EnvelopeError(f"header {name!r} is not UTF-8") from exc
    return result


def describe_validation_error(exc: ValidationError) -> str:
    """One line naming every offending field, for dead-letter headers and logs."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in error["loc"]) or "(root)"
        parts.append(f"{location}: {error['msg']}")
    return "; ".join(parts)
