"""What the Kafka consumer writes: contacts, match events and the deliveries they cause.

Every method runs on a connection inside the caller's transaction, so a batch of records
and the delivery rows it creates commit together, before the consumer commits its offsets.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import datetime
from typing import Literal

import asyncpg

from koppel.erasure import erasure_key, written_before_erasure
from koppel.vocabulary import WithdrawalReason
from koppel_notifier.adapters.contact_rows import CONTACT_COLUMNS, contact_from_row
from koppel_notifier.domain.model import (
    ChannelName,
    Contact,
    Kind,
    MatchNotice,
    PlannedDelivery,
)
from koppel_notifier.domain.routing import plan_found, plan_withdrawn

_DELIVERY_NAMESPACE = uuid.UUID("0b6f1f8e-6d2c-4c0e-9a57-2f9d8c1e4a30")
_ERASED = WithdrawalReason.CONSULTANT_ERASED.value

Connection = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy


def delivery_id_for(dedupe_key: str) -> uuid.UUID:
    """Deterministic, so the same delivery has the same id (and webhook-id) in every run."""
    return uuid.uuid5(_DELIVERY_NAMESPACE, dedupe_key)


def registration_key(dedupe_key: str, erased_at: datetime | None) -> str:
    """`dedupe_key` for a consultant registered after the erasure at `erased_at`.

    Match ids are the same for every registration of an id, and delivery ids, webhook-ids
    and Message-IDs derive from the key: without the erasure in it, a receiver or a mail
    provider de-duplicating on them would drop the new registration's messages as repeats
    of the erased one's.
    """
    return dedupe_key if erased_at is None else f"{dedupe_key}|after:{erased_at.isoformat()}"


async def load_contact(connection: Connection, consultant_id: str) -> Contact | None:
    row = await connection.fetchrow(
        f"SELECT {CONTACT_COLUMNS} FROM notifier_contacts c WHERE c.consultant_id = $1",  # noqa: S608 - fixed column list
        consultant_id,
    )
    return None if row is None else contact_from_row(row)


async def save_contact(
    connection: Connection, contact: Contact, *, mode: str, written_at: datetime | None
) -> Literal["applied", "stale"]:
    """Upsert the local copy of a profile and bring pending work in line with it.

    A consultant seen for the first time can have nothing pending, only match events that
    waited for this profile; a known one can have nothing waiting, only pending work. A
    profile written (`written_at`, its event time) before the consultant's erasure is a
    late or replayed record and changes nothing.
    """
    state = await connection.fetchrow(
        "SELECT EXISTS (SELECT 1 FROM notifier_contacts WHERE consultant_id = $1) AS known,"
        " (SELECT erased_at FROM notifier_erasures WHERE consultant_key = $2) AS erased_at",
        contact.consultant_id,
        erasure_key(contact.consultant_id),
    )
    assert state is not None
    if written_before_erasure(written_at, state["erased_at"]):
        return "stale"
    known = state["known"]
    await connection.execute(
        """
        INSERT INTO notifier_contacts (consultant_id, name, email, language, channels, mode,
                                       min_score, webhook_url, webhook_secret, reachable,
                                       erased_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, now())
        ON CONFLICT (consultant_id) DO UPDATE SET
            name = EXCLUDED.name, email = EXCLUDED.email, language = EXCLUDED.language,
            channels = EXCLUDED.channels, mode = EXCLUDED.mode, min_score = EXCLUDED.min_score,
            webhook_url = EXCLUDED.webhook_url,
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
    stored = await load_contact(connection, contact.consultant_id)
    assert stored is not None
    if not known:
        await route_awaiting(connection, stored, erased_at=state["erased_at"])
        return "applied"
    if not stored.digest:
        # Left digest mode: what waited for the digest goes out now.
        await connection.execute(
            "UPDATE notifier_deliveries SET status = 'pending', due_at = now() "
            "WHERE consultant_id = $1 AND status = 'queued'",
            contact.consultant_id,
        )
    for channel in ChannelName:
        if not stored.accepts(channel):
            await cancel_unsent(
                connection, contact.consultant_id, channel, "channel no longer in use"
            )
    return "applied"


