"""Which deliveries a match event turns into, given the consultant's preferences."""

from __future__ import annotations

from collections.abc import Collection

from koppel_notifier.domain.model import (
    ChannelName,
    Contact,
    Kind,
    MatchNotice,
    PlannedDelivery,
    Status,
)


def plan_found(contact: Contact, notice: MatchNotice) -> list[PlannedDelivery]:
    """Deliveries for a `match.found`: every accepted channel, if the score clears `min_score`.

    Email in `daily_digest` mode waits (`queued`) for the day's digest; webhooks always go
    out at once, because a machine receiver has no use for a daily batch.
    """
    if notice.score is None or notice.score < contact.min_score:
        return []
    planned = []
    for channel in sorted(contact.channels):
        if not contact.accepts(channel):
            continue
        waits = channel is ChannelName.EMAIL and contact.digest
        planned.append(
            PlannedDelivery(channel, Kind.FOUND, Status.QUEUED if waits else Status.PENDING)
        )
    return planned


def plan_withdrawn(
    contact: Contact, already_told: Collection[ChannelName]
) -> list[PlannedDelivery]:
    """Deliveries for a `match.withdrawn`: a webhook, only where the match was announced.

    `already_told` holds the channels on which the `match.found` went out (or is going out
    right now). Email does not announce withdrawals: an email not yet sent is cancelled
    instead, and a digest leaves the match out.
    """
    channel = ChannelName.WEBHOOK
    if channel in already_told and contact.accepts(channel):
        return [PlannedDelivery(channel, Kind.WITHDRAWN, Status.PENDING)]
    return []
