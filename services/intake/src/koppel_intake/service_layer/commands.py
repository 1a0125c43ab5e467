"""The intake commands behind the HTTP API: each publishes one canonical record."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from koppel.cloudevents import new_event
from koppel.contract import Assignment, AssignmentClose, AssignmentClosed, ConsultantProfile
from koppel.contract.common import EventData
from koppel.event_types import EventType, Source
from koppel.secret_sealing import SecretKeyring
from koppel.topics import ASSIGNMENTS, CONSULTANTS
from koppel_intake import metrics
from koppel_intake.service_layer.ports import EventPublisher, OutgoingRecord, RecordTooLarge
from koppel_intake.service_layer.records import event_record, output_size, tombstone_record
from koppel_intake.service_layer.webhook_secrets import sealed_profile

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Accepted:
    """What the caller gets back: the id of the event Kafka acknowledged."""

    event_id: str
    entity_id: str


KAFKA_DEFAULT_MAX_RECORD_BYTES = 1024 * 1024
"""Kafka's default limits: producer `max.request.size` 1 MiB, broker/topic
`message.max.bytes` / `max.message.bytes` 1 MiB plus 12 bytes of batch framing."""


class Intake:
    """Turns validated commands into canonical events; returns after the broker's ack.

    A record over `max_record_bytes` is refused before it is produced: the broker would
    refuse it on every try, and a caller told "unavailable, retry" would retry forever.
    The record is larger than the body that caused it (the CloudEvents envelope, and URLs
    whose non-ASCII characters are percent-encoded take three times the bytes). `keyring`
    seals consultants' webhook secrets before they are published.
    """

    def __init__(
        self,
        publisher: EventPublisher,
        keyring: SecretKeyring,
        *,
        max_record_bytes: int = KAFKA_DEFAULT_MAX_RECORD_BYTES,
    ) -> None:
        self._publisher = publisher
        self._keyring = keyring
        self._max_record_bytes = max_record_bytes

    async def upsert_assignment(self, assignment: Assignment, *, traceparent: str) -> Accepted:
        return await self.emit(ASSIGNMENTS, EventType.ASSIGNMENT_UPSERTED, assignment, traceparent)

    async def close_assignment(
        self, assignment_id: str, close: AssignmentClose, *, traceparent: str
    ) -> Accepted:
        closed = AssignmentClosed(
            assignment_id=assignment_id, reason=close.reason, closed_at=datetime.now(UTC)
        )
        return await self.emit(ASSIGNMENTS, EventType.ASSIGNMENT_CLOSED, closed, traceparent)

    async def upsert_consultant(self, profile: ConsultantProfile, *, traceparent: str) -> Accepted:
        """Publish `profile` with its webhook secret sealed; raise `SecretRefusedError`."""
        sealed = sealed_profile(profile, self._keyring)
        return await self.emit(CONSULTANTS, EventType.CONSULTANT_UPSERTED, sealed, traceparent)

    async def erase_consultant(self, consultant_id: str, *, traceparent: str) -> Accepted:
        event_id = str(uuid.uuid4())
        structlog.contextvars.bind_contextvars(event_id=event_id, entity_id=consultant_id)
        record = tombstone_record(
            consultant_id, event_id=event_id, time=datetime.now(UTC), traceparent=traceparent
        )
        await self._publish(record, EventType.CONSULTANT_ERASED)
        log.info("consultant erasure published")
        return Accepted(event_id=event_id, entity_id=consultant_id)

    async def emit(
        self,
        topic: str,
        event_type: EventType,
        data: EventData,
        traceparent: str,
    ) -> Accepted:
        """Publish `data` as a CloudEvent of `event_type` on `topic`, keyed by its entity id."""
        entity_id = data.entity_id
        event = new_event(
            event_type, source=Source.INTAKE, subject=entity_id, data=data, traceparent=traceparent
        )
        structlog.contextvars.bind_contextvars(event_id=event.id, entity_id=entity_id)
        await self._publish(event_record(topic, event), event_type)
        log.info("event published", type=event_type.value, topic=topic)
        return Accepted(event_id=event.id, entity_id=entity_id)

    async def _publish(self, record: OutgoingRecord, event_type: EventType) -> None:
        size = output_size(record)
        if size > self._max_record_bytes:
            raise RecordTooLarge(size, self._max_record_bytes)
        await self._publisher.publish([record])
        metrics.EVENTS_PUBLISHED.labels(topic=record.topic, type=event_type.value).inc()
