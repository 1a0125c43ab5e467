"""Email outcomes, confidential masking, unsubscribe, preferences, late profiles."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import structlog
from standardwebhooks import Webhook
from structlog.testing import capture_logs

from koppel.cloudevents import decode
from koppel.topics import MATCHES, dlq
from koppel_notifier.bootstrap import Notifier
from koppel_testing import WEBHOOK_SECRET as SECRET
from koppel_testing import builders
from koppel_testing.integration_notifier import (
    NotifierRig,
    Subscriber,
    has_statuses,
    marker_for,
    routed,
    waiting,
)
from koppel_testing.kafka_reading import OpenReader, TopicReader

pytestmark = pytest.mark.integration


async def test_smtp_4xx_is_retried_and_sent_once(rig: NotifierRig) -> None:
    who = rig.named("grey")._replace(address=f"greylist-{rig.unique_id}@example.org")
    async with rig.notifier() as running:
        await _emailed(rig, who)
        await rig.wait(lambda: rig.mails(who), what="email after greylisting")
        await rig.wait(lambda: has_statuses(running, who.id, {"delivered"}), what="delivered")
        [row] = await rig.rows(running, who.id)
        assert row["attempts"] == 2
        await asyncio.sleep(0.5)
        assert len(rig.mails(who)) == 1


async def test_smtp_5xx_stops_email_to_that_address_and_reports_a_code_not_the_reply(
    rig: NotifierRig, reports: TopicReader
) -> None:
    who = rig.named("bounce")._replace(address=f"bounce-{rig.unique_id}@example.org")
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        async with rig.notifier() as running:
            await _emailed(rig, who, "a1")
            await rig.wait(lambda: has_statuses(running, who.id, {"failed"}), what="failed")
            [row] = await rig.rows(running, who.id)
            assert row["attempts"] == 1
            # The sink's reply names the address, as real servers do: only a code is kept.
            assert row["last_error"] == "smtp_recipient_refused_550"
            [record] = await reports.wait_for(who.id.encode(), within=20)
            # A second match is not even attempted while the address stays the same.
            await rig.kafka.found(who.id, rig.assignment("a2"))
            await rig.wait(lambda: routed(running, who.id, 2), what="second match routed")
            assert len(await rig.rows(running, who.id)) == 1
    failed = decode(record.value, record.headers)
    assert failed.type == "nl.koppel.notification.failed"
    assert failed.data["error"] == "smtp_recipient_refused_550"
    assert who.address not in (record.value or b"").decode()
    assert any(entry.get("detail") == "smtp_recipient_refused_550" for entry in logs)
    assert not [entry for entry in logs if who.address in repr(entry)]
    assert not [entry for entry in logs if "example.org" in repr(entry)]


async def test_confidential_assignments_are_masked_on_both_channels(rig: NotifierRig) -> None:
    who = rig.named("conf")
    hidden = rig.assignment(
        visibility="confidential",
        organization={"name": "Gemeente Geheimstad", "type": "municipality", "inhabitants": 18_000},
        location={"city": "Geheimstad", "province": "drenthe"},
    )
    async with rig.notifier():
        await rig.subscribe(who, channels=["email", "webhook"])
        await rig.kafka.found(who.id, hidden)
        await rig.arrived(who, "email", "webhook")
    [mail] = rig.mails(who)
    raw = mail.message.as_string()
    assert "Geheimstad" not in raw
    assert "een kleine gemeente in Drenthe (vertrouwelijk)" in mail.part("text/plain")
    hook = rig.receiver.one_message(who.path)
    assert b"Geheimstad" not in hook.body
    document = Webhook(SECRET).verify(hook.body, hook.headers)
    organization = document["data"]["assignment"]["organization"]
    assert organization == {"name": None, "type": "municipality", "size_class": "small"}


async def test_one_click_unsubscribe_stops_email_at_once(rig: NotifierRig) -> None:
    who = rig.named("unsub")
    async with rig.notifier() as running:
        await _emailed(rig, who, "a1")
        await rig.wait(lambda: rig.mails(who), what="first email")
        [mail] = rig.mails(who)
        link = mail.message["List-Unsubscribe"].strip("<>")
        path = httpx.URL(link).path
        transport = httpx.ASGITransport(app=running.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://notifier.test") as web:
            page = await web.get(path)
            assert page.status_code == 200
            assert 'method="post"' in page.text
            assert await _unsubscribed(running, who.id) is False  # GET changes nothing
            for _ in range(2):  # idempotent
                done = await web.post(path, data={"List-Unsubscribe": "One-Click"})
                assert done.status_code == 200
                assert "afgemeld" in done.text
            assert (await web.post(path + "x")).status_code == 404
        assert await _unsubscribed(running, who.id) is True
        await rig.kafka.found(who.id, rig.assignment("a2"))
        await rig.wait(lambda: routed(running, who.id, 2), what="second match routed")
        await asyncio.sleep(0.5)
        assert len(rig.mails(who)) == 1


async def test_unsubscribing_cancels_email_still_waiting(rig: NotifierRig) -> None:
    consultant = rig.named("unsub-queued").id
    async with rig.notifier() as running:
        await rig.kafka.profile(
            builders.consultant(consultant, notification={"mode": "daily_digest"})
        )
        await rig.kafka.found(consultant, rig.assignment("a1"))
        await rig.kafka.found(consultant, rig.assignment("a2"))
        # The two matches may be consumed in separate batches: one queued row is not enough.
        await rig.wait(lambda: _queued(rig, running, consultant, 2), what="both matches queued")
        assert await running.store.unsubscribe(consultant) is True
        assert {row["status"] for row in await rig.rows(running, consultant)} == {"cancelled"}


async def test_min_score_and_withdrawals(rig: NotifierRig) -> None:
    who = rig.named("pref")
    good, weak = rig.assignment("good"), rig.assignment("weak")
    async with rig.notifier() as running:
        await rig.subscribe(who, channels=["email", "webhook"], preferences={"min_score": 0.7})
        await rig.kafka.found(who.id, weak, score=0.65)
        good_id = await rig.kafka.found(who.id, good, score=0.9)
        await rig.arrived(who, "email", "webhook")
        await rig.kafka.withdrawn(who.id, good)
        await rig.wait(lambda: len(rig.hooks(who)) == 2, what="withdrawal webhook")
        first, second = (Webhook(SECRET).verify(h.body, h.headers) for h in rig.hooks(who))
        assert first["type"] == "match.found"
        assert second["type"] == "match.withdrawn"
        assert second["data"]["match_id"] == good_id
        assert second["data"]["reason"] == "assignment_filled"
        assert rig.hooks(who)[0].headers["webhook-id"] != rig.hooks(who)[1].headers["webhook-id"]
        await asyncio.sleep(0.5)
        assert len(rig.mails(who)) == 1  # email never announces withdrawals
        assert all(good.title in m.message["Subject"] for m in rig.mails(who))
        assert {row["match_id"] for row in await rig.rows(running, who.id)} == {good_id}


async def test_a_match_before_its_profile_waits_for_it(rig: NotifierRig) -> None:
    who = rig.named("late")
    async with rig.notifier() as running:
        await rig.kafka.found(who.id, rig.assignment())
        await rig.wait(lambda: waiting(running, who.id), what="match stored, awaiting profile")
        assert rig.mails(who) == []
        await rig.subscribe_by_email(who)
        await rig.wait(lambda: rig.mails(who), what="email once the profile came")


async def test_a_withdrawal_of_a_match_never_found_is_not_stored(rig: NotifierRig) -> None:
    consultant = rig.named("nofound").id
    async with rig.notifier() as running:
        await rig.kafka.withdrawn(consultant, rig.assignment())
        await _handled_up_to_here(rig, running, consultant)
        stored = await running.pool.fetchval(
            "SELECT count(*) FROM notifier_match_events WHERE consultant_id = $1", consultant
        )
        assert stored == 0


async def _handled_up_to_here(rig: NotifierRig, running: Notifier, consultant: str) -> None:
    """Wait until the notifier has consumed what was sent about `consultant` so far.

    A match for a never-seen consultant in the same partition of the matches topic is
    stored (waiting for its profile) once everything before it there has been handled.
    """
    marker = marker_for(consultant)
    await rig.kafka.found(marker, builders.assignment(f"marker-{consultant}"))
    await rig.wait(lambda: waiting(running, marker), what="records before the marker handled")


async def test_unreadable_records_go_to_the_dead_letter_topic(
    rig: NotifierRig, reader: OpenReader
) -> None:
    dead = await reader(dlq(MATCHES))
    async with rig.notifier() as running:
        key = rig.named("bad").id.encode()
        await rig.kafka.raw(MATCHES, key, b"{not json")
        [record] = await dead.wait_for(key, within=20)
        headers = dict(record.headers)
        assert record.value == b"{not json"
        assert headers["koppel-error-code"] == b"invalid_envelope"
        assert headers["koppel-error-source-topic"] == MATCHES.encode()
        assert running.inbox.started  # no crash loop


async def _emailed(rig: NotifierRig, who: Subscriber, assignment: str = "a") -> None:
    """Publish `who` as a consultant reached by email only, then one match for them."""
    await rig.subscribe_by_email(who)
    await rig.kafka.found(who.id, rig.assignment(assignment))


async def _queued(rig: NotifierRig, running: Notifier, consultant: str, count: int) -> bool:
    found = await rig.rows(running, consultant)
    return len(found) == count and {row["status"] for row in found} == {"queued"}


async def _unsubscribed(running: Notifier, consultant: str) -> bool:
    value = await running.pool.fetchval(
        "SELECT unsubscribed_address IS NOT NULL FROM notifier_contacts WHERE consultant_id = $1",
        consultant,
    )
    return bool(value)
