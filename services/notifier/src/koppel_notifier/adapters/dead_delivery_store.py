"""The operator's commands on delivery rows given up on (`dead`, `failed`), in SQL, and the
counts by status they start from.

Each change is one statement guarded by the row's status, so it touches only rows that are
still given up when it runs: a delivery a sender finished meanwhile is left alone. A
requeued row is `pending` and due now, which is all the delivery worker looks for.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from koppel_notifier.adapters.contact_rows import CONTACT_DETAILS, contact_from_row
from koppel_notifier.domain.dead_deliveries import (
    BacklogCount,
    DeadDelivery,
    RetryCandidate,
    Selection,
)
from koppel_notifier.domain.model import ChannelName, Kind, Status

_COLUMNS = """
    d.id, d.consultant_id, d.channel, d.kind, d.status, d.attempts, d.last_error, d.finished_at
"""

_SELECTED = """
    d.status = ANY($1::text[])
    AND (cardinality($2::uuid[]) = 0 OR d.id = ANY($2::uuid[]))
    AND ($3::text IS NULL OR d.consultant_id = $3)
    AND ($4::text IS NULL OR d.channel = $4)
    AND ($5::timestamptz IS NULL OR d.finished_at >= $5)
"""
"""The `Selection` as a condition on `notifier_deliveries d`; `_arguments` fills it."""

_LATEST_FIRST = "ORDER BY d.finished_at DESC NULLS LAST, d.id LIMIT $6"


class PostgresDeadDeliveries:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def backlog(self) -> list[BacklogCount]:
        rows = await self._pool.fetch(
            "SELECT channel, status, count(*) AS count FROM notifier_deliveries"
            " GROUP BY channel, status ORDER BY channel, status"
        )
        return [
            BacklogCount(ChannelName(row["channel"]), Status(row["status"]), row["count"])
            for row in rows
        ]

    async def find(self, selection: Selection) -> list[DeadDelivery]:
        rows = await self._pool.fetch(
            f"SELECT {_COLUMNS} FROM notifier_deliveries d WHERE {_SELECTED} {_LATEST_FIRST}",  # noqa: S608 - fixed fragments
            *_arguments(selection),
        )
        return [_dead_delivery(row) for row in rows]

    async def retry_candidates(self, selection: Selection) -> list[RetryCandidate]:
        """Each selected row with its consultant's contact and whether a later event about
        its match arrived (a digest has no match, so nothing supersedes it)."""
        rows = await self._pool.fetch(
            f"""
            SELECT {_COLUMNS}, c.consultant_id IS NOT NULL AS has_contact,
                   {CONTACT_DETAILS},
                   c.email IS NOT NULL AND c.email = c.unsubscribed_address AS unsubscribed,
                   d.match_id IS NOT NULL AND EXISTS (
                       SELECT 1 FROM notifier_match_events e
                       WHERE e.match_id = d.match_id AND e.consultant_id = d.consultant_id
                         AND e.occurred_at > d.occurred_at
                   ) AS superseded
            FROM notifier_deliveries d
            LEFT JOIN notifier_contacts c ON c.consultant_id = d.consultant_id
            WHERE {_SELECTED} {_LATEST_FIRST}
            """,  # noqa: S608 - fixed fragments
            *_arguments(selection),
        )
        return [
            RetryCandidate(
                delivery=_dead_delivery(row),
                contact=contact_from_row(row) if row["has_contact"] else None,
                unsubscribed=bool(row["unsubscribed"]),
                superseded=bool(row["superseded"]),
            )
            for row in rows
        ]

    async def requeue(self, ids: Sequence[str]) -> list[str]:
        rows = await self._pool.fetch(
            """
            UPDATE notifier_deliveries
            SET status = 'pending', attempts = 0, retry_round = retry_round + 1,
                due_at = now(), lease_until = NULL, finished_at = NULL
            WHERE id = ANY($1::uuid[]) AND status = 'dead'
            RETURNING id
            """,
            [uuid.UUID(delivery_id) for delivery_id in ids],
        )
        return [str(row["id"]) for row in rows]

    async def discard(self, ids: Sequence[str], reason: str) -> list[str]:
        rows = await self._pool.fetch(
            """
            UPDATE notifier_deliveries
            SET status = 'discarded', discarded_at = now(), discard_reason = $2
            WHERE id = ANY($1::uuid[]) AND status IN ('dead', 'failed')
            RETURNING id
            """,
            [uuid.UUID(delivery_id) for delivery_id in ids],
            reason,
        )
        return [str(row["id"]) for row in rows]


def _arguments(selection: Selection) -> tuple[object, ...]:
    return (
        sorted(status.value for status in selection.statuses),
        [uuid.UUID(delivery_id) for delivery_id in selection.ids],
        selection.consultant_id,
        None if selection.channel is None else selection.channel.value,
        selection.since,
        selection.limit,
    )


def _dead_delivery(row: asyncpg.Record) -> DeadDelivery:
    return DeadDelivery(
        id=str(row["id"]),
        consultant_id=row["consultant_id"],
        channel=ChannelName(row["channel"]),
        kind=Kind(row["kind"]),
        status=Status(row["status"]),
        attempts=row["attempts"],
        error=row["last_error"],
        given_up_at=row["finished_at"],
    )
