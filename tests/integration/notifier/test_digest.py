"""Daily digest: one email a day at the configured Amsterdam hour, withdrawn matches left out."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from koppel_notifier.bootstrap import Notifier
from koppel_testing import builders
from koppel_testing.integration_notifier import NotifierFactory, Rows
from koppel_testing.integration_waiting import Wait
from koppel_testing.kafka_publishing import TopicWriter
from koppel_testing.receivers import Receiver, SmtpSink

pytestmark = pytest.mark.integration


class MovableClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_digest_goes_out_once_a_day_without_withdrawn_matches(
    notifier: NotifierFactory,
    kafka_io: TopicWriter,
    smtp_sink: SmtpSink,
    receiver: Receiver,
    wait: Wait,
    rows: Rows,
    unique_id: str,
) -> None:
    consultant, path = f"c-digest-{unique_id}", f"digest-{unique_id}"
    address = f"{consultant}@example.org"
    # 06:00 UTC on 10 March 2026 is 07:00 in Amsterdam: an hour before the digest.
    clock = MovableClock(datetime(2026, 3, 10, 6, 0, tzinfo=UTC))
    first = builders.assignment(f"first-{unique_id}", title="Strategisch adviseur omgevingswet")
    second = builders.assignment(f"second-{unique_id}", title="Woordvoerder crisiscommunicatie")
    gone = builders.assignment(f"gone-{unique_id}", title="Campagnemaker energietransitie")
    later = builders.assignment(f"later-{unique_id}", title="Adviseur interne communicatie")
    async with notifier(
        NOTIFIER_DIGEST_HOUR="8", digest_clock=clock, digest_interval_s=0.1
    ) as running:
        await kafka_io.profile(
            receiver.subscriber(
                consultant,
                path,
                channels=["email", "webhook"],
                preferences={"mode": "daily_digest"},
                email=address,
            )
        )
        for assignment in (first, second, gone):
            await kafka_io.found(consultant, assignment, score=0.8)
        await wait(lambda: len(receiver.at(path)) == 3, what="instant webhooks")
        await kafka_io.withdrawn(consultant, gone)
        await wait(lambda: len(receiver.at(path)) == 4, what="instant withdrawal webhook")
        await asyncio.sleep(0.5)
        assert smtp_sink.handler.to(address) == []  # not before the hour

        clock.now = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)  # 08:00 in Amsterdam
        await wait(lambda: smtp_sink.handler.to(address), what="the digest")
        [digest] = smtp_sink.handler.to(address)
        text = digest.part("text/plain")
        assert digest.message["Subject"].strip().startswith("Je opdrachten van vandaag (2): ")
        assert first.title in text
        assert second.title in text
        assert gone.title not in text
        assert "Dit zijn de opdrachten van 10 maart 2026" in text

        # Later that day: a new match waits for tomorrow, however often the clock ticks.
        await kafka_io.found(consultant, later, score=0.8)
        await wait(lambda: len(receiver.at(path)) == 5, what="webhook for the later match")
        clock.now = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
        await asyncio.sleep(0.8)
        assert len(smtp_sink.handler.to(address)) == 1

        clock.now += timedelta(days=1)
        await wait(lambda: len(smtp_sink.handler.to(address)) == 2, what="next day's digest")
        tomorrow = smtp_sink.handler.to(address)[1]
        assert later.title in tomorrow.part("text/plain")
        assert first.title not in tomorrow.part("text/plain")
        assert tomorrow.message["Message-ID"] != digest.message["Message-ID"]
        await wait(lambda: _all_sent(running, rows, consultant), what="digest rows delivered")


async def test_an_urgent_match_reaches_a_digest_consultant_at_once(
    notifier: NotifierFactory,
    kafka_io: TopicWriter,
    smtp_sink: SmtpSink,
    receiver: Receiver,
    wait: Wait,
    unique_id: str,
) -> None:
    consultant, path = f"c-urgent-{unique_id}", f"urgent-{unique_id}"
    address = f"{consultant}@example.org"
    clock = MovableClock(datetime(2026, 3, 10, 6, 0, tzinfo=UTC))  # 07:00, before the digest
    closes_at = datetime(2026, 3, 20, 16, 0, tzinfo=UTC)  # 17:00 in Amsterdam
    urgent = builders.assignment(
        f"urgent-{unique_id}", title="Woordvoerder crisiscommunicatie", closes_at=closes_at
    )
    calm = builders.assignment(f"calm-{unique_id}", title="Adviseur interne communicatie")
    async with notifier(NOTIFIER_DIGEST_HOUR="8", digest_clock=clock, digest_interval_s=0.1):
        await kafka_io.profile(
            receiver.subscriber(
                consultant,
                path,
                channels=["email", "webhook"],
                preferences={"mode": "daily_digest"},
                email=address,
            )
        )
        await kafka_io.found(consultant, calm, score=0.8)
        await kafka_io.found(consultant, urgent, score=0.8, urgent=True)

        await wait(lambda: smtp_sink.handler.to(address), what="the urgent email")
        await wait(lambda: len(receiver.at(path)) == 2, what="both webhooks")
        [email] = smtp_sink.handler.to(address)
        subject = " ".join(email.message["Subject"].split())
        assert subject == f"[Snelle start] Nieuwe opdracht: {urgent.title}"
        text = email.part("text/plain")
        assert "Snelle start: deze opdracht begint binnen 3 weken." in text
        assert "Reageren tot:   20 maart 2026" in text
        bodies = {
            body["data"]["assignment"]["id"]: body["data"]
            for body in (json.loads(hook.body) for hook in receiver.at(path))
        }
        assert bodies[urgent.id]["urgent"] is True
        assert bodies[calm.id]["urgent"] is False
        shown = datetime.fromisoformat(bodies[urgent.id]["assignment"]["closes_at"])
        assert shown == closes_at
        await asyncio.sleep(0.5)
        assert len(smtp_sink.handler.to(address)) == 1  # the calm match waits

        clock.now = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)  # 08:00 in Amsterdam
        await wait(lambda: len(smtp_sink.handler.to(address)) == 2, what="the digest")
        digest = smtp_sink.handler.to(address)[1]
        assert digest.message["Subject"].strip().startswith("Je opdrachten van vandaag (1): ")
        assert calm.title in digest.part("text/plain")
        assert urgent.title not in digest.part("text/plain")


async def _all_sent(running: Notifier, rows: Rows, consultant: str) -> bool:
    """Both digests delivered; their email items delivered; the withdrawn one cancelled."""
    found = await rows(running, consultant)
    email = [(row["kind"], row["status"]) for row in found if row["channel"] == "email"]
    return sorted(email) == sorted(
        [("digest", "delivered")] * 2
        + [("match.found", "delivered")] * 3
        + [("match.found", "cancelled")]
    )
