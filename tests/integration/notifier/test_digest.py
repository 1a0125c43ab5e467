"""Daily digest: one email a day at the configured Amsterdam hour, withdrawn matches left out."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from koppel_notifier.bootstrap import Notifier
from koppel_testing.integration_notifier import (
    AN_HOUR_BEFORE_THE_DIGEST,
    MovableClock,
    NotifierRig,
    Subscriber,
)

pytestmark = pytest.mark.integration


async def test_digest_goes_out_once_a_day_without_withdrawn_matches(rig: NotifierRig) -> None:
    who = rig.named("digest")
    clock = MovableClock(AN_HOUR_BEFORE_THE_DIGEST)
    first = rig.assignment("first", title="Strategisch adviseur omgevingswet")
    second = rig.assignment("second", title="Woordvoerder crisiscommunicatie")
    gone = rig.assignment("gone", title="Campagnemaker energietransitie")
    later = rig.assignment("later", title="Adviseur interne communicatie")
    async with rig.notifier(
        NOTIFIER_DIGEST_HOUR="8", digest_clock=clock, digest_interval_s=0.1
    ) as running:
        await rig.subscribe(
            who, channels=["email", "webhook"], preferences={"mode": "daily_digest"}
        )
        for assignment in (first, second, gone):
            await rig.kafka.found(who.id, assignment, score=0.8)
        await rig.wait(lambda: len(rig.hooks(who)) == 3, what="instant webhooks")
        await rig.kafka.withdrawn(who.id, gone)
        await rig.wait(lambda: len(rig.hooks(who)) == 4, what="instant withdrawal webhook")
        await asyncio.sleep(0.5)
        assert rig.mails(who) == []  # not before the hour

        clock.now = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)  # 08:00 in Amsterdam
        await rig.wait(lambda: rig.mails(who), what="the digest")
        [digest] = rig.mails(who)
        text = digest.part("text/plain")
        assert digest.message["Subject"].strip().startswith("Je opdrachten van vandaag (2): ")
        assert first.title in text
        assert second.title in text
        assert gone.title not in text
        assert "Dit zijn de opdrachten van 10 maart 2026" in text

        # Later that day: a new match waits for tomorrow, however often the clock ticks.
        await rig.kafka.found(who.id, later, score=0.8)
        await rig.wait(lambda: len(rig.hooks(who)) == 5, what="webhook for the later match")
        clock.now = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
        await asyncio.sleep(0.8)
        assert len(rig.mails(who)) == 1

        clock.now += timedelta(days=1)
        await rig.wait(lambda: len(rig.mails(who)) == 2, what="next day's digest")
        tomorrow = rig.mails(who)[1]
        assert later.title in tomorrow.part("text/plain")
        assert first.title not in tomorrow.part("text/plain")
        assert tomorrow.message["Message-ID"] != digest.message["Message-ID"]
        await rig.wait(lambda: _all_sent(rig, running, who), what="digest rows delivered")


async def test_an_urgent_match_reaches_a_digest_consultant_at_once(rig: NotifierRig) -> None:
    who = rig.named("urgent")
    clock = MovableClock(AN_HOUR_BEFORE_THE_DIGEST)
    closes_at = datetime(2026, 3, 20, 16, 0, tzinfo=UTC)  # 17:00 in Amsterdam
    urgent = rig.assignment("urgent", title="Woordvoerder crisiscommunicatie", closes_at=closes_at)
    calm = rig.assignment("calm", title="Adviseur interne communicatie")
    async with rig.notifier(NOTIFIER_DIGEST_HOUR="8", digest_clock=clock, digest_interval_s=0.1):
        await rig.subscribe(
            who, channels=["email", "webhook"], preferences={"mode": "daily_digest"}
        )
        await rig.kafka.found(who.id, calm, score=0.8)
        await rig.kafka.found(who.id, urgent, score=0.8, urgent=True)

        await rig.arrived(who, "email")
        await rig.wait(lambda: len(rig.hooks(who)) == 2, what="both webhooks")
        [email] = rig.mails(who)
        subject = " ".join(email.message["Subject"].split())
        assert subject == f"[Snelle start] Nieuwe opdracht: {urgent.title}"
        text = email.part("text/plain")
        assert "Snelle start: deze opdracht begint binnen 3 weken." in text
        assert "Reageren tot:   20 maart 2026" in text
        bodies = {
            body["data"]["assignment"]["id"]: body["data"]
            for body in (json.loads(hook.body) for hook in rig.hooks(who))
        }
        assert bodies[urgent.id]["urgent"] is True
        assert bodies[calm.id]["urgent"] is False
        shown = datetime.fromisoformat(bodies[urgent.id]["assignment"]["closes_at"])
        assert shown == closes_at
        await asyncio.sleep(0.5)
        assert len(rig.mails(who)) == 1  # the calm match waits

        clock.now = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)  # 08:00 in Amsterdam
        await rig.wait(lambda: len(rig.mails(who)) == 2, what="the digest")
        digest = rig.mails(who)[1]
        assert digest.message["Subject"].strip().startswith("Je opdrachten van vandaag (1): ")
        assert calm.title in digest.part("text/plain")
        assert urgent.title not in digest.part("text/plain")


async def _all_sent(rig: NotifierRig, running: Notifier, who: Subscriber) -> bool:
    """Both digests delivered; their email items delivered; the withdrawn one cancelled."""
    found = await rig.rows(running, who.id)
    email = [(row["kind"], row["status"]) for row in found if row["channel"] == "email"]
    return sorted(email) == sorted(
        [("digest", "delivered")] * 2
        + [("match.found", "delivered")] * 3
        + [("match.found", "cancelled")]
    )
