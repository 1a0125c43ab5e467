"""What the sender and the unsubscribe endpoint do to delivery rows.

Sending is claim → send → finish. A claim marks rows `sending` with a lease in one short
transaction (`FOR UPDATE SKIP LOCKED`, so replicas never claim the same row); the network
call happens outside any transaction; a claim whose lease ran out (its worker died) is
claimed again. Outcomes are written together with an outbox row, which the relay publishes
on `koppel.notifications.v1`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from koppel import postgres_pools
from koppel_notifier.adapters.delivery_claims import claim_due
from koppel_notifier.domain.model import ChannelName, Delivery, Kind
from koppel_notifier.service_layer.ports import Capacity, DigestItem

_OUTBOX_NAMESPACE = uuid.UUID("8d3f0a52-1c7e-4f0b-b6a1-5e2d9c4f7a18")

Connection = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy


class PostgresDeliveryStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def claim(
        self, capacity: Capacity, lease_s: float, *, max_attempts: int
    ) -> list[Delivery]:
        """Claim due deliveries that fit `capacity` (see `delivery_claims.claim_due`)."""
        return await claim_due(self._pool, capacity, lease_s, max_attempts=max_attempts)

    async def digest_items(self, digest_id: str) -> list[DigestItem]:
        """The entries still in a digest (a match withdrawn before it went out was
        cancelled), best score first."""
        rows = await self._pool.fetch(
            """
            SELECT kind, payload FROM notifier_deliveries
            WHERE digest_id = $1 AND status = 'digested' AND payload IS NOT NULL
            ORDER BY (payload->>'score')::float DESC NULLS LAST, occurred_at
            """,
            uuid.UUID(digest_id),
        )
        return [DigestItem(Kind(row["kind"]), json.loads(row["payload"])) for row in rows]

    async def delivered(
        self, delivery: Delivery, *, match_ids: Sequence[str], now: datetime
    ) -> None:
        await self.delivered_many([(delivery, match_ids)], now=now)

    async def delivered_many(
        self, items: Sequence[tuple[Delivery, Sequence[str]]], *, now: datetime
    ) -> None:
        """Record successes and their outbox events in one statement (so one transaction).

        One round trip for the whole batch: the rows travel as arrays (each delivery's match
        ids as a JSON array, since SQL arrays cannot be ragged).
        """
        if not items:
            return
        events = [
            _outbox_row(
                delivery,
                "nl.koppel.notification.delivered",
                {
                    "notification_id": delivery.id,
                    "match_ids": list(match_ids),
                    "consultant_id": delivery.consultant_id,
                    "channel": delivery.channel.value,
                    "kind": delivery.kind.value,
                    "attempts": delivery.attempts,
                    "delivered_at": now.isoformat(),
                },
            )
            for delivery, match_ids in items
        ]
        await self._pool.execute(
            """
            WITH done AS (
                UPDATE notifier_deliveries d
                SET status = 'delivered', finished_at = now(), last_error = NULL,
                    lease_until = NULL,
                    match_ids = ARRAY(SELECT jsonb_array_elements_text(i.match_ids))
                FROM unnest($1::uuid[], $2::jsonb[]) AS i(id, match_ids)
                WHERE d.id = i.id
                RETURNING d.id
            )
            INSERT INTO notifier_outbox (id, consultant_id, event_type, data, traceparent)
            SELECT o.id, o.consultant_id, o.event_type, o.data, o.traceparent
            FROM unnest($3::uuid[], $4::text[], $5::text[], $6::jsonb[], $7::text[], $1::uuid[])
                 AS o(id, consultant_id, event_type, data, traceparent, delivery_id)
            -- A delivery erased while it was being sent reports nothing about its consultant.
            WHERE o.delivery_id IN (SELECT id FROM done)
            ON CONFLICT (id) DO NOTHING
            """,
            [uuid.UUID(delivery.id) for delivery, _ in items],
            [json.dumps(list(match_ids)) for _, match_ids in items],
            *(list(column) for column in zip(*events, strict=True)),
        )

    async def retry(self, delivery: Delivery, *, delay_s: float, error: str) -> None:
        await self._pool.execute(
            """
            UPDATE notifier_deliveries SET status = 'pending', lease_until = NULL, last_error = $3,
                   due_at = now() + make_interval(secs => $2)
            WHERE id = $1 AND status = 'sending'
            """,
            uuid.UUID(delivery.id),
            delay_s,
            error,
        )

    async def failed(
        self,
        delivery: Delivery,
        *,
        error: str,
        now: datetime,
        dead: bool,
        disable_endpoint: bool = False,
    ) -> None:
        """Give up on a delivery (`dead` when attempts ran out) and report it.

        With `disable_endpoint`, the consultant's current webhook URL (410) or email address
        (SMTP 5xx) is not used again until the profile names another one.
        """
        async with postgres_pools.transaction(self._pool) as connection:
            updated = await connection.fetchval(
                "UPDATE notifier_deliveries SET status = $2, finished_at = now(), last_error = $3,"
                " lease_until = NULL WHERE id = $1 RETURNING true",
                uuid.UUID(delivery.id),
                "dead" if dead else "failed",
                error,
            )
            if not updated:
                return  # erased while it was being sent: nothing is reported about them
            if disable_endpoint and delivery.contact is not None:
                column = (
                    "webhook_disabled_url = webhook_url"
                    if delivery.channel is ChannelName.WEBHOOK
                    else "email_bounced_address = email"
                )
                await connection.execute(
                    f"UPDATE notifier_contacts SET {column} WHERE consultant_id = $1",  # noqa: S608 - one of two fixed strings
                    delivery.consultant_id,
                )
                await cancel_unsent(
                    connection, delivery.consultant_id, delivery.channel, f"stopped: {error}"
                )
            data = {
                "notification_id": delivery.id,
                "match_ids": list(delivery.match_ids),
                "consultant_id": delivery.consultant_id,
                "channel": delivery.channel.value,
                "kind": delivery.kind.value,
                "attempts": delivery.attempts,
                "error": error,
                "failed_at": now.isoformat(),
            }
            await connection.execute(
                "INSERT INTO notifier_outbox (id, consultant_id, event_type, data, traceparent)"
                " VALUES ($1, $2, $3, $4::jsonb, $5) ON CONFLICT (id) DO NOTHING",
                *_outbox_row(delivery, "nl.koppel.notification.failed", data),
            )

    async def cancel(self, delivery: Delivery, why: str) -> None:
        """Drop a claimed delivery that may no longer go out (unsubscribed, erased, ...)."""
        await self._pool.execute(
            "UPDATE notifier_deliveries SET status = 'cancelled', last_error = $2,"
            " finished_at = now(),"
            " lease_until = NULL WHERE id = $1",
            uuid.UUID(delivery.id),
            why,
        )

    async def finish_digest_items(self, digest_id: str) -> None:
        await self._pool.execute(
            "UPDATE notifier_deliveries SET status = 'delivered', finished_at = now()"
            " WHERE digest_id = $1 AND status = 'digested'",
            uuid.UUID(digest_id),
        )

    async def unsubscribe(self, consultant_id: str) -> bool:
        """Stop email to the consultant's current address at once; False if unknown."""
        async with postgres_pools.transaction(self._pool) as connection:
            updated = await connection.fetchval(
                """
                UPDATE notifier_contacts SET unsubscribed_address = email,
                       unsubscribed_at = coalesce(unsubscribed_at, now())
                WHERE consultant_id = $1 RETURNING true
                """,
                consultant_id,
            )
            await cancel_unsent(connection, consultant_id, ChannelName.EMAIL, "unsubscribed")
            return bool(updated)


