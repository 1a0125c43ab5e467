"""Answers on a consultant's behalf (contract §8.1): checked against the matcher, then
published on `koppel.responses.v1`, keyed by match id."""

from __future__ import annotations

from datetime import UTC, datetime

from koppel.contract import MatchResponseWithdrawn, ResponseCommand
from koppel.event_types import EventType
from koppel.topics import RESPONSES
from koppel.vocabulary import AnswerVia
from koppel_intake.service_layer.commands import Accepted, Intake
from koppel_intake.service_layer.ports import KnownMatch, MatchDirectory


class MatchNotFoundError(Exception):
    """No match with this id for this consultant.

    One error for an unknown match, an unknown consultant and another consultant's match,
    so a caller cannot tell them apart: the answer reveals nothing about other consultants.
    """


class Answers:
    """Publishes an answer only once the matcher confirmed that the match is the
    consultant's; raises `DirectoryUnavailableError` when it cannot tell, `PublishError`
    when Kafka did not acknowledge."""

    def __init__(self, intake: Intake, directory: MatchDirectory) -> None:
        self._intake = intake
        self._directory = directory

    async def respond(
        self, match_id: str, command: ResponseCommand, *, traceparent: str
    ) -> Accepted:
        match = await self._owned(match_id, command.consultant_id)
        responded = command.responded(
            match_id=match.match_id,
            assignment_id=match.assignment_id,
            at=datetime.now(UTC),
            via=AnswerVia.API,
        )
        return await self._intake.emit(RESPONSES, EventType.MATCH_RESPONDED, responded, traceparent)

    async def withdraw(self, match_id: str, consultant_id: str, *, traceparent: str) -> Accepted:
        """Take the answer back; accepted whether or not an answer was given (idempotent)."""
        match = await self._owned(match_id, consultant_id)
        withdrawn = MatchResponseWithdrawn(
            match_id=match.match_id,
            consultant_id=match.consultant_id,
            assignment_id=match.assignment_id,
            withdrawn_at=datetime.now(UTC),
            via=AnswerVia.API,
        )
        return await self._intake.emit(
            RESPONSES, EventType.MATCH_RESPONSE_WITHDRAWN, withdrawn, traceparent
        )

    async def _owned(self, match_id: str, consultant_id: str) -> KnownMatch:
        match = await self._directory.find(match_id)
        if match is None or match.match_id != match_id or match.consultant_id != consultant_id:
            raise MatchNotFoundError(match_id)
        return match
