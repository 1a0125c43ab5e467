"""Writes Koppel events onto the real canonical topics, as intake and the matcher would."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer

from koppel.cloudevents import CloudEvent, encode, new_event
from koppel.contract import (
    Assignment,
    AssignmentClosed,
    AssignmentSummary,
    ConsultantProfile,
    MatchResponded,
    MatchResponseWithdrawn,
    MatchWithdrawn,
    match_id_for,
)
from koppel.contract.common import ContractModel
from koppel.event_types import EventType, Source
from koppel.topics import ASSIGNMENTS, CONSULTANTS, MATCHES, RESPONSES
from koppel.vocabulary import (
    Answer,
    AnswerVia,
    CloseReason,
    DeclineReason,
    VisibleField,
    WithdrawalReason,
)
from koppel_testing.builders import match_found, match_updated

Headers = Sequence[tuple[str, bytes | None]]


def upstream_event(event_type: str, subject: str | None, data: Any) -> CloudEvent:
    """An event as an upstream system writes it onto intake's raw topic."""
    return CloudEvent(
        id=str(uuid.uuid4()),
        source="/upstream/crm",
        type=event_type,
        subject=subject,
        time=datetime.now(UTC),
        data=data,
    )


class TopicWriter:
    """Produces events with a producer the caller owns (and stops)."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer

    async def event(self, topic: str, key: str, event: CloudEvent) -> None:
        value, headers = encode(event)
        await self.producer.send_and_wait(topic, value=value, key=key.encode(), headers=headers)

    async def raw(
        self, topic: str, key: bytes | None, value: bytes | None, headers: Headers | None = None
    ) -> None:
        await self.producer.send_and_wait(topic, value=value, key=key, headers=list(headers or []))

    async def assignment(self, item: Assignment, traceparent: str | None = None) -> None:
        await self._publish(
            ASSIGNMENTS, EventType.ASSIGNMENT_UPSERTED, Source.INTAKE, item.id, item, traceparent
        )

    async def close(self, assignment_id: str, reason: CloseReason) -> None:
        data = AssignmentClosed(
            assignment_id=assignment_id, reason=reason, closed_at=datetime.now(UTC)
        )
        await self._publish(
            ASSIGNMENTS, EventType.ASSIGNMENT_CLOSED, Source.INTAKE, assignment_id, data
        )

    async def profile(self, item: ConsultantProfile) -> None:
        await self._publish(
            CONSULTANTS, EventType.CONSULTANT_UPSERTED, Source.INTAKE, item.id, item
        )

    async def erase(self, consultant_id: str) -> None:
        """The tombstone intake writes for an erased consultant."""
        await self.raw(CONSULTANTS, consultant_id.encode(), None)

    async def found(
        self,
        consultant_id: str,
        assignment: Assignment,
        score: float = 0.8,
        revision: int = 1,
        *,
        traceparent: str | None = None,
        urgent: bool = False,
    ) -> str:
        """A `match.found` as the matcher writes it; returns its match id."""
        data = match_found(consultant_id, assignment, score=score, revision=revision, urgent=urgent)
        await self._publish(
            MATCHES, EventType.MATCH_FOUND, Source.MATCHER, consultant_id, data, traceparent
        )
        return data.match_id

    async def updated(
        self,
        consultant_id: str,
        assignment: Assignment,
        changed: list[VisibleField],
        revision: int = 2,
        score: float = 0.8,
    ) -> str:
        """A `match.updated` as the matcher writes it; returns its match id."""
        data = match_updated(consultant_id, assignment, changed, revision=revision, score=score)
        await self._publish(MATCHES, EventType.MATCH_UPDATED, Source.MATCHER, consultant_id, data)
        return data.match_id

    async def withdrawn(
        self,
        consultant_id: str,
        assignment: Assignment,
        reason: WithdrawalReason = WithdrawalReason.ASSIGNMENT_FILLED,
        *,
        with_summary: bool = False,
    ) -> str:
        """A `match.withdrawn` as the matcher writes it (with the assignment's summary if
        `with_summary`); returns its match id."""
        match_id = match_id_for(assignment.id, consultant_id)
        data = MatchWithdrawn(
            match_id=match_id,
            consultant_id=consultant_id,
            assignment_id=assignment.id,
            assignment=AssignmentSummary.of(assignment) if with_summary else None,
            reason=reason,
        )
        await self._publish(MATCHES, EventType.MATCH_WITHDRAWN, Source.MATCHER, consultant_id, data)
        return match_id

    async def responded(
        self,
        consultant_id: str,
        assignment_id: str,
        response: Answer,
        at: datetime,
        *,
        via: AnswerVia = AnswerVia.API,
        reason: DeclineReason | None = None,
    ) -> MatchResponded:
        """A `match.responded` onto the responses topic, as intake (`via` the API) or the
        notifier (its page, its email links) writes it."""
        data = MatchResponded(
            match_id=match_id_for(assignment_id, consultant_id),
            consultant_id=consultant_id,
            assignment_id=assignment_id,
            response=response,
            reason=reason,
            responded_at=at,
            via=via,
        )
        await self._publish(
            RESPONSES, EventType.MATCH_RESPONDED, _answered_by(via), data.match_id, data
        )
        return data

    async def response_withdrawn(
        self,
        consultant_id: str,
        assignment_id: str,
        at: datetime,
        *,
        via: AnswerVia = AnswerVia.API,
    ) -> None:
        """A `match.response_withdrawn` (an answer taken back), as intake or the notifier
        writes it."""
        data = MatchResponseWithdrawn(
            match_id=match_id_for(assignment_id, consultant_id),
            consultant_id=consultant_id,
            assignment_id=assignment_id,
            withdrawn_at=at,
            via=via,
        )
        await self._publish(
            RESPONSES, EventType.MATCH_RESPONSE_WITHDRAWN, _answered_by(via), data.match_id, data
        )

    async def _publish(
        self,
        topic: str,
        event_type: EventType,
        source: Source,
        subject: str,
        data: ContractModel,
        traceparent: str | None = None,
    ) -> None:
        event = new_event(
            event_type, source=source, subject=subject, data=data, traceparent=traceparent
        )
        await self.event(topic, subject, event)


def _answered_by(via: AnswerVia) -> Source:
    """Intake publishes the answers given over its API; the notifier those of its page."""
    return Source.INTAKE if via is AnswerVia.API else Source.NOTIFIER
