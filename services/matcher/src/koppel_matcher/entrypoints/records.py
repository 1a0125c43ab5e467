"""What one record of the shard's topics does: decoded, checked, translated, handled.

`RecordDispatcher` turns the bytes of a record into a call on `ShardMatcher` with domain
specs, and answers with the events to publish; a record it cannot use raises
`RejectedRecordError` with the dead-letter code it deserves.

Answers on `koppel.responses.v1` are keyed by match id, so every shard reads every
partition of that topic and keeps the answers of its own consultants: those whose id
Kafka's default partitioner (murmur2, what intake's producer uses) sends to the shard's
partition of `koppel.consultants.v1`. Tombstones on that topic (erasure, see
`adapters.unit_of_work`) carry nothing to keep.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import structlog
from aiokafka import ConsumerRecord
from aiokafka.partitioner import DefaultPartitioner

from koppel import tracing
from koppel.cloudevents import CloudEvent, decode
from koppel.contract import (
    Assignment,
    AssignmentClosed,
    ConsultantErasure,
    ConsultantProfile,
    MatchResponded,
    MatchResponseWithdrawn,
    match_id_for,
)
from koppel.contract.common import ID_PATTERN, EventData
from koppel.dead_letters import DeadLetterCode
from koppel.erasure import tombstone_time
from koppel.errors import EnvelopeError
from koppel.event_types import EventType
from koppel.topics import ASSIGNMENTS, CONSULTANTS, RESPONSES
from koppel_matcher.domain.answers import StoredAnswer
from koppel_matcher.entrypoints.decoded_records import DecodedRecords
from koppel_matcher.entrypoints.translation import (
    TranslationError,
    profile_document,
    profile_spec,
    spec_if_open,
)
from koppel_matcher.service_layer.matching import Outgoing, ShardMatcher
from koppel_matcher.service_layer.ports import ShardRepository

log = structlog.get_logger(__name__)

_ENTITY_ID = re.compile(ID_PATTERN)
_EXPECTED = {
    ASSIGNMENTS: {EventType.ASSIGNMENT_UPSERTED, EventType.ASSIGNMENT_CLOSED},
    CONSULTANTS: {EventType.CONSULTANT_UPSERTED, EventType.CONSULTANT_ERASED},
    RESPONSES: {EventType.MATCH_RESPONDED, EventType.MATCH_RESPONSE_WITHDRAWN},
}
_BROADCAST = {ASSIGNMENTS, RESPONSES}
"""Topics every shard reads in full (their decodes are shared, see `DecodedRecords`)."""
_PARTITIONER = DefaultPartitioner()


def consultant_shard(consultant_id: str, shard_count: int) -> int:
    """The partition of `koppel.consultants.v1` (the shard) the consultant's records go to."""
    partitions = list(range(shard_count))
    shard: int = _PARTITIONER(consultant_id.encode(), partitions, partitions)
    return shard


