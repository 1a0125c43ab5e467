"""The consultant's answer to a match (contract §8.1): the HTTP bodies and the events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

from pydantic import AwareDatetime, StringConstraints, model_validator

from koppel.contract.common import NO_CONTROL_CHARACTERS, ContractModel, EntityId, EventData, Text
from koppel.vocabulary import Answer, AnswerVia, DeclineReason

Note = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=500),
    NO_CONTROL_CHARACTERS,
]
"""A consultant's own words with a `not_interested` answer: free text, so personal data."""


class _AnswerFields(ContractModel):
    response: Answer
    reason: DeclineReason | None = None
    note: Note | None = None

    @model_validator(mode="after")
    def _reason_only_when_declining(self) -> Self:
        if self.response is Answer.INTERESTED and self.reason is not None:
            raise ValueError("reason is only given with response not_interested")
        if self.response is Answer.INTERESTED and self.note is not None:
            raise ValueError("note is only given with response not_interested")
        return self


class ResponseCommand(_AnswerFields):
    """Body of `PUT /v1/matches/{match_id}/response`: an upstream system answers for a
    consultant, who must be the match's consultant."""

    consultant_id: EntityId

    def responded(
        self, *, match_id: str, assignment_id: str, at: datetime, via: AnswerVia
    ) -> MatchResponded:
        """The event this answer becomes once the match is known to be the consultant's."""
        return MatchResponded(
            match_id=match_id,
            consultant_id=self.consultant_id,
            assignment_id=assignment_id,
            response=self.response,
            reason=self.reason,
            note=self.note,
            responded_at=at,
            via=via,
        )


class MatchResponded(_AnswerFields, EventData):
    """Data of `nl.koppel.match.responded` on `koppel.responses.v1`, keyed by match id."""

    match_id: Text
    consultant_id: EntityId
    assignment_id: EntityId
    responded_at: AwareDatetime
    via: AnswerVia

    @property
    def entity_id(self) -> str:
        return self.match_id


class MatchResponseWithdrawn(EventData):
    """Data of `nl.koppel.match.response_withdrawn`: the answer is taken back, so the pair
    is treated as unanswered again (a `not_interested` pair may be announced again)."""

    match_id: Text
    consultant_id: EntityId
    assignment_id: EntityId
    withdrawn_at: AwareDatetime
    via: AnswerVia

    @property
    def entity_id(self) -> str:
        return self.match_id
