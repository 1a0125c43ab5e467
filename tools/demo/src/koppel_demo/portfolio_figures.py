"""What the part-time portfolio and urgency did in a demo run (contract §8.4–8.5): matches
that a commitment ending made possible, and urgent matches that went out at once."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from koppel.contract import ConsultantProfile, MatchFound, NotificationDelivered
from koppel.vocabulary import Channel, NotificationMode

FREED_BY_ENDING = re.compile(r"\d+ (?:uur vrij vanaf dan|hours free from then)$")
"""The end of the matcher's reason when a commitment ending before the assignment starts is
what leaves the hours free ("Je opdracht bij Gemeente Houten loopt af op 1 maart: 24 uur
vrij vanaf dan" / "… ends on 1 March: 24 hours free from then"). Match events carry their
reasons as text only, in the consultant's language, so both wordings are recognised."""


def freed_by_ending(match: MatchFound) -> bool:
    """Whether the match stands because a commitment of the consultant ends in time."""
    return any(FREED_BY_ENDING.search(reason) for reason in match.reasons)


def portfolio_figures(
    matches: Sequence[MatchFound],
    profiles: Mapping[str, ConsultantProfile],
    delivered: Sequence[NotificationDelivered],
) -> dict[str, int]:
    """Counts over the run's standing `matches` and the `delivered` notifications about them.

    An urgent match is "sent at once" when a notification about it was delivered on its
    own, not in a digest; for a daily-digest consultant that is their email too, which the
    notifier sends at once for an urgent match instead of keeping it for the digest.
    """
    at_once: dict[str, set[Channel]] = {}
    for outcome in delivered:
        if outcome.kind in {"match.found", "match.updated"}:
            for match_id in outcome.match_ids:
                at_once.setdefault(match_id, set()).add(outcome.channel)
    urgent = [m for m in matches if m.urgent]
    sent = [m for m in urgent if m.match_id in at_once]
    to_digest = [
        m
        for m in sent
        if m.consultant_id in profiles
        and profiles[m.consultant_id].notification.mode is NotificationMode.DAILY_DIGEST
        and Channel.EMAIL in at_once[m.match_id]
    ]
    return {
        "freed_by_ending_commitment": sum(freed_by_ending(m) for m in matches),
        "urgent": len(urgent),
        "urgent_sent_at_once": len(sent),
        "urgent_emailed_at_once_to_digest_consultants": len(to_digest),
    }