async def erase_contact(connection: Connection, consultant_id: str, erased_at: datetime) -> None:
    """GDPR erasure: delete every row about the consultant; keep only the erasure record.

    The record (a digest of the id and `erased_at`, see `koppel.erasure`) is what tells a
    late or replayed record about the consultant apart from a new registration. Deliveries
    go before the outbox: a send finishing meanwhile writes its outcome row in the same
    transaction as its delivery row, which this waits for, and then deletes.
    """
    await connection.execute(
        """
        INSERT INTO notifier_erasures (consultant_key, erased_at) VALUES ($1, $2)
        ON CONFLICT (consultant_key) DO UPDATE
        SET erased_at = greatest(notifier_erasures.erased_at, EXCLUDED.erased_at)
        """,
        erasure_key(consultant_id),
        erased_at,
    )
    await connection.execute(
        "DELETE FROM notifier_contacts WHERE consultant_id = $1", consultant_id
    )
    await forget_matches(connection, consultant_id)
    await connection.execute("DELETE FROM notifier_outbox WHERE consultant_id = $1", consultant_id)


async def forget_matches(connection: Connection, consultant_id: str) -> None:
    """Delete the consultant's match events and deliveries, sent or not."""
    await connection.execute(
        "DELETE FROM notifier_deliveries WHERE consultant_id = $1", consultant_id
    )
    await connection.execute(
        "DELETE FROM notifier_match_events WHERE consultant_id = $1", consultant_id
    )


async def record_match(
    connection: Connection, notice: MatchNotice, occurred_at: datetime
) -> Literal["applied", "duplicate", "ignored", "stale"]:
    """Store a match event once (a replayed record is a no-op) and route it if we can.

    Without a known profile the event waits, unrouted, until the profile arrives. An event
    written before the consultant's erasure is not stored ("stale"), nor is a withdrawal
    of a match never found (nothing to take back). The withdrawal the matcher publishes
    when it erases the consultant marks the end of their earlier registration on this
    partition: whatever match events of it are still stored go, so that a registration
    after the erasure is notified afresh.
    """
    if notice.kind is Kind.WITHDRAWN and notice.payload.get("reason") == _ERASED:
        await forget_matches(connection, notice.consultant_id)
        return "ignored"
    if notice.kind is Kind.WITHDRAWN:
        notice = replace(notice, revision=await latest_revision(connection, notice.match_id))
        if notice.revision == 0:
            return "ignored"
    # One round trip: store the event and read the consultant's contact row. Routed in this
    # same transaction when the profile is known, so marked routed right away.
    payload = json.dumps(notice.payload)
    row = await connection.fetchrow(
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
        payload,
        occurred_at,
        notice.traceparent,
        erasure_key(notice.consultant_id),
    )
    assert row is not None
    if row["stale"]:
        return "stale"
    inserted = row["inserted"]
    contact = None if row["consultant_id"] is None else contact_from_row(row)
    if not inserted:
        return "duplicate"
    if contact is not None:
        await _route(
            connection,
            contact,
            notice,
            occurred_at,
            event_key=None,
            payload=payload,
            erased_at=row["last_erasure"],
        )
    return "applied"


async def route_awaiting(
    connection: Connection, contact: Contact, *, erased_at: datetime | None
) -> None:
    """Route the consultant's match events that arrived before their profile, in order.

    `erased_at`: the consultant's last erasure, if any (see `registration_key`).
    """
    rows = await connection.fetch(
        """
        SELECT event_key, match_id, consultant_id, kind, revision, score, payload, occurred_at,
               traceparent
        FROM notifier_match_events WHERE consultant_id = $1 AND routed_at IS NULL
        ORDER BY received_at, event_key
        """,
        contact.consultant_id,
    )
    for row in rows:
        notice = MatchNotice(
            event_id=row["event_key"],
            match_id=row["match_id"],
            consultant_id=row["consultant_id"],
            kind=Kind(row["kind"]),
            revision=row["revision"],
            score=row["score"],
            payload=json.loads(row["payload"]) if row["payload"] else {},
            traceparent=row["traceparent"],
        )
        await _route(
            connection,
            contact,
            notice,
            row["occurred_at"],
            event_key=row["event_key"],
            payload=row["payload"] or "{}",
            erased_at=erased_at,
        )


