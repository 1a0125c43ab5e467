"""The inbox tables in PostgreSQL: contacts, match events and the deliveries they cause.

Plain SQL for `service_layer.inbox`: one `PostgresInboxStore` per transaction, on the
connection that holds it; its writes to the deliveries table are in `inbox_deliveries`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg

from koppel import postgres_pools
from koppel.erasure import erasure_key
from koppel_notifier.adapters.contact_rows import CONTACT_COLUMNS, contact_from_row
from koppel_notifier.adapters.delivery_store import Connection
from koppel_notifier.adapters.inbox_deliveries import InboxDeliveryRows
from koppel_notifier.adapters.response_store import ResponseStore
from koppel_notifier.domain.model import (
    Contact,
    Kind,
    MatchNotice,
)
from koppel_notifier.service_layer.ports import AwaitingMatch, ConsultantState, StoredMatch


class PostgresInbox:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresInboxStore]:
        async with postgres_pools.transaction(self._pool) as connection:
            yield PostgresInboxStore(connection)


class PostgresInboxStore(InboxDeliveryRows):
    """`InboxStore`: contacts and match events here, delivery rows in `InboxDeliveryRows`."""

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self._responses = ResponseStore(connection)

    @property
    def responses(self) -> ResponseStore:
        return self._responses

    def savepoint(self) -> AbstractAsyncContextManager[None]:
        return _savepoint(self._connection)

    async def consultant_state(self, consultant_id: str) -> ConsultantState:
        state = await self._connection.fetchrow(
            "SELECT EXISTS (SELECT 1 FROM notifier_contacts WHERE consultant_id = $1) AS known,"
            " (SELECT erased_at FROM notifier_erasures WHERE consultant_key = $2) AS erased_at",
            consultant_id,
            erasure_key(consultant_id),
        )
        assert state is not None
        return ConsultantState(known=state["known"], erased_at=state["erased_at"])

    async def save_contact(self, contact: Contact, *, mode: str) -> Contact:
        await self._connection.execute(
            """
            INSERT INTO notifier_contacts (consultant_id, name, email, language, channels, mode,
                                           min_score, webhook_url, webhook_secret, reachable,
                                           erased_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, now())
            ON CONFLICT (consultant_id) DO UPDATE SET
                name = EXCLUDED.name, email = EXCLUDED.email, language = EXCLUDED.language,
                channels = EXCLUDED.channels, mode = EXCLUDED.mode,
                min_score = EXCLUDED.min_score, webhook_url = EXCLUDED.webhook_url,
                webhook_secret = EXCLUDED.webhook_secret, reachable = EXCLUDED.reachable,
                erased_at = NULL, updated_at = now()
            """,
            contact.consultant_id,
            contact.name,
            contact.email,
            contact.language,
            sorted(channel.value for channel in contact.channels),
            mode,
            contact.min_score,
            contact.webhook_url,
            contact.webhook_secret,
            contact.reachable,
        )
        row = await self._connection.fetchrow(
            f"SELECT {CONTACT_COLUMNS} FROM notifier_contacts c WHERE c.consultant_id = $1",  # noqa: S608 - fixed column list
            contact.consultant_id,
        )
        assert row is not None
        return contact_from_row(row)

    async def erase(self, consultant_id: str, erased_at: datetime) -> None:
        """Deliveries go before the outbox: a send finishing meanwhile writes its outcome row
        in the same transaction as its delivery row, which this waits for, and then deletes."""
        await self._connection.execute(
            """
            INSERT INTO notifier_erasures (consultant_key, erased_at) VALUES ($1, $2)
            ON CONFLICT (consultant_key) DO UPDATE
            SET erased_at = greatest(notifier_erasures.erased_at, EXCLUDED.erased_at)
            """,
            erasure_key(consultant_id),
            erased_at,
        )
        await self._connection.execute(
            "DELETE FROM notifier_contacts WHERE consultant_id = $1", consultant_id
        )
        await self.forget_matches(consultant_id)
        await self._responses.erase(consultant_id)
        await self._connection.execute(
            "DELETE FROM notifier_outbox WHERE consultant_id = $1", consultant_id
        )

    async def forget_matches(self, consultant_id: str) -> None:
        await self._connection.execute(
            "DELETE FROM notifier_deliveries WHERE consultant_id = $1", consultant_id
        )
        await self._connection.execute(
            "DELETE FROM notifier_match_events WHERE consultant_id = $1", consultant_id
        )

    async def store_match(self, notice: MatchNotice, occurred_at: datetime) -> StoredMatch:
        """One round trip: store the event, check the erasure, read the contact row."""
        row = await self._connection.fetchrow(
            f"""
            WITH contact AS (
                SELECT {CONTACT_COLUMNS} FROM notifier_contacts c WHERE c.consultant_id = $3
            ), erased_later AS (
                SELECT 1 FROM notifier_erasures WHERE consultant_key = $10 AND erased_at >= $8
            ), inserted AS (
                INSERT INTO notifier_match_events (event_key, match_id, consultant_id, kind,
                                                   revision, score, payload, occurred_at,
                                                   routed_at, traceparent)
                SELECT $1, $2, $3, $4, $5, $6, $7::jsonb, $8,
                       CASE WHEN EXISTS (SELECT 1 FROM contact) THEN now() END, $9
                WHERE NOT EXISTS (SELECT 1 FROM erased_later)
                ON CONFLICT (event_key) DO NOTHING
                RETURNING true
            )
            SELECT EXISTS (SELECT 1 FROM inserted) AS inserted,
                   EXISTS (SELECT 1 FROM erased_later) AS stale,
                   (SELECT erased_at FROM notifier_erasures WHERE consultant_key = $10)
                   AS last_erasure, contact.*
            FROM (SELECT 1) AS one LEFT JOIN contact ON true
            """,  # noqa: S608 - fixed column list
            notice.event_key,
            notice.match_id,
            notice.consultant_id,
            notice.kind.value,
            notice.revision,
            notice.score,
            self._payload_json(notice),
            occurred_at,
            notice.traceparent,
            erasure_key(notice.consultant_id),
        )
        assert row is not None
        return StoredMatch(
            inserted=row["inserted"],
            stale=row["stale"],
            contact=None if row["consultant_id"] is None else contact_from_row(row),
            last_erasure=row["last_erasure"],
        )

    async def awaiting(self, consultant_id: str) -> list[AwaitingMatch]:
        rows = await self._connection.fetch(
            """
            SELECT event_key, match_id, consultant_id, kind, revision, score, payload,
                   occurred_at, traceparent
            FROM notifier_match_events WHERE consultant_id = $1 AND routed_at IS NULL
            ORDER BY received_at, event_key
            """,
            consultant_id,
        )
        return [
            AwaitingMatch(
                event_key=row["event_key"],
                notice=MatchNotice(
                    event_id=row["event_key"],
                    match_id=row["match_id"],
                    consultant_id=row["consultant_id"],
                    kind=Kind(row["kind"]),
                    revision=row["revision"],
                    score=row["score"],
                    payload=json.loads(row["payload"]) if row["payload"] else {},
                    traceparent=row["traceparent"],
                ),
                occurred_at=row["occurred_at"],
            )
            for row in rows
        ]

    async def mark_routed(self, event_key: str) -> None:
        await self._connection.execute(
            "UPDATE notifier_match_events SET routed_at = now() WHERE event_key = $1", event_key
        )

    async def latest_revision(self, match_id: str) -> int:
        value = await self._connection.fetchval(
            "SELECT max(revision) FROM notifier_match_events"
            " WHERE match_id = $1 AND kind IN ('match.found', 'match.updated')",
            match_id,
        )
        return int(value or 0)

    async def latest_assignment(self, match_id: str) -> dict[str, Any] | None:
        value = await self._connection.fetchval(
            """
            SELECT payload->'assignment' FROM notifier_match_events
            WHERE match_id = $1 AND kind IN ('match.found', 'match.updated')
              AND payload ? 'assignment'
            ORDER BY revision DESC LIMIT 1
            """,
            match_id,
        )
        if value is None:
            return None
        assignment: dict[str, Any] = json.loads(value)
        return assignment


@asynccontextmanager
async def _savepoint(connection: Connection) -> AsyncIterator[None]:
    async with connection.transaction():  # nested: a savepoint
        yield
