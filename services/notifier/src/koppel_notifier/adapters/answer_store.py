"""The consultant's page in PostgreSQL: their open matches, and answers with their outbox rows.

A match is on the page when the consultant was told about it (a delivery of it exists that
was not cancelled) and its latest event is a found or an update, not a withdrawal. The
answers themselves live in `notifier_responses` and are read and written through
`ResponseStore`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

import asyncpg

from koppel import postgres_pools
from koppel.contract.response import MatchResponded, MatchResponseWithdrawn
from koppel.event_types import EventType
from koppel.topics import RESPONSES
from koppel_notifier.adapters.delivery_store import Connection
from koppel_notifier.adapters.response_store import ResponseStore
from koppel_notifier.domain.answers import CURRENT_KINDS, CurrentMatch, GivenAnswer, PageContact

# The latest event of each of the consultant's matches: a withdrawal carries the revision of
# the found it withdraws, so at equal revisions it is the later one.
_LATEST = """
    SELECT DISTINCT ON (e.match_id) e.match_id, e.kind, e.payload, e.occurred_at
    FROM notifier_match_events e
    WHERE e.consultant_id = $1 {only}
    ORDER BY e.match_id, e.revision DESC, (e.kind = 'match.withdrawn') DESC,
             e.occurred_at DESC, e.received_at DESC
"""
_OPEN_AND_TOLD = """
    SELECT latest.match_id, latest.payload, latest.occurred_at FROM ({latest}) AS latest
    WHERE latest.kind = ANY($2::text[])
      AND EXISTS (SELECT 1 FROM notifier_deliveries d
                  WHERE d.match_id = latest.match_id AND d.consultant_id = $1
                    AND d.status <> 'cancelled')
    ORDER BY latest.occurred_at DESC, latest.match_id
"""


class PostgresAnswers:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresAnswerBook]:
        async with postgres_pools.transaction(self._pool) as connection:
            yield PostgresAnswerBook(connection)


class PostgresAnswerBook:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._responses = ResponseStore(connection)

    async def current_match(self, consultant_id: str, match_id: str) -> CurrentMatch | None:
        query = _OPEN_AND_TOLD.format(latest=_LATEST.format(only="AND e.match_id = $3"))
        row = await self._connection.fetchrow(query, consultant_id, list(CURRENT_KINDS), match_id)
        if row is None:
            return None
        answer = await self._responses.answer_for(match_id)
        return _current(row, answer)

    async def answered(self, answer: MatchResponded) -> None:
        await self._responses.record(answer)
        await self._queue(EventType.MATCH_RESPONDED, answer.consultant_id, answer)

    async def taken_back(self, withdrawal: MatchResponseWithdrawn) -> None:
        await self._responses.withdraw(withdrawal)
        await self._queue(EventType.MATCH_RESPONSE_WITHDRAWN, withdrawal.consultant_id, withdrawal)

    async def _queue(
        self,
        event_type: EventType,
        consultant_id: str,
        data: MatchResponded | MatchResponseWithdrawn,
    ) -> None:
        await self._connection.execute(
            """
            INSERT INTO notifier_outbox (id, consultant_id, event_type, data, topic, message_key)
            VALUES ($1, $2, $3, $4::jsonb, $5, $6)
            """,
            uuid.uuid4(),
            consultant_id,
            event_type.value,
            json.dumps(data.model_dump(mode="json")),
            RESPONSES,
            data.entity_id,
        )


class PostgresMatchPages:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def contact(self, consultant_id: str) -> PageContact | None:
        language = await self._pool.fetchval(
            "SELECT language FROM notifier_contacts WHERE consultant_id = $1", consultant_id
        )
        if language is None:
            return None
        return PageContact(consultant_id=consultant_id, language=str(language))

    async def current_matches(self, consultant_id: str) -> list[CurrentMatch]:
        async with postgres_pools.transaction(self._pool, readonly=True) as connection:
            query = _OPEN_AND_TOLD.format(latest=_LATEST.format(only=""))
            rows = await connection.fetch(query, consultant_id, list(CURRENT_KINDS))
            answers = await ResponseStore(connection).answers_for(consultant_id)
        return [_current(row, answers.get(row["match_id"])) for row in rows]


def _current(row: asyncpg.Record, answer: MatchResponded | None) -> CurrentMatch:
    payload = json.loads(row["payload"])
    occurred_at: datetime = row["occurred_at"]
    return CurrentMatch(
        match_id=row["match_id"],
        assignment_id=str(payload["assignment"]["id"]),
        payload=payload,
        occurred_at=occurred_at,
        answer=None
        if answer is None
        else GivenAnswer(
            response=answer.response,
            reason=answer.reason,
            note=answer.note,
            responded_at=answer.responded_at,
        ),
    )
