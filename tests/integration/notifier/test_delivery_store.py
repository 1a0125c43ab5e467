"""DeliveryStore.delivered_many against a real PostgreSQL: rows, match ids and outbox events."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from koppel.migrations import migrate
from koppel_notifier.adapters.delivery_store import DeliveryStore
from koppel_notifier.domain.model import ChannelName, Delivery, Kind

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _delivery(number: int, channel: ChannelName, kind: Kind, traceparent: str | None) -> Delivery:
    return Delivery(
        id=str(uuid.uuid4()),
        consultant_id=f"c-{number}",
        channel=channel,
        kind=kind,
        match_ids=(f"m-{number}",),
        payload={},
        occurred_at=NOW,
        created_at=NOW,
        attempts=number,
        contact=None,
        traceparent=traceparent,
    )


async def test_a_batch_of_successes_is_recorded_with_each_rows_own_match_ids(
    fresh_database: str,
) -> None:
    await migrate(fresh_database, service="notifier", package="koppel_notifier.migrations")
    pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=2)
    assert pool is not None
    try:
        trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        webhook = _delivery(1, ChannelName.WEBHOOK, Kind.FOUND, trace)
        digest = _delivery(2, ChannelName.EMAIL, Kind.DIGEST, None)
        untouched = _delivery(3, ChannelName.WEBHOOK, Kind.FOUND, None)
        for delivery in (webhook, digest, untouched):
            await pool.execute(
                "INSERT INTO notifier_deliveries (id, dedupe_key, consultant_id, channel, kind,"
                " match_ids, occurred_at, status, attempts, lease_until, last_error)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, 'sending', $8, now(), 'earlier error')",
                uuid.UUID(delivery.id),
                delivery.id,
                delivery.consultant_id,
                delivery.channel.value,
                delivery.kind.value,
                list(delivery.match_ids),
                NOW,
                delivery.attempts,
            )

        store = DeliveryStore(pool)
        await store.delivered_many([(webhook, ["m-1"]), (digest, ["d-1", "d-2"])], now=NOW)
        # Recording the same outcome again (a retried batch) adds no second event.
        await store.delivered_many([(webhook, ["m-1"])], now=NOW)

        rows = {
            str(row["id"]): row
            for row in await pool.fetch(
                "SELECT id, status, match_ids, last_error, lease_until, finished_at"
                " FROM notifier_deliveries"
            )
        }
        assert rows[webhook.id]["status"] == "delivered"
        assert rows[webhook.id]["match_ids"] == ["m-1"]
        assert rows[digest.id]["match_ids"] == ["d-1", "d-2"]
        for delivered in (webhook.id, digest.id):
            assert rows[delivered]["last_error"] is None
            assert rows[delivered]["lease_until"] is None
            assert rows[delivered]["finished_at"] is not None
        assert rows[untouched.id]["status"] == "sending"

        events = {
            row["consultant_id"]: row
            for row in await pool.fetch(
                "SELECT consultant_id, event_type, data, traceparent FROM notifier_outbox"
            )
        }
        assert set(events) == {"c-1", "c-2"}
        assert events["c-1"]["traceparent"] == trace
        assert events["c-2"]["traceparent"] is None
        assert {row["event_type"] for row in events.values()} == {
            "nl.koppel.notification.delivered"
        }
        data = json.loads(events["c-2"]["data"])
        assert data == {
            "notification_id": digest.id,
            "match_ids": ["d-1", "d-2"],
            "consultant_id": "c-2",
            "channel": "email",
            "kind": "digest",
            "attempts": 2,
            "delivered_at": NOW.isoformat(),
        }
    finally:
        await pool.close()
