"""The deliveries the inbox plans and cancels, in PostgreSQL: its SQL on
`notifier_deliveries`.

A part of `PostgresInboxStore` (see `inbox_store`) on the same connection and
transaction, kept apart from the contact and match-event rows so that each module holds
one table's SQL.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from koppel_notifier.adapters.delivery_store import Connection, cancel_unsent
from koppel_notifier.domain.delivery_keys import delivery_id_for
from koppel_notifier.domain.model import ChannelName, MatchNotice, PlannedDelivery


class InboxDeliveryRows:
    """The `InboxStore` methods about delivery rows, for one transaction's connection."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._payload: tuple[dict[str, Any], str] | None = None

    def _payload_json(self, notice: MatchNotice) -> str:
        """`notice.payload` as JSON, serialised once for the event and all its deliveries."""
        if self._payload is None or self._payload[0] is not notice.payload:
            self._payload = (notice.payload, json.dumps(notice.payload))
        return self._payload[1]

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
        await self._cancel_found_and_updated(
            match_id, consultant_id, why, "status IN ('pending', 'queued', 'digested')"
        )

    async def cancel_unannounced(self, match_id: str, consultant_id: str, why: str) -> None:
        await self._cancel_found_and_updated(
            match_id,
            consultant_id,
            why,
            "(status IN ('queued', 'digested') OR (status = 'pending' AND attempts = 0))",
        )

    async def _cancel_found_and_updated(
        self, match_id: str, consultant_id: str, why: str, still_unsent: str
    ) -> None:
        """Cancel the match's found and updated deliveries whose status is `still_unsent`
        (one of the two fixed conditions above)."""
        await self._connection.execute(
            f"""
            UPDATE notifier_deliveries SET status = 'cancelled', last_error = $3,
                                  finished_at = now()
            WHERE match_id = $1 AND consultant_id = $2
              AND kind IN ('match.found', 'match.updated') AND {still_unsent}
            """,  # noqa: S608 - a fixed condition, not input
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
