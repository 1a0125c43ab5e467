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
    NotifierFactory,
    Rows,
    has_statuses,
    marker_for,
    routed,
    waiting,
)
from koppel_testing.integration_waiting import Wait
from koppel_testing.kafka_publishing import TopicWriter
from koppel_testing.kafka_reading import OpenReader, TopicReader
from koppel_testing.receivers import Receiver, SmtpSink

pytestmark = pytest.mark.integration


async def test_smtp_4xx_is_retried_and_sent_once(
    notifier: NotifierFactory,
    kafka_io: TopicWriter,
    smtp_sink: SmtpSink,
    wait: Wait,
    rows: Rows,
    unique_id: str,
) -> None:
    consultant = f"c-grey-{unique_id}"
    address = f"greylist-{unique_id}@example.org"
    async with notifier() as running:
        await kafka_io.profile(builders.consultant(consultant, email=address))
        await kafka_io.found(consultant, builders.assignment(f"a-{unique_id}"))
        await wait(lambda: smtp_sink.handler.to(address), what="email after greylisting")
        await wait(lambda: has_statuses(running, consultant, {"delivered"}), what="delivered")
        [row] = await rows(running, consultant)
        assert row["attempts"] == 2
        await asyncio.sleep(0.5)
        assert len(smtp_sink.handler.to(address)) == 1


async def test_smtp_5xx_stops_email_to_that_address_and_reports_a_code_not_the_reply(
    notifier: NotifierFactory,
    reports: TopicReader,
    kafka_io: TopicWriter,
    smtp_sink: SmtpSink,
    wait: Wait,
    rows: Rows,
    unique_id: str,
) -> None:
    consultant = f"c-bounce-{unique_id}"
    address = f"bounce-{unique_id}@example.org"
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        async with notifier() as running:
            await kafka_io.profile(builders.consultant(consultant, email=address))
            await kafka_io.found(consultant, builders.assignment(f"a1-{unique_id}"))
            await wait(lambda: has_statuses(running, consultant, {"failed"}), what="failed")
            [row] = await rows(running, consultant)
            assert row["attempts"] == 1
            # The sink's reply names the address, as real servers do: only a code is kept.
            assert row["last_error"] == "smtp_recipient_refused_550"
            [record] = await reports.wait_for(consultant.encode(), within=20)
            # A second match is not even attempted while the address stays the same.
            await kafka_io.found(consultant, builders.assignment(f"a2-{unique_id}"))
            await wait(lambda: routed(running, consultant, 2), what="second match routed")
            assert len(await rows(running, consultant)) == 1
    failed = decode(record.value, record.headers)
    assert failed.type == "nl.koppel.notification.failed"
    assert failed.data["error"] == "smtp_recipient_refused_550"
    assert address not in (record.value or b"").decode()
    assert any(entry.get("detail") == "smtp_recipient_refused_550" for entry in logs)
    assert not [entry for entry in logs if address in repr(entry)]
    assert not [entry for entry in logs if "example.org" in repr(entry)]


async def test_confidential_assignments_are_masked_on_both_channels(
    notifier: NotifierFactory,
    kafka_io: TopicWriter,
    smtp_sink: SmtpSink,
    receiver: Receiver,
    wait: Wait,
    unique_id: str,
) -> None:
    consultant, path = f"c-conf-{unique_id}", f"conf-{unique_id}"
    address = f"{consultant}@example.org"
    hidden = builders.assignment(
        f"a-{unique_id}",
        visibility="confidential",
        organization={"name": "Gemeente Geheimstad", "type": "municipality", "inhabitants": 18_000},
        location={"city": "Geheimstad", "province": "drenthe"},
    )
    async with notifier():
        await kafka_io.profile(
            receiver.subscriber(
                consultant,
                path,
                channels=["email", "webhook"],
                email=address,
            )
        )
        await kafka_io.found(consultant, hidden)
        await wait(lambda: smtp_sink.handler.to(address) and receiver.at(path), what="both")
    [mail] = smtp_sink.handler.to(address)
    raw = mail.message.as_string()
    assert "Geheimstad" not in raw
    assert "een kleine gemeente in Drenthe (vertrouwelijk)" in mail.part("text/plain")
    hook = receiver.one_message(path)
    assert b"Geheimstad" not in hook.body
    document = Webhook(SECRET).verify(hook.body, hook.headers)
    organization = document["data"]["assignment"]["organization"]
    assert organization == {"name": None, "type": "municipality", "size_class": "small"}


