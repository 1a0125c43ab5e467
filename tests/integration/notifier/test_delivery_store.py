"""PostgresDeliveryStore on a real PostgreSQL: what a claim takes, how successes are stored."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from koppel_notifier.adapters.delivery_store import PostgresDeliveryStore
from koppel_notifier.domain.model import ChannelName, Delivery, Kind
from koppel_notifier.service_layer.ports import Capacity

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
    pool: asyncpg.Pool,
) -> None:
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

    store = PostgresDeliveryStore(pool)
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

    outbox = await pool.fetch(
        "SELECT consultant_id, event_type, data, traceparent FROM notifier_outbox"
    )
    assert len(outbox) == 2  # one event per delivery, none for the retried batch
    events = {row["consultant_id"]: row for row in outbox}
    assert set(events) == {"c-1", "c-2"}
    assert events["c-1"]["traceparent"] == trace
    assert events["c-2"]["traceparent"] is None
    assert {row["event_type"] for row in events.values()} == {"nl.koppel.notification.delivered"}
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


async def test_an_operators_retry_round_reports_its_outcome_under_an_event_id_of_its_own(
    pool: asyncpg.Pool,
) -> None:
    first = _delivery(4, ChannelName.WEBHOOK, Kind.FOUND, None)
    await pool.execute(
        "INSERT INTO notifier_deliveries (id, dedupe_key, consultant_id, channel, kind,"
        " match_ids, occurred_at, status, attempts, lease_until)"
        " VALUES ($1, $2, $3, 'webhook', 'found', $4, $5, 'sending', $6, now())",
        uuid.UUID(first.id),
        first.id,
        first.consultant_id,
        list(first.match_ids),
        NOW,
        first.attempts,
    )
    store = PostgresDeliveryStore(pool)
    await store.delivered_many([(first, ["m-4"])], now=NOW)
    # `koppel-notifier deliveries retry` starts the attempts again: the same attempt count
    # in the next round is another outcome, which upstream systems must not drop as a repeat.
    await pool.execute(
        "UPDATE notifier_deliveries SET status = 'sending', retry_round = 1 WHERE id = $1",
        uuid.UUID(first.id),
    )
    await store.delivered_many([(replace(first, retry_round=1), ["m-4"])], now=NOW)

    outbox = await pool.fetch(
        "SELECT id FROM notifier_outbox WHERE consultant_id = $1", first.consultant_id
    )
    assert len({row["id"] for row in outbox}) == 2


async def _due(pool: asyncpg.Pool, name: str, *, channel: str = "webhook", url: str = "") -> str:
    """A pending delivery, due `name`'s number of minutes ago (smaller = due later).

    Its consultant gets a contact row with `url` as webhook URL (None when empty).
    """
    number = int(name.split("-")[-1])
    await pool.execute(
        "INSERT INTO notifier_contacts (consultant_id, email, channels, webhook_url,"
        " webhook_secret, reachable) VALUES ($1, $2, $3, $4, 'whsec_x', true)"
        " ON CONFLICT (consultant_id) DO NOTHING",
        name,
        f"{name}@example.org",
        [channel],
        url or None,
    )
    delivery_id = uuid.uuid4()
    await pool.execute(
        "INSERT INTO notifier_deliveries (id, dedupe_key, consultant_id, channel, kind,"
        " match_ids, occurred_at, status, due_at)"
        " VALUES ($1, $2, $3, $4, 'match.found', '{m}', now(), 'pending', $5)",
        delivery_id,
        str(delivery_id),
        name,
        channel,
        datetime.now(UTC) - timedelta(minutes=1000 - number),
    )
    return name


def _capacity(total: int, *, email: int = 0, limit: int = 2, **busy: int) -> Capacity:
    urls = {f"https://{host}.example/h": count for host, count in busy.items()}
    return Capacity(total=total, email=email, endpoint_limit=limit, busy_endpoints=urls)


async def _claimed(pool: asyncpg.Pool, capacity: Capacity) -> list[str]:
    claimed = await PostgresDeliveryStore(pool).claim(capacity, 30, max_attempts=8)
    return [delivery.consultant_id for delivery in claimed]


async def test_an_endpoint_never_gets_more_than_its_limit(pool: asyncpg.Pool) -> None:
    for n in range(10):
        await _due(pool, f"a-{n}", url="https://a.example/h")
    await _due(pool, "b-10", url="https://b.example/h")

    assert await _claimed(pool, _capacity(20, limit=2)) == ["a-0", "a-1", "b-10"]
    rows = await pool.fetch(
        "SELECT consultant_id, status, attempts, lease_until > now() AS leased"
        " FROM notifier_deliveries WHERE status = 'sending' ORDER BY consultant_id"
    )
    assert [(r["consultant_id"], r["attempts"], r["leased"]) for r in rows] == [
        ("a-0", 1, True),
        ("a-1", 1, True),
        ("b-10", 1, True),
    ]


async def test_sends_in_flight_count_against_the_endpoint_limit(pool: asyncpg.Pool) -> None:
    for n in range(3):
        await _due(pool, f"a-{n}", url="https://a.example/h")
    assert await _claimed(pool, _capacity(20, limit=2, a=1)) == ["a-0"]


async def test_email_has_its_own_limit_and_the_total_caps_everything(pool: asyncpg.Pool) -> None:
    for n in range(5):
        await _due(pool, f"e-{n}", channel="email")
    for n in range(5, 10):
        await _due(pool, f"w-{n}", url=f"https://{n}.example/")
    assert await _claimed(pool, _capacity(4, email=2, limit=4)) == ["e-0", "e-1", "w-5", "w-6"]
    assert await _claimed(pool, _capacity(10, email=0, limit=4)) == ["w-7", "w-8", "w-9"]


async def test_a_saturated_endpoint_does_not_crowd_out_the_others(pool: asyncpg.Pool) -> None:
    # Far more of a's deliveries are due first than the claim's window of 4 x total.
    for n in range(20):
        await _due(pool, f"a-{n}", url="https://a.example/h")
    await _due(pool, "b-30", url="https://b.example/h")
    assert await _claimed(pool, _capacity(1, limit=2, a=2)) == ["b-30"]


async def test_rows_another_claim_holds_are_skipped_and_expired_leases_reclaimed(
    pool: asyncpg.Pool,
) -> None:
    for n in range(3):
        await _due(pool, f"c-{n}", url=f"https://{n}.example/")
    async with pool.acquire() as other, other.transaction():
        await other.execute(
            "SELECT 1 FROM notifier_deliveries WHERE consultant_id = 'c-0' FOR UPDATE"
        )
        assert await _claimed(pool, _capacity(10)) == ["c-1", "c-2"]
    assert await _claimed(pool, _capacity(10)) == ["c-0"]
    assert await _claimed(pool, _capacity(10)) == []  # all leased now
    await pool.execute(
        "UPDATE notifier_deliveries SET lease_until = now() - interval '1 second'"
        " WHERE consultant_id = 'c-2'"
    )
    [again] = await PostgresDeliveryStore(pool).claim(_capacity(10), 30, max_attempts=8)
    assert (again.consultant_id, again.attempts) == ("c-2", 2)
    assert again.contact is not None
    assert again.contact.webhook_url == "https://2.example/"
