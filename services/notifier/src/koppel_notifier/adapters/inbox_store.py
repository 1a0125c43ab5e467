"""The inbox tables in PostgreSQL: contacts, match events and the deliveries they cause.

Plain SQL for `service_layer.inbox`: one `PostgresInboxStore` per transaction, on the
connection that holds it.
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
from koppel_notifier.adapters.delivery_store import Connection, cancel_unsent
from koppel_notifier.adapters.response_store import ResponseStore
from koppel_notifier.domain.delivery_keys import delivery_id_for
from koppel_notifier.domain.model import (
    ChannelName,
    Contact,
    Kind,
    MatchNotice,
    PlannedDelivery,
)
from koppel_notifier.service_layer.ports.inbox import AwaitingMatch, ConsultantState, StoredMatch


class PostgresInbox:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresInboxStore]:
        async with postgres_pools.transaction(self._pool) as connection:
            yield PostgresInboxStore(connection)


class PostgresInboxStore:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._payload: tuple[dict[str, Any], str] | None = None
        self._responses = ResponseStore(connection)

    @property
    def responses(self) -> ResponseStore:
        return self._responses

    def _payload_json(self, notice: MatchNotice) -> str:
        """`notice.payload` as JSON, serialised once for the event and all its deliveries."""
        if self._payload is None or self._payload[0] is not notice.payload:
            self._payload = (notice.payload, json.dumps(notice.payload))
        return self._payload[1]

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

    async def channels_told(self, match_id: str, consultant_id: str) -> set[ChannelName]:
        told = await self._connection.fetch(
            """
            SELECT DISTINCT channel FROM notifier_deliveries
            WHERE match_id = $1 AND consultant_id = $2
              AND kind IN ('match.found', 'match.updated')
              AND (status IN ('sending', 'delivered') OR (status = 'pending' AND attempts > 0))
            """,
            match_id,
            consultant_id,
        )
        return {ChannelName(row["channel"]) for row in told}

    async def cancel_unsent_found(self, match_id: str, consultant_id: str, why: str) -> None:
        await self._connection.execute(
            """
            UPDATE notifier_deliveries SET status = 'cancelled', last_error = $3,
                                  finished_at = now()
            WHERE match_id = $1 AND consultant_id = $2
              AND kind IN ('match.found', 'match.updated')
              AND status IN ('pending', 'queued', 'digested')
            """,
            match_id,
            consultant_id,
            why,
        )

    async def cancel_unannounced(self, match_id: str, consultant_id: str, why: str) -> None:
        await self._connection.execute(
            """
            UPDATE notifier_deliveries SET status = 'cancelled', last_error = $3,
                                  finished_at = now()
            WHERE match_id = $1 AND consultant_id = $2
              AND kind IN ('match.found', 'match.updated')
              AND (status IN ('queued', 'digested') OR (status = 'pending' AND attempts = 0))
            """,
            match_id,
            consultant_id,
            why,
        )

    async def cancel_unsent(
        self, consultant_id: str, channel: ChannelName, why: str, *, keep_withdrawals: bool
    ) -> None:
        await cancel_unsent(
            self._connection, consultant_id, channel, why, keep_withdrawals=keep_withdrawals
        )

    async def release_queued(self, consultant_id: str) -> None:
        await self._connection.execute(
            "UPDATE notifier_deliveries SET status = 'pending', due_at = now() "
            "WHERE consultant_id = $1 AND status = 'queued'",
            consultant_id,
        )

    async def add_delivery(
        self,
        key: str,
        planned: PlannedDelivery,
        notice: MatchNotice,
        occurred_at: datetime,
    ) -> None:
        await self._connection.execute(
            """
            INSERT INTO notifier_deliveries (id, dedupe_key, consultant_id, channel, kind,
                                             match_id, revision, match_ids, payload,
                                             occurred_at, status, traceparent)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11, $12)
            ON CONFLICT (dedupe_key) DO NOTHING
            """,
            delivery_id_for(key),
            key,
            notice.consultant_id,
            planned.channel.value,
            planned.kind.value,
            notice.match_id,
            notice.revision,
            [notice.match_id],
            self._payload_json(notice),
            occurred_at,
            planned.status.value,
            notice.traceparent,
        )


@asynccontextmanager
async def _savepoint(connection: Connection) -> AsyncIterator[None]:
    async with connection.transaction():  # nested: a savepoint
        yield
