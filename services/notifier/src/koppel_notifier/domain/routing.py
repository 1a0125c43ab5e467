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

    Email in `daily_digest` mode waits (`queued`) for the day's digest, unless the match is
    urgent; webhooks always go out at once, because a machine receiver has no use for a
    daily batch.
    """
    if notice.score is None or notice.score < contact.min_score:
        return []
    planned = []
    for channel in sorted(contact.channels):
        if not contact.accepts(channel):
            continue
        planned.append(
            PlannedDelivery(channel, Kind.FOUND, _status(contact, channel, urgent=notice.urgent))
        )
    return planned


def plan_updated(
    contact: Contact, notice: MatchNotice, already_told: Collection[ChannelName]
) -> list[PlannedDelivery]:
    """Deliveries for a `match.updated`: an update where the match was announced, else new.

    `already_told` holds the channels on which the match went out (or is going out now) as
    found or updated; there the consultant gets an update, whatever the score, since the
    terms of a match they know changed. On any other accepted channel the consultant never
    heard of it, so it is announced as new under the `match.found` rules (the caller has
    cancelled what was still unsent, which this then replaces with the current terms).
    """
    planned = []
    for channel in sorted(contact.channels):
        if not contact.accepts(channel):
            continue
        if channel in already_told:
            kind = Kind.UPDATED
        elif notice.score is not None and notice.score >= contact.min_score:
            kind = Kind.FOUND
        else:
            continue
        planned.append(
            PlannedDelivery(channel, kind, _status(contact, channel, urgent=notice.urgent))
        )
    return planned


def plan_withdrawn(
    contact: Contact, already_told: Collection[ChannelName], *, interested: bool
) -> list[PlannedDelivery]:
    """Deliveries for a `match.withdrawn`, only to a consultant who heard of the match.

    `already_told` holds the channels on which the match went out as found or updated (or
    is going out right now). A webhook goes where it was announced. Email announces a
    withdrawal to a consultant who answered `interested` — whatever their channels, as
    long as an email may reach them (§8.1) — and, in the next digest, to a digest
    consultant who was told by email; otherwise an email not yet sent is cancelled instead
    and a digest leaves the match out.
    """
    planned = []
    webhook = ChannelName.WEBHOOK
    if webhook in already_told and contact.accepts(webhook):
        planned.append(PlannedDelivery(webhook, Kind.WITHDRAWN, Status.PENDING))
    email = ChannelName.EMAIL
    told_by_digest = contact.digest and email in already_told and contact.accepts(email)
    if (interested and contact.emailable) or told_by_digest:
        planned.append(
            PlannedDelivery(email, Kind.WITHDRAWN, _status(contact, email, urgent=False))
        )
    return planned


def _status(contact: Contact, channel: ChannelName, *, urgent: bool) -> Status:
    """Email in `daily_digest` mode waits (`queued`) for the day's digest when the
    consultant receives digests; everything else goes out at once, and so does an urgent
    match or update (§8.5): an assignment starting within three weeks cannot wait a day."""
    waits = (
        not urgent and channel is ChannelName.EMAIL and contact.digest and contact.accepts(channel)
    )
    return Status.QUEUED if waits else Status.PENDING