async def cancel_unsent(
    connection: Connection,
    consultant_id: str,
    channel: ChannelName,
    why: str,
    *,
    keep_withdrawals: bool = False,
) -> None:
    """Cancel every delivery on `channel` that has not started going out, but for
    `match.withdrawn` ones when `keep_withdrawals`."""
    await connection.execute(
        """
        UPDATE notifier_deliveries SET status = 'cancelled', last_error = $3, finished_at = now()
        WHERE consultant_id = $1 AND channel = $2 AND status IN ('pending', 'queued', 'digested')
          AND NOT ($4 AND kind = 'match.withdrawn')
        """,
        consultant_id,
        channel.value,
        why,
        keep_withdrawals,
    )


def _outbox_row(
    delivery: Delivery, event_type: str, data: dict[str, Any]
) -> tuple[uuid.UUID, str, str, str, str | None]:
    """An outbox row whose id (the CloudEvent id) is the same if this outcome is recorded twice.

    An operator's retry starts the attempts again, so a later round's outcome has the round
    in its id. It carries the match event's `traceparent`, so the outcome event continues
    its trace.
    """
    attempt = f"{delivery.id}|{event_type}|{delivery.attempts}"
    if delivery.retry_round:
        attempt += f"|{delivery.retry_round}"
    event_id = uuid.uuid5(_OUTBOX_NAMESPACE, attempt)
    return event_id, delivery.consultant_id, event_type, json.dumps(data), delivery.traceparent
