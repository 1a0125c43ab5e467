"""The daily digests in PostgreSQL: each digest consultant's queued matches become one email."""

from __future__ import annotations

import json
from datetime import date

import asyncpg

from koppel import postgres_pools
from koppel.erasure import erasure_key
from koppel_notifier.domain.delivery_keys import delivery_id_for, digest_key, registration_key


class PostgresDigestStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def build_digests(self, day: date) -> int:
        """Gather each digest consultant's queued matches into that day's digest; return how many.

        A consultant who already had a digest for `day` keeps the rest queued for tomorrow.
        """
        built = 0
        consultants = await self._pool.fetch(
            "SELECT DISTINCT consultant_id FROM notifier_deliveries WHERE status = 'queued'"
        )
        for row in consultants:
            consultant_id = row["consultant_id"]
            erased_at = await self._pool.fetchval(
                "SELECT erased_at FROM notifier_erasures WHERE consultant_key = $1",
                erasure_key(consultant_id),
            )
            key = registration_key(digest_key(consultant_id, day.isoformat()), erased_at)
            digest_id = delivery_id_for(key)
            async with postgres_pools.transaction(self._pool) as connection:
                created = await connection.fetchval(
                    """
                    INSERT INTO notifier_deliveries (id, dedupe_key, consultant_id, channel, kind,
                                            occurred_at, status, payload)
                    VALUES ($1, $2, $3, 'email', 'digest', now(), 'pending', $4::jsonb)
                    ON CONFLICT (dedupe_key) DO NOTHING RETURNING true
                    """,
                    digest_id,
                    key,
                    consultant_id,
                    json.dumps({"day": day.isoformat()}),
                )
                if not created:
                    continue
                match_ids = await connection.fetch(
                    """
                    UPDATE notifier_deliveries SET status = 'digested', digest_id = $2
                    WHERE consultant_id = $1 AND status = 'queued' RETURNING match_id
                    """,
                    consultant_id,
                    digest_id,
                )
                await connection.execute(
                    "UPDATE notifier_deliveries SET match_ids = $2 WHERE id = $1",
                    digest_id,
                    [item["match_id"] for item in match_ids],
                )
                built += 1
        return built