class RejectedRecordError(Exception):
    """A record the matcher cannot use; it goes to the dead-letter topic with `code`."""

    def __init__(self, code: DeadLetterCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code


class RecordDispatcher:
    """Records of one shard to calls on its `ShardMatcher`."""

    def __init__(self, matcher: ShardMatcher, decoded: DecodedRecords) -> None:
        self._matcher = matcher
        self._decoded = decoded
        self.shard_count = 1
        """Partitions of `koppel.consultants.v1`, set when the shard is taken over."""

    async def dispatch(
        self, repository: ShardRepository, record: ConsumerRecord[bytes, bytes]
    ) -> tuple[str, list[Outgoing]]:
        """The record's outcome (for the metrics) and the events to publish;
        `RejectedRecordError` for a record to dead-letter."""
        key = _record_key(record)
        traceparent = tracing.from_headers(record.headers)
        if record.value is None and record.topic == RESPONSES:
            return "tombstone", []
        if record.value is None:
            if record.topic != CONSULTANTS or key is None:
                raise RejectedRecordError(
                    DeadLetterCode.INVALID_ENVELOPE, "tombstone without a consultant id key"
                )
            erased_at = tombstone_time(record.headers, record.timestamp)
            with structlog.contextvars.bound_contextvars(
                entity_id=key, **tracing.log_context(traceparent)
            ):
                log.info("consultant_erasure")
                erased = await self._matcher.consultant_erased(
                    repository, key, traceparent, erased_at
                )
            return "erased", erased
        value = record.value

        def decoded() -> tuple[CloudEvent, EventData]:
            try:
                event = decode(value, record.headers or ())
                if _event_type(event.type) not in _EXPECTED.get(record.topic, set()):
                    raise RejectedRecordError(
                        DeadLetterCode.UNKNOWN_TYPE, f"type {event.type!r} on {record.topic}"
                    )
                return event, event.payload()
            except EnvelopeError as exc:
                raise RejectedRecordError(exc.code, str(exc)) from exc

        if record.topic in _BROADCAST:
            position = (record.topic, record.partition, record.offset)
            event, payload = self._decoded.get_or_decode(position, value, decoded)
        else:
            event, payload = decoded()
        traceparent = event.traceparent or traceparent
        entity_id = payload.entity_id
        if key != entity_id:
            raise RejectedRecordError(
                DeadLetterCode.KEY_MISMATCH, f"record key {key!r} is not the entity id"
            )
        with structlog.contextvars.bound_contextvars(
            event_id=event.id, entity_id=entity_id, **tracing.log_context(traceparent)
        ):
            if isinstance(payload, MatchResponded | MatchResponseWithdrawn):
                if payload.match_id != match_id_for(payload.assignment_id, payload.consultant_id):
                    raise RejectedRecordError(
                        DeadLetterCode.INVALID_PAYLOAD,
                        "match_id is not the match of consultant_id and assignment_id",
                    )
                if consultant_shard(payload.consultant_id, self.shard_count) != self._matcher.shard:
                    return "other_shard", []
            consultant_id = _consultant_of(payload)
            if consultant_id is not None and await self._matcher.predates_erasure(
                repository, consultant_id, event.time
            ):
                log.info("record_predates_erasure")
                return "stale_after_erasure", []
            try:
                outgoing = await self._apply(repository, payload, traceparent, event.time)
            except TranslationError as exc:
                raise RejectedRecordError(DeadLetterCode.INVALID_PAYLOAD, str(exc)) from exc
            if outgoing is None:
                log.info("assignment_closed_unknown")
                return "ignored", []
            # Every shard reads every assignment: only the ones that publish are worth INFO.
            report = log.info if outgoing or record.topic == CONSULTANTS else log.debug
            report("event_processed", type=event.type, published=len(outgoing))
        return "processed", outgoing

    async def _apply(
        self,
        repository: ShardRepository,
        payload: object,
        traceparent: str | None,
        written_at: datetime | None,
    ) -> list[Outgoing] | None:
        if isinstance(payload, Assignment):
            return await self._matcher.assignment_upserted(
                repository, payload, spec_if_open(payload), traceparent
            )
        if isinstance(payload, AssignmentClosed):
            return await self._matcher.assignment_closed(repository, payload, traceparent)
        if isinstance(payload, ConsultantProfile):
            document = profile_document(payload)
            return await self._matcher.profile_upserted(
                repository, profile_spec(document), document, traceparent
            )
        if isinstance(payload, MatchResponded):
            answer = StoredAnswer(
                consultant_id=payload.consultant_id,
                assignment_id=payload.assignment_id,
                match_id=payload.match_id,
                response=payload.response,
                reason=None if payload.reason is None else payload.reason.value,
                responded_at=payload.responded_at,
            )
            return await self._matcher.answered(repository, answer, traceparent)
        if isinstance(payload, MatchResponseWithdrawn):
            return await self._matcher.answer_withdrawn(
                repository,
                payload.consultant_id,
                payload.assignment_id,
                payload.withdrawn_at,
                traceparent,
            )
        if isinstance(payload, ConsultantErasure):
            erased_at = written_at or datetime.now(UTC)
            return await self._matcher.consultant_erased(
                repository, payload.consultant_id, traceparent, erased_at
            )
        raise RejectedRecordError(
            DeadLetterCode.UNKNOWN_TYPE, f"no handler for {type(payload).__name__}"
        )


def _consultant_of(payload: EventData) -> str | None:
    """The consultant a record written before their erasure must not bring back."""
    if isinstance(payload, ConsultantProfile):
        return payload.id
    if isinstance(payload, MatchResponded | MatchResponseWithdrawn):
        return payload.consultant_id
    return None


def _event_type(name: str) -> EventType | None:
    try:
        return EventType(name)
    except ValueError:
        return None


def _record_key(record: ConsumerRecord[bytes, bytes]) -> str | None:
    if record.key is None:
        return None
    try:
        key = record.key.decode()
    except UnicodeDecodeError:
        return None
    return key if _ENTITY_ID.fullmatch(key) else None
