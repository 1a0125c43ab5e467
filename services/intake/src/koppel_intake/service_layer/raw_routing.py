"""What becomes of one record of `koppel.intake.raw.v1`: a canonical record or a dead letter.

The canonical event keeps the upstream event's `id` (DOMAIN.md §4 requires ids to be
unique), takes `source=/koppel/intake`, the entity id as `subject`, the upstream `time`
(or, without one, the raw record's Kafka timestamp: when the upstream wrote it), the
upstream `traceparent` when valid, and the data as validated and normalised
by the contract models. Re-processing a raw record after a crash therefore produces the
same event id, and consumers de-duplicate on it.

A consultant's webhook secret is sealed before the canonical event is built, and a dead
letter keeps no clear secret either (`webhook_secrets`).

Nothing here raises: every record yields exactly one output, so one bad record can never
stop the consumer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from koppel import dead_letters, tracing
from koppel.cloudevents import CloudEvent, Headers, decode
from koppel.contract import ConsultantProfile
from koppel.dead_letters import DeadLetterCode
from koppel.errors import EnvelopeError
from koppel.event_types import EventType, Source
from koppel.secret_sealing import SecretKeyring
from koppel.topics import ASSIGNMENTS, CONSULTANTS, dlq
from koppel_intake.domain.json_shape import shape_problem
from koppel_intake.service_layer.ports import OutgoingRecord
from koppel_intake.service_layer.records import event_record, output_size, tombstone_record
from koppel_intake.service_layer.webhook_secrets import (
    SECRET_FIELD,
    SecretRefusedError,
    scrub_dead_letter,
    sealed_profile,
)

log = structlog.get_logger(__name__)

_TARGETS: dict[EventType, str] = {
    EventType.ASSIGNMENT_UPSERTED: ASSIGNMENTS,
    EventType.ASSIGNMENT_CLOSED: ASSIGNMENTS,
    EventType.CONSULTANT_UPSERTED: CONSULTANTS,
    EventType.CONSULTANT_ERASED: CONSULTANTS,
}
ACCEPTED_TYPES = tuple(_TARGETS)
# Kafka refuses records over 1 MiB by default (producer max.request.size, broker
# message.max.bytes); the margin covers batch and record framing. A raw record near that
# size would otherwise never fit in its dead letter, and its partition would stall.
MAX_OUTPUT_BYTES = 1024 * 1024 - 1024


@dataclass(frozen=True)
class IncomingRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers
    timestamp_ms: int | None = None
    """Kafka's record timestamp (CreateTime: when the upstream, or a dead-letter replay
    restoring it, produced the record)."""

    @property
    def written_at(self) -> datetime | None:
        if self.timestamp_ms is None or self.timestamp_ms <= 0:
            return None
        return datetime.fromtimestamp(self.timestamp_ms / 1000, UTC)


@dataclass(frozen=True)
class Routed:
    """The output for one raw record; `code` is set when it is a dead letter."""

    record: OutgoingRecord
    event_type: str | None = None
    code: DeadLetterCode | None = None

    @property
    def dead_lettered(self) -> bool:
        return self.code is not None


class RoutingError(Exception):
    """A raw record that is a readable CloudEvent but must not reach a canonical topic."""

    def __init__(self, code: DeadLetterCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code


def route(record: IncomingRecord, *, keyring: SecretKeyring, now: datetime | None = None) -> Routed:
    """The canonical record for `record`, or its dead letter; `keyring` seals secrets."""
    moment = now or datetime.now(UTC)
    try:
        routed = _canonical(record, keyring, moment)
        if output_size(routed.record) > MAX_OUTPUT_BYTES:
            raise RoutingError(
                DeadLetterCode.TOO_LARGE, "the canonical event would exceed Kafka's 1 MiB limit"
            )
        return routed
    except EnvelopeError as exc:
        return dead_letter(record, exc.code, str(exc), keyring=keyring, at=moment)
    except RoutingError as exc:
        return dead_letter(record, exc.code, str(exc), keyring=keyring, at=moment)
    except Exception as exc:  # a bug must dead-letter one record, not stop all
        log.exception("unexpected error routing a raw record")
        return dead_letter(
            record,
            DeadLetterCode.INTERNAL_ERROR,
            f"{type(exc).__name__}: {exc}",
            keyring=keyring,
            at=moment,
        )


def _canonical(record: IncomingRecord, keyring: SecretKeyring, moment: datetime) -> Routed:
    event = decode(record.value, record.headers)
    structlog.contextvars.bind_contextvars(event_id=event.id)
    problem = shape_problem(event.data)
    if problem is not None:
        location = ".".join(str(part) for part in ("data", *problem.location))
        raise RoutingError(DeadLetterCode.INVALID_PAYLOAD, f"{location}: {problem.message}")
    payload = event.payload()
    event_type = EventType(event.type)
    topic = _TARGETS.get(event_type)
    if topic is None:
        raise RoutingError(
            DeadLetterCode.UNKNOWN_TYPE, f"type {event.type!r} is not accepted on {record.topic}"
        )
    entity_id = payload.entity_id
    structlog.contextvars.bind_contextvars(entity_id=entity_id)
    _check_key(record.key, entity_id)
    if isinstance(payload, ConsultantProfile):
        try:
            payload = sealed_profile(payload, keyring)
        except SecretRefusedError as exc:
            location = ".".join(("data", *SECRET_FIELD))
            raise RoutingError(DeadLetterCode.INVALID_PAYLOAD, f"{location}: {exc}") from None
    if event.subject is not None and event.subject != entity_id:
        raise RoutingError(
            DeadLetterCode.SUBJECT_MISMATCH,
            f"subject {event.subject!r} is not the entity id {entity_id!r} in data",
        )
    traceparent = tracing.valid_traceparent(event.traceparent) or tracing.continue_trace(None)
    structlog.contextvars.bind_contextvars(**tracing.log_context(traceparent))
    # Never the time of routing: a record replayed from a dead-letter topic long after an
    # erasure must keep its own time, so that the services can tell it is older.
    time = event.time or record.written_at or moment
    if event_type is EventType.CONSULTANT_ERASED:
        out = tombstone_record(entity_id, event_id=event.id, time=time, traceparent=traceparent)
    else:
        canonical = CloudEvent(
            id=event.id,
            source=Source.INTAKE.value,
            type=event_type.value,
            subject=entity_id,
            time=time,
            data=payload.model_dump(mode="json"),
            traceparent=traceparent,
        )
        out = event_record(topic, canonical)
    return Routed(record=out, event_type=event_type.value)


def _check_key(key: bytes | None, entity_id: str) -> None:
    if key is None:
        raise RoutingError(
            DeadLetterCode.KEY_MISMATCH,
            f"record has no key; it must be the entity id {entity_id!r}",
        )
    try:
        text = key.decode()
    except UnicodeDecodeError:
        raise RoutingError(DeadLetterCode.KEY_MISMATCH, "record key is not UTF-8") from None
    if text != entity_id:
        raise RoutingError(
            DeadLetterCode.KEY_MISMATCH,
            f"record key {text!r} is not the entity id {entity_id!r} in data",
        )


def dead_letter(
    record: IncomingRecord,
    code: DeadLetterCode,
    reason: str,
    *,
    keyring: SecretKeyring,
    at: datetime,
) -> Routed:
    """The record as received (key, value, headers) plus headers saying what was wrong.

    Only a clear webhook secret in the value is changed: sealed, or removed when it cannot
    be, and a `koppel-error-scrubbed` header says which.
    """
    scrubbed = scrub_dead_letter(record.value, keyring)
    errors = tuple(
        dead_letters.error_headers(
            code=code,
            reason=reason,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            at=at,
        )
    )
    if scrubbed.action is not None:
        errors = (*errors, (dead_letters.SCRUBBED, scrubbed.action.encode()))
    letter = OutgoingRecord(
        topic=dlq(record.topic),
        key=record.key,
        value=scrubbed.value,
        headers=(*record.headers, *errors),
    )
    size = output_size(letter)
    if size > MAX_OUTPUT_BYTES:
        # Too large to pass on whole: keep what fits, headers first (they say where it came
        # from). The original stays readable on the source topic at the offset named here.
        letter = OutgoingRecord(topic=letter.topic, key=None, value=None, headers=letter.headers)
        omitted = "key and value"
        if output_size(letter) > MAX_OUTPUT_BYTES:
            letter = OutgoingRecord(topic=letter.topic, key=None, value=None, headers=errors)
            omitted = "key, value and headers"
        note = f"{omitted} omitted: the dead letter would take {size} bytes, over Kafka's limit"
        letter = OutgoingRecord(
            topic=letter.topic,
            key=None,
            value=None,
            headers=(*letter.headers, (dead_letters.OMITTED, note.encode())),
        )
    return Routed(record=letter, code=code)
