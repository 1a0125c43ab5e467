"""The claim of due deliveries: which rows a sender takes next, and as what.

One statement does the whole choice (what is due, what fits the free capacity, per
endpoint and for email), so it is one round trip and its own transaction; `_delivery`
turns each claimed row, joined with the consultant's contact, into the domain's
`Delivery`. `PostgresDeliveryStore.claim` is the port's entry to it.
"""

from __future__ import annotations

import json

import asyncpg

from koppel_notifier.adapters.contact_rows import CONTACT_DETAILS, contact_from_row
from koppel_notifier.domain.model import ChannelName, Delivery, Kind
from koppel_notifier.service_layer.ports import Capacity


async def claim_due(
    pool: asyncpg.Pool, capacity: Capacity, lease_s: float, *, max_attempts: int
) -> list[Delivery]:
    """Claim due deliveries that fit `capacity`, oldest due first, in one statement.

    Up to four times `capacity.total` due rows are locked (`SKIP LOCKED`), none of an
    endpoint that is already saturated (they would crowd out the others); of those, each
    webhook endpoint (its URL) gets no more than `endpoint_limit` minus what it has in
    flight, email no more than `capacity.email`, all together no more than
    `capacity.total`. One statement is one round trip and its own transaction: the
    locks on candidates not chosen end with it.

    Each claim counts an attempt, so a row whose lease ran out while `sending` has used
    one. A row with `max_attempts` used is never sent again: it is claimed `exhausted`
    (attempts unchanged) for the worker to record as dead, which also ends content that
    makes every attempt crash before it can record anything.
    """
    if capacity.total <= 0:
        return []
    urls = list(capacity.busy_endpoints)
    rows = await pool.fetch(
        f"""
        WITH candidates AS MATERIALIZED (
            SELECT d.id, d.due_at, d.channel = 'email' AS is_email,
                   coalesce(c.webhook_url, '') AS endpoint
            FROM notifier_deliveries d
            LEFT JOIN notifier_contacts c ON c.consultant_id = d.consultant_id
            WHERE ((d.status = 'pending' AND d.due_at <= now())
                   OR (d.status = 'sending' AND d.lease_until < now()))
              AND (d.channel <> 'email' OR $2 > 0)
              AND (d.channel <> 'webhook' OR c.webhook_url IS NULL
                   OR c.webhook_url <> ALL($8::text[]))
            ORDER BY d.due_at
            LIMIT $1
            FOR UPDATE OF d SKIP LOCKED
        ), ranked AS (
            SELECT candidates.id, candidates.due_at, candidates.is_email,
                   coalesce(busy.in_flight, 0) AS in_flight,
                   row_number() OVER (
                       PARTITION BY candidates.is_email,
                                    CASE WHEN candidates.is_email THEN ''
                                         ELSE candidates.endpoint END
                       ORDER BY candidates.due_at, candidates.id
                   ) AS nth
            FROM candidates
            LEFT JOIN unnest($3::text[], $4::int[]) AS busy(endpoint, in_flight)
                   ON NOT candidates.is_email AND busy.endpoint = candidates.endpoint
        ), chosen AS (
            SELECT id FROM ranked
            WHERE CASE WHEN is_email THEN nth <= $2 ELSE in_flight + nth <= $5 END
            ORDER BY due_at, id
            LIMIT $6
        )
        UPDATE notifier_deliveries d SET status = 'sending',
               attempts = CASE WHEN d.attempts >= $9 THEN d.attempts ELSE d.attempts + 1 END,
               lease_until = now() + make_interval(secs => $7)
        FROM notifier_deliveries old
        LEFT JOIN notifier_contacts c ON c.consultant_id = old.consultant_id
        WHERE d.id IN (SELECT id FROM chosen) AND old.id = d.id
        RETURNING d.id, d.consultant_id, d.channel, d.kind, d.match_ids, d.payload,
                  d.occurred_at, d.created_at, d.attempts, d.retry_round, d.due_at, d.traceparent,
                  old.attempts >= $9 AS exhausted, c.consultant_id IS NOT NULL
                  AS has_contact, {CONTACT_DETAILS}
        """,  # noqa: S608 - fixed column list
        capacity.total * 4,
        capacity.email,
        urls,
        [capacity.busy_endpoints[url] for url in urls],
        capacity.endpoint_limit,
        capacity.total,
        lease_s,
        [url for url in urls if capacity.busy_endpoints[url] >= capacity.endpoint_limit],
        max_attempts,
    )
    return [_delivery(row) for row in sorted(rows, key=lambda row: row["due_at"])]


def _delivery(row: asyncpg.Record) -> Delivery:
    contact = None
    if row["has_contact"]:
        contact = contact_from_row(row)
    payload = row["payload"]
    return Delivery(
        id=str(row["id"]),
        consultant_id=row["consultant_id"],
        channel=ChannelName(row["channel"]),
        kind=Kind(row["kind"]),
        match_ids=tuple(row["match_ids"]),
        payload=json.loads(payload) if payload else None,
        occurred_at=row["occurred_at"],
        created_at=row["created_at"],
        attempts=row["attempts"],
        retry_round=row["retry_round"],
        contact=contact,
        traceparent=row["traceparent"],
        exhausted=row["exhausted"],
    )
