"""How canonical events and erasure tombstones look as Kafka records."""

from __future__ import annotations

from datetime import datetime

from koppel import tracing
from koppel.cloudevents import CloudEvent, encode
from koppel.event_types import EventType, Source
from koppel.topics import CONSULTANTS
from koppel_intake.service_layer.ports import OutgoingRecord


def event_record(topic: str, event: CloudEvent) -> OutgoingRecord:
    """Structured-mode record keyed by the event's subject (the entity id)."""
    if event.subject is None:
        raise ValueError("canonical events carry the entity id as subject")
    value, headers = encode(event)
    return OutgoingRecord(topic=topic, key=event.subject.encode(), value=value, headers=headers)


def output_size(record: OutgoingRecord) -> int:
    """An upper estimate of the bytes `record` takes in a Kafka request (framing included)."""
    headers = sum(len(name.encode()) + len(value or b"") + 10 for name, value in record.headers)
    return 128 + len(record.key or b"") + len(record.value or b"") + headers


def tombstone_record(
    consultant_id: str, *, event_id: str, time: datetime, traceparent: str | None
) -> OutgoingRecord:
    """The erasure of a consultant: a null value under their key on the compacted topic.

    Compaction then removes every earlier profile of that key. The record also carries the
    binary-mode attributes of a data-less `nl.koppel.consultant.erased` event, so consumers
    can log and de-duplicate it; `decode` still refuses it, as it has no value.
    """
    attributes = {
        "ce_specversion": "1.0",
        "ce_id": event_id,
        "ce_source": Source.INTAKE.value,
        "ce_type": EventType.CONSULTANT_ERASED.value,
        "ce_subject": consultant_id,
        "ce_time": time.isoformat(),
    }
    if traceparent is not None:
        attributes[tracing.BINARY_MODE_HEADER] = traceparent
    return OutgoingRecord(
        topic=CONSULTANTS,
        key=consultant_id.encode(),
        value=None,
        headers=tuple((name, value.encode()) for name, value in attributes.items()),
    )
