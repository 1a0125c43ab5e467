"""Translation between `contacts` rows and the domain's `Contact`."""

from __future__ import annotations

import asyncpg

from koppel_notifier.domain.model import ChannelName, Contact

CONTACT_DETAILS = """
    c.name, c.email, c.language, c.channels, c.mode, c.min_score,
    c.webhook_url, c.webhook_secret, c.reachable, c.webhook_disabled_url,
    c.email_bounced_address, c.unsubscribed_address, c.erased_at
"""
"""The contact's columns `contact_from_row` reads besides its consultant id, for a query
that has the id from another table."""
CONTACT_COLUMNS = "c.consultant_id," + CONTACT_DETAILS


def contact_from_row(row: asyncpg.Record) -> Contact:
    email = row["email"]
    url = row["webhook_url"]
    return Contact(
        consultant_id=row["consultant_id"],
        name=row["name"],
        email=email,
        language=row["language"],
        channels=frozenset(ChannelName(channel) for channel in row["channels"]),
        digest=row["mode"] == "daily_digest",
        min_score=row["min_score"],
        webhook_url=url,
        webhook_secret=row["webhook_secret"],
        reachable=row["reachable"],
        webhook_disabled=url is not None and url == row["webhook_disabled_url"],
        email_blocked=email is not None
        and email in (row["email_bounced_address"], row["unsubscribed_address"]),
        erased=row["erased_at"] is not None,
    )
