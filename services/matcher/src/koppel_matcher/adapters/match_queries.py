"""Read-side queries of the ledger for the read API: one match, a page of matches, a pair.
Each match carries the consultant's answer to it (contract §8.1) when there is one.

Pages are keyset pages in the order the read API promises (score descending, then the
other side's id), so a page is as cheap deep in the list as at its start and a match that
appears or goes between two pages never shifts the ones after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import asyncpg
from pydantic import BaseModel

from koppel.contract import Assignment, AssignmentSummary
from koppel.vocabulary import Answer, DeclineReason, Language, WithdrawalReason

MatchStatus = Literal["found", "withdrawn"]


class MatchResponse(BaseModel):
    """The consultant's answer in force for the match (the note stays with the notifier)."""

    response: Answer
    reason: DeclineReason | None
    responded_at: datetime


class CurrentMatch(BaseModel):
    """A pair as its last published event left it: `found` with its score and reasons, or
    `withdrawn` (score and reasons of its last `found`, and why it was withdrawn)."""

    match_id: str
    consultant_id: str
    assignment_id: str
    status: MatchStatus
    score: float
    reasons: list[str]
    language: Language
    revision: int
    updated_at: datetime
    withdrawal_reason: WithdrawalReason | None = None
    assignment: AssignmentSummary | None
    response: MatchResponse | None


@dataclass(frozen=True)
class After:
    """Where a page starts: after the match with this score and this id of the other side."""

    score: float
    key: str


@dataclass(frozen=True)
class PageQuery:
    limit: int
    min_score: float = 0.0
    statuses: tuple[MatchStatus, ...] = ("found",)
    after: After | None = None


@dataclass(frozen=True)
class PairDocuments:
    """What the matcher holds of a pair: the profile's stored subset, the assignment."""

    profile: dict[str, Any]
    assignment: dict[str, Any]


_COLUMNS = """
SELECT m.match_id, m.consultant_id, m.assignment_id, m.state, m.revision, m.score, m.reasons,
       m.language, m.withdrawal_reason, m.updated_at, a.document,
       r.response, r.reason, r.responded_at
FROM matcher_matches m
LEFT JOIN matcher_assignments a ON a.shard = m.shard AND a.assignment_id = m.assignment_id
LEFT JOIN matcher_responses r
    ON r.consultant_id = m.consultant_id AND r.assignment_id = m.assignment_id
"""
_PAGE = (
    _COLUMNS
    + """
WHERE m.{side} = $1 AND m.state = ANY($2::text[]) AND m.score >= $3
  AND ($4::double precision IS NULL OR m.score < $4 OR (m.score = $4 AND m.{key} > $5))
ORDER BY m.score DESC, m.{key}
LIMIT $6
"""
)
_BY_ID = _COLUMNS + "WHERE m.match_id = $1 LIMIT 1"
_PROFILE = "SELECT shard, document FROM matcher_profiles WHERE consultant_id = $1"
# Each shard keeps its own copy of every assignment; the profile's shard matched with its.
_ASSIGNMENT = """
SELECT document FROM matcher_assignments WHERE assignment_id = $1
ORDER BY shard = $2 DESC, updated_at DESC LIMIT 1
"""


class MatchQueries:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def by_id(self, match_id: str) -> CurrentMatch | None:
        row = await self._pool.fetchrow(_BY_ID, match_id)
        return None if row is None else _match(row)

    async def for_assignment(self, assignment_id: str, page: PageQuery) -> list[CurrentMatch]:
        """Up to `page.limit` matches of the assignment; ordered by score, then consultant."""
        return await self._page("assignment_id", "consultant_id", assignment_id, page)

    async def for_consultant(self, consultant_id: str, page: PageQuery) -> list[CurrentMatch]:
        """Up to `page.limit` matches of the consultant; ordered by score, then assignment."""
        return await self._page("consultant_id", "assignment_id", consultant_id, page)

    async def pair(self, assignment_id: str, consultant_id: str) -> PairDocuments | None:
        """The stored documents of both sides, or None when either is unknown here."""
        profile = await self._pool.fetchrow(_PROFILE, consultant_id)
        if profile is None:
            return None
        assignment = await self._pool.fetchval(_ASSIGNMENT, assignment_id, profile["shard"])
        if assignment is None:
            return None
        return PairDocuments(profile=profile["document"], assignment=assignment)

    async def _page(self, side: str, key: str, value: str, page: PageQuery) -> list[CurrentMatch]:
        after = page.after
        rows = await self._pool.fetch(
            _PAGE.format(side=side, key=key),
            value,
            list(page.statuses),
            page.min_score,
            None if after is None else after.score,
            None if after is None else after.key,
            page.limit,
        )
        return [_match(row) for row in rows]


def _match(row: asyncpg.Record) -> CurrentMatch:
    document = row["document"]
    reason = row["withdrawal_reason"]
    return CurrentMatch(
        match_id=row["match_id"],
        consultant_id=row["consultant_id"],
        assignment_id=row["assignment_id"],
        status=row["state"],
        score=row["score"],
        reasons=list(row["reasons"]),
        language=Language(row["language"]),
        revision=row["revision"],
        updated_at=row["updated_at"],
        withdrawal_reason=None if reason is None else WithdrawalReason(reason),
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
