"""The consultants' answers in PostgreSQL (`notifier_responses`), one row per match.

The same answer reaches this table twice — written at once by the page that took it, and
again when the consumer reads it back from `koppel.responses.v1` — and records of one match
can arrive late, so every write is conditional on `responded_at`: the latest answer wins,
an older one changes nothing, and a withdrawal removes only an answer it is not older than
and leaves a mark (`notifier_response_withdrawals`) that keeps an older answer, read back
from the topic after the page took it back, from returning.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from koppel.contract.response import MatchResponded, MatchResponseWithdrawn
from koppel.erasure import erasure_key
from koppel_notifier.adapters.delivery_store import Connection

_COLUMNS = "match_id, consultant_id, assignment_id, response, reason, note, via, responded_at"


class ResponseStore:
    """On a pool (each call its own transaction) or on a connection inside a transaction."""

    def __init__(self, db: asyncpg.Pool | Connection) -> None:
        self._db = db

    async def record(self, answer: MatchResponded) -> bool:
        """Store `answer` unless a later one is stored or the consultant was erased after it;
        whether it changed what is stored (a replay does not)."""
        stored: bool | None = await self._db.fetchval(
            f"""
            INSERT INTO notifier_responses ({_COLUMNS})
            SELECT $1, $2, $3, $4, $5, $6, $7, $8
            WHERE NOT EXISTS (
                SELECT 1 FROM notifier_erasures WHERE consultant_key = $9 AND erased_at >= $8
            ) AND NOT EXISTS (
                SELECT 1 FROM notifier_response_withdrawals
                WHERE match_id = $1 AND withdrawn_at >= $8
            )
            ON CONFLICT (match_id) DO UPDATE SET
                consultant_id = EXCLUDED.consultant_id,
                assignment_id = EXCLUDED.assignment_id, response = EXCLUDED.response,
                reason = EXCLUDED.reason, note = EXCLUDED.note, via = EXCLUDED.via,
                responded_at = EXCLUDED.responded_at
            WHERE notifier_responses.responded_at < EXCLUDED.responded_at
               OR (notifier_responses.responded_at = EXCLUDED.responded_at
                   AND (notifier_responses.response, notifier_responses.reason,
                        notifier_responses.note, notifier_responses.via)
                       IS DISTINCT FROM
                       (EXCLUDED.response, EXCLUDED.reason, EXCLUDED.note, EXCLUDED.via))
            RETURNING true
            """,  # noqa: S608 - fixed column list
            answer.match_id,
            answer.consultant_id,
            answer.assignment_id,
            answer.response.value,
            None if answer.reason is None else answer.reason.value,
            answer.note,
            answer.via.value,
            answer.responded_at,
            erasure_key(answer.consultant_id),
        )
        return bool(stored)

    async def withdraw(self, withdrawal: MatchResponseWithdrawn) -> bool:
        """Remove the match's answer unless it was given after the withdrawal; whether one went."""
        removed: bool | None = await self._db.fetchval(
            """
            WITH mark AS (
                INSERT INTO notifier_response_withdrawals (match_id, consultant_id, withdrawn_at)
                VALUES ($1, $2, $3)
                ON CONFLICT (match_id) DO UPDATE SET withdrawn_at = greatest(
                    notifier_response_withdrawals.withdrawn_at, EXCLUDED.withdrawn_at)
            )
            DELETE FROM notifier_responses
            WHERE match_id = $1 AND consultant_id = $2 AND responded_at <= $3
            RETURNING true
            """,
            withdrawal.match_id,
            withdrawal.consultant_id,
            withdrawal.withdrawn_at,
        )
        return bool(removed)

    async def answers_for(self, consultant_id: str) -> dict[str, MatchResponded]:
        """The consultant's current answers by match id."""
        rows = await self._db.fetch(
            f"SELECT {_COLUMNS} FROM notifier_responses WHERE consultant_id = $1",  # noqa: S608 - fixed column list
            consultant_id,
        )
        return {row["match_id"]: _answer(row) for row in rows}

    async def answer_for(self, match_id: str) -> MatchResponded | None:
        row = await self._db.fetchrow(
            f"SELECT {_COLUMNS} FROM notifier_responses WHERE match_id = $1",  # noqa: S608 - fixed column list
            match_id,
        )
        return None if row is None else _answer(row)

    async def erase(self, consultant_id: str) -> None:
        """Delete every answer of the consultant (GDPR erasure)."""
        await self._db.execute(
            "DELETE FROM notifier_responses WHERE consultant_id = $1", consultant_id
        )
        await self._db.execute(
            "DELETE FROM notifier_response_withdrawals WHERE consultant_id = $1", consultant_id
        )


def _answer(row: asyncpg.Record) -> MatchResponded:
    responded_at: datetime = row["responded_at"]
    return MatchResponded(
        match_id=row["match_id"],
        consultant_id=row["consultant_id"],
        assignment_id=row["assignment_id"],
        response=row["response"],
        reason=row["reason"],
        note=row["note"],
        via=row["via"],
        responded_at=responded_at,
    )
