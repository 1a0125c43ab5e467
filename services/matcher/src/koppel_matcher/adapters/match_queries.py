"""Read-side queries of the ledger for the operations API: current `found` matches, ranked,
each with the consultant's answer to it (contract §8.1) when there is one."""

from __future__ import annotations

from datetime import datetime

import asyncpg
from pydantic import BaseModel

from koppel.contract import Assignment, AssignmentSummary
from koppel.vocabulary import Answer, DeclineReason, Language


class MatchResponse(BaseModel):
    """The consultant's answer in force for the match (the note stays with the notifier)."""

    response: Answer
    reason: DeclineReason | None
    responded_at: datetime


class CurrentMatch(BaseModel):
    """A pair whose last published event is `match.found`, as it was published."""

    match_id: str
    consultant_id: str
    assignment_id: str
    score: float
    reasons: list[str]
    language: Language
    revision: int
    updated_at: datetime
    assignment: AssignmentSummary | None
    response: MatchResponse | None


_SELECT = """
SELECT m.match_id, m.consultant_id, m.assignment_id, m.revision, m.score, m.reasons,
       m.language, m.updated_at, a.document,
       r.response, r.reason, r.responded_at
FROM matcher_matches m
LEFT JOIN matcher_assignments a ON a.shard = m.shard AND a.assignment_id = m.assignment_id
LEFT JOIN matcher_responses r
    ON r.consultant_id = m.consultant_id AND r.assignment_id = m.assignment_id
WHERE m.state = 'found' AND {condition}
ORDER BY m.score DESC, m.consultant_id, m.assignment_id
LIMIT $2
"""


class MatchQueries:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def for_assignment(self, assignment_id: str, limit: int) -> list[CurrentMatch]:
        rows = await self._pool.fetch(
            _SELECT.format(condition="m.assignment_id = $1"), assignment_id, limit
        )
        return [_match(row) for row in rows]

    async def for_consultant(self, consultant_id: str, limit: int) -> list[CurrentMatch]:
        rows = await self._pool.fetch(
            _SELECT.format(condition="m.consultant_id = $1"), consultant_id, limit
        )
        return [_match(row) for row in rows]


def _match(row: asyncpg.Record) -> CurrentMatch:
    document = row["document"]
    return CurrentMatch(
        match_id=row["match_id"],
        consultant_id=row["consultant_id"],
        assignment_id=row["assignment_id"],
        score=row["score"],
        reasons=list(row["reasons"]),
        language=Language(row["language"]),
        revision=row["revision"],
        updated_at=row["updated_at"],
        assignment=(
            None if document is None else AssignmentSummary.of(Assignment.model_validate(document))
        ),
        response=_response(row),
    )


def _response(row: asyncpg.Record) -> MatchResponse | None:
    """The answer columns of a row joined with `matcher_responses` (None: no answer)."""
    if row["response"] is None:
        return None
    return MatchResponse(
        response=Answer(row["response"]),
        reason=None if row["reason"] is None else DeclineReason(row["reason"]),
        responded_at=row["responded_at"],
    )