async def test_one_click_unsubscribe_stops_email_at_once(
    notifier: NotifierFactory,
    kafka_io: TopicWriter,
    smtp_sink: SmtpSink,
    wait: Wait,
    rows: Rows,
    unique_id: str,
) -> None:
    consultant = f"c-unsub-{unique_id}"
    address = f"{consultant}@example.org"
    async with notifier() as running:
        await kafka_io.profile(builders.consultant(consultant, email=address))
        await kafka_io.found(consultant, builders.assignment(f"a1-{unique_id}"))
        await wait(lambda: smtp_sink.handler.to(address), what="first email")
        [mail] = smtp_sink.handler.to(address)
        link = mail.message["List-Unsubscribe"].strip("<>")
        path = httpx.URL(link).path
        transport = httpx.ASGITransport(app=running.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://notifier.test") as web:
            page = await web.get(path)
            assert page.status_code == 200
            assert 'method="post"' in page.text
            assert await _unsubscribed(running, consultant) is False  # GET changes nothing
            for _ in range(2):  # idempotent
                done = await web.post(path, data={"List-Unsubscribe": "One-Click"})
                assert done.status_code == 200
                assert "afgemeld" in done.text
            assert (await web.post(path + "x")).status_code == 404
        assert await _unsubscribed(running, consultant) is True
        await kafka_io.found(consultant, builders.assignment(f"a2-{unique_id}"))
        await wait(lambda: routed(running, consultant, 2), what="second match routed")
        await asyncio.sleep(0.5)
        assert len(smtp_sink.handler.to(address)) == 1


async def test_unsubscribing_cancels_email_still_waiting(
    notifier: NotifierFactory,
    kafka_io: TopicWriter,
    wait: Wait,
    rows: Rows,
    unique_id: str,
) -> None:
    consultant = f"c-unsub-queued-{unique_id}"
    async with notifier() as running:
        await kafka_io.profile(
            builders.consultant(consultant, notification={"mode": "daily_digest"})
        )
        await kafka_io.found(consultant, builders.assignment(f"a1-{unique_id}"))
        await kafka_io.found(consultant, builders.assignment(f"a2-{unique_id}"))
        # The two matches may be consumed in separate batches: one queued row is not enough.
        await wait(lambda: _queued(running, rows, consultant, 2), what="both matches queued")
        assert await running.store.unsubscribe(consultant) is True
        assert {row["status"] for row in await rows(running, consultant)} == {"cancelled"}


async def test_min_score_and_withdrawals(
    notifier: NotifierFactory,
    kafka_io: TopicWriter,
    smtp_sink: SmtpSink,
    receiver: Receiver,
    wait: Wait,
    rows: Rows,
    unique_id: str,
) -> None:
    consultant, path = f"c-pref-{unique_id}", f"pref-{unique_id}"
    address = f"{consultant}@example.org"
    good, weak = builders.assignment(f"good-{unique_id}"), builders.assignment(f"weak-{unique_id}")
    async with notifier() as running:
        await kafka_io.profile(
            receiver.subscriber(
                consultant,
                path,
                channels=["email", "webhook"],
                preferences={"min_score": 0.7},
                email=address,
            )
        )
        await kafka_io.found(consultant, weak, score=0.65)
        good_id = await kafka_io.found(consultant, good, score=0.9)
        await wait(lambda: receiver.at(path) and smtp_sink.handler.to(address), what="good")
        await kafka_io.withdrawn(consultant, good)
        await wait(lambda: len(receiver.at(path)) == 2, what="withdrawal webhook")
        first, second = (Webhook(SECRET).verify(h.body, h.headers) for h in receiver.at(path))
        assert first["type"] == "match.found"
        assert second["type"] == "match.withdrawn"
        assert second["data"]["match_id"] == good_id
        assert second["data"]["reason"] == "assignment_filled"
        assert (
            receiver.at(path)[0].headers["webhook-id"] != receiver.at(path)[1].headers["webhook-id"]
        )
        await asyncio.sleep(0.5)
        assert len(smtp_sink.handler.to(address)) == 1  # email never announces withdrawals
        assert all(good.title in m.message["Subject"] for m in smtp_sink.handler.to(address))
        assert {row["match_id"] for row in await rows(running, consultant)} == {good_id}


async def test_a_match_before_its_profile_waits_for_it(
    notifier: NotifierFactory,
    kafka_io: TopicWriter,
    smtp_sink: SmtpSink,
    wait: Wait,
    unique_id: str,
) -> None:
    consultant = f"c-late-{unique_id}"
    address = f"{consultant}@example.org"
    async with notifier() as running:
        await kafka_io.found(consultant, builders.assignment(f"a-{unique_id}"))
        await wait(lambda: waiting(running, consultant), what="match stored, awaiting profile")
        assert smtp_sink.handler.to(address) == []
        await kafka_io.profile(builders.consultant(consultant, email=address))
        await wait(lambda: smtp_sink.handler.to(address), what="email once the profile came")


async def test_a_withdrawal_of_a_match_never_found_is_not_stored(
    notifier: NotifierFactory,
    kafka_io: TopicWriter,
    wait: Wait,
    unique_id: str,
) -> None:
    consultant = f"c-nofound-{unique_id}"
    async with notifier() as running:
        await kafka_io.withdrawn(consultant, builders.assignment(f"a-{unique_id}"))
        await _handled_up_to_here(running, kafka_io, wait, consultant)
        stored = await running.pool.fetchval(
            "SELECT count(*) FROM notifier_match_events WHERE consultant_id = $1", consultant
        )
        assert stored == 0


async def _handled_up_to_here(
    running: Notifier, kafka_io: TopicWriter, wait: Wait, consultant: str
) -> None:
    """Wait until the notifier has consumed what was sent about `consultant` so far.

    A match for a never-seen consultant in the same partition of the matches topic is
    stored (waiting for its profile) once everything before it there has been handled.
    """
    marker = marker_for(consultant)
    await kafka_io.found(marker, builders.assignment(f"marker-{consultant}"))
    await wait(lambda: waiting(running, marker), what="records before the marker handled")


async def test_unreadable_records_go_to_the_dead_letter_topic(
    notifier: NotifierFactory,
    reader: OpenReader,
    kafka_io: TopicWriter,
    wait: Wait,
    unique_id: str,
) -> None:
    dead = await reader(dlq(MATCHES))
    async with notifier() as running:
        key = f"c-bad-{unique_id}".encode()
        await kafka_io.raw(MATCHES, key, b"{not json")
        [record] = await dead.wait_for(key, within=20)
        headers = dict(record.headers)
        assert record.value == b"{not json"
        assert headers["koppel-error-code"] == b"invalid_envelope"
        assert headers["koppel-error-source-topic"] == MATCHES.encode()
        assert running.inbox.started  # no crash loop


async def _queued(running: Notifier, rows: Rows, consultant: str, count: int) -> bool:
    found = await rows(running, consultant)
    return len(found) == count and {row["status"] for row in found} == {"queued"}


async def _unsubscribed(running: Notifier, consultant: str) -> bool:
    value = await running.pool.fetchval(
        "SELECT unsubscribed_address IS NOT NULL FROM notifier_contacts WHERE consultant_id = $1",
        consultant,
    )
    return bool(value)