async def _route(
    connection: Connection,
    contact: Contact,
    notice: MatchNotice,
    occurred_at: datetime,
    *,
    event_key: str | None,
    payload: str,
    erased_at: datetime | None,
) -> None:
    """Create the deliveries `notice` calls for; mark its stored event routed if `event_key`.

    `payload` is `notice.payload` as JSON text, serialised once for every row that keeps it;
    `erased_at` is the consultant's last erasure (see `registration_key`).
    """
    if notice.kind is Kind.FOUND:
        planned = plan_found(contact, notice)
    else:
        planned = plan_withdrawn(contact, await _announce_and_cancel(connection, notice))
    for delivery in planned:
        key = registration_key(delivery.dedupe_key(notice), erased_at)
        await _insert_delivery(
            connection, key, contact.consultant_id, delivery, notice, occurred_at, payload
        )
    if event_key is not None:
        await connection.execute(
            "UPDATE notifier_match_events SET routed_at = now() WHERE event_key = $1", event_key
        )


async def _announce_and_cancel(connection: Connection, notice: MatchNotice) -> set[ChannelName]:
    """For a withdrawal: cancel what has not gone out; return channels that did announce it."""
    told = await connection.fetch(
        """
        SELECT DISTINCT channel FROM notifier_deliveries
        WHERE match_id = $1 AND consultant_id = $2 AND kind = 'match.found'
          AND (status IN ('sending', 'delivered') OR (status = 'pending' AND attempts > 0))
        """,
        notice.match_id,
        notice.consultant_id,
    )
    await connection.execute(
        """
        UPDATE notifier_deliveries SET status = 'cancelled', last_error = 'match withdrawn',
                              finished_at = now()
        WHERE match_id = $1 AND consultant_id = $2 AND kind = 'match.found'
          AND status IN ('pending', 'queued', 'digested')
        """,
        notice.match_id,
        notice.consultant_id,
    )
    return {ChannelName(row["channel"]) for row in told}


async def _insert_delivery(
    connection: Connection,
    key: str,
    consultant_id: str,
    delivery: PlannedDelivery,
    notice: MatchNotice,
    occurred_at: datetime,
    payload: str,
) -> None:
    await connection.execute(
        """
        INSERT INTO notifier_deliveries (id, dedupe_key, consultant_id, channel, kind, match_id,
                                         revision, match_ids, payload, occurred_at, status,
                                         traceparent)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11, $12)
        ON CONFLICT (dedupe_key) DO NOTHING
        """,
        delivery_id_for(key),
        key,
        consultant_id,
        delivery.channel.value,
        delivery.kind.value,
        notice.match_id,
        notice.revision,
        [notice.match_id],
        payload,
        occurred_at,
        delivery.status.value,
        notice.traceparent,
    )


async def cancel_unsent(
    connection: Connection, consultant_id: str, channel: ChannelName, why: str
) -> None:
    """Cancel every delivery on `channel` that has not started going out."""
    await connection.execute(
        """
        UPDATE notifier_deliveries SET status = 'cancelled', last_error = $3, finished_at = now()
        WHERE consultant_id = $1 AND channel = $2 AND status IN ('pending', 'queued', 'digested')
        """,
        consultant_id,
        channel.value,
        why,
    )


async def latest_revision(connection: Connection, match_id: str) -> int:
    """The highest `match.found` revision seen for `match_id` (0 if none)."""
    value = await connection.fetchval(
        "SELECT max(revision) FROM notifier_match_events"
        " WHERE match_id = $1 AND kind = 'match.found'",
        match_id,
    )
    return int(value or 0)
