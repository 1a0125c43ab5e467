"""Email outcomes, confidential masking, unsubscribe, preferences, late profiles."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import structlog
from aiokafka import AIOKafkaConsumer
from aiokafka.partitioner import DefaultPartitioner
from standardwebhooks import Webhook
from structlog.testing import capture_logs

from koppel.cloudevents import decode
from koppel.topics import MATCHES, NOTIFICATIONS, TOPICS
from koppel_testing import WEBHOOK_SECRET as SECRET

pytestmark = pytest.mark.integration


async def test_smtp_4xx_is_retried_and_sent_once(
    notifier: Any, kafka_io: Any, smtp_sink: Any, make_profile: Any, make_assignment: Any,
    wait: Any, rows: Any, unique_id: str,
) -> None:  # fmt: skip
    consultant = f"c-grey-{unique_id}"
    address = f"greylist-{unique_id}@example.org"
    async with notifier() as running:
        await kafka_io.profile(make_profile(consultant, email=address))
        await kafka_io.found(consultant, make_assignment(f"a-{unique_id}"))
        await wait(lambda: smtp_sink.handler.to(address), what="email after greylisting")
        await wait(lambda: _statuses(running, rows, consultant, {"delivered"}), what="delivered")
        [row] = await rows(running, consultant)
        assert row["attempts"] == 2
        await asyncio.sleep(0.5)
        assert len(smtp_sink.handler.to(address)) == 1


async def test_smtp_5xx_stops_email_to_that_address_and_reports_a_code_not_the_reply(
    notifier: Any, kafka: str, kafka_io: Any, smtp_sink: Any, make_profile: Any,
    make_assignment: Any, wait: Any, rows: Any, unique_id: str,
) -> None:  # fmt: skip
    consultant = f"c-bounce-{unique_id}"
    address = f"bounce-{unique_id}@example.org"
    reports = AIOKafkaConsumer(
        NOTIFICATIONS, bootstrap_servers=kafka, auto_offset_reset="latest", group_id=None
    )
    await reports.start()
    await reports.seek_to_end()
    try:
        with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
            async with notifier() as running:
                await kafka_io.profile(make_profile(consultant, email=address))
                await kafka_io.found(consultant, make_assignment(f"a1-{unique_id}"))
                await wait(lambda: _statuses(running, rows, consultant, {"failed"}), what="failed")
                [row] = await rows(running, consultant)
                assert row["attempts"] == 1
                # The sink's reply names the address, as real servers do: only a code is kept.
                assert row["last_error"] == "smtp_recipient_refused_550"
                async with asyncio.timeout(20):
                    while (record := await reports.getone()).key != consultant.encode():
                        pass
                # A second match is not even attempted while the address stays the same.
                await kafka_io.found(consultant, make_assignment(f"a2-{unique_id}"))
                await wait(lambda: _routed(running, consultant, 2), what="second match routed")
                assert len(await rows(running, consultant)) == 1
    finally:
        await reports.stop()
    failed = decode(record.value, record.headers)
    assert failed.type == "nl.koppel.notification.failed"
    assert failed.data["error"] == "smtp_recipient_refused_550"
    assert address not in (record.value or b"").decode()
    assert any(entry.get("detail") == "smtp_recipient_refused_550" for entry in logs)
    assert not [entry for entry in logs if address in repr(entry)]
    assert not [entry for entry in logs if "example.org" in repr(entry)]


async def test_confidential_assignments_are_masked_on_both_channels(
    notifier: Any, kafka_io: Any, smtp_sink: Any, receiver: Any, make_profile: Any,
    make_assignment: Any, wait: Any, unique_id: str,
) -> None:  # fmt: skip
    consultant, path = f"c-conf-{unique_id}", f"conf-{unique_id}"
    address = f"{consultant}@example.org"
    hidden = make_assignment(
        f"a-{unique_id}",
        visibility="confidential",
        organization={"name": "Gemeente Geheimstad", "type": "municipality", "inhabitants": 18_000},
        location={"city": "Geheimstad", "province": "drenthe"},
    )
    async with notifier():
        await kafka_io.profile(
            make_profile(
                consultant,
                channels=["email", "webhook"],
                webhook_url=receiver.url(path),
                webhook_secret=SECRET,
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
    notifier: Any, kafka_io: Any, smtp_sink: Any, make_profile: Any, make_assignment: Any,
    wait: Any, rows: Any, unique_id: str,
) -> None:  # fmt: skip
    consultant = f"c-unsub-{unique_id}"
    address = f"{consultant}@example.org"
    async with notifier() as running:
        await kafka_io.profile(make_profile(consultant))
        await kafka_io.found(consultant, make_assignment(f"a1-{unique_id}"))
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
        await kafka_io.found(consultant, make_assignment(f"a2-{unique_id}"))
        await wait(lambda: _routed(running, consultant, 2), what="second match routed")
        await asyncio.sleep(0.5)
        assert len(smtp_sink.handler.to(address)) == 1


async def test_unsubscribing_cancels_email_still_waiting(
    notifier: Any, kafka_io: Any, make_profile: Any, make_assignment: Any, wait: Any,
    rows: Any, unique_id: str,
) -> None:  # fmt: skip
    consultant = f"c-unsub-queued-{unique_id}"
    async with notifier() as running:
        await kafka_io.profile(make_profile(consultant, mode="daily_digest"))
        await kafka_io.found(consultant, make_assignment(f"a1-{unique_id}"))
        await kafka_io.found(consultant, make_assignment(f"a2-{unique_id}"))
        # The two matches may be consumed in separate batches: one queued row is not enough.
        await wait(lambda: _queued(running, rows, consultant, 2), what="both matches queued")
        assert await running.store.unsubscribe(consultant) is True
        assert {row["status"] for row in await rows(running, consultant)} == {"cancelled"}


async def test_min_score_and_withdrawals(
    notifier: Any, kafka_io: Any, smtp_sink: Any, receiver: Any, make_profile: Any,
    make_assignment: Any, wait: Any, rows: Any, unique_id: str,
) -> None:  # fmt: skip
    consultant, path = f"c-pref-{unique_id}", f"pref-{unique_id}"
    address = f"{consultant}@example.org"
    good, weak = make_assignment(f"good-{unique_id}"), make_assignment(f"weak-{unique_id}")
    async with notifier() as running:
        await kafka_io.profile(
            make_profile(
                consultant,
                channels=["email", "webhook"],
                min_score=0.7,
                webhook_url=receiver.url(path),
                webhook_secret=SECRET,
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
    notifier: Any, kafka_io: Any, smtp_sink: Any, make_profile: Any, make_assignment: Any,
    wait: Any, unique_id: str,
) -> None:  # fmt: skip
    consultant = f"c-late-{unique_id}"
    address = f"{consultant}@example.org"
    async with notifier() as running:
        await kafka_io.found(consultant, make_assignment(f"a-{unique_id}"))
        await wait(lambda: _waiting(running, consultant), what="match stored, awaiting profile")
        assert smtp_sink.handler.to(address) == []
        await kafka_io.profile(make_profile(consultant))
        await wait(lambda: smtp_sink.handler.to(address), what="email once the profile came")


async def test_a_withdrawal_of_a_match_never_found_is_not_stored(
    notifier: Any, kafka_io: Any, make_assignment: Any, wait: Any, unique_id: str
) -> None:
    consultant = f"c-nofound-{unique_id}"
    async with notifier() as running:
        await kafka_io.withdrawn(consultant, make_assignment(f"a-{unique_id}"))
        await _handled_up_to_here(running, kafka_io, make_assignment, wait, consultant)
        stored = await running.pool.fetchval(
            "SELECT count(*) FROM notifier_match_events WHERE consultant_id = $1", consultant
        )
        assert stored == 0


async def _handled_up_to_here(
    running: Any, kafka_io: Any, make_assignment: Any, wait: Any, consultant: str
) -> None:
    """Wait until the notifier has consumed what was sent about `consultant` so far.

    A match for a never-seen consultant in the same partition of the matches topic is
    stored (waiting for its profile) once everything before it there has been handled.
    """
    partitioner = DefaultPartitioner()
    partitions = list(range(next(spec.partitions for spec in TOPICS if spec.name == MATCHES)))
    partition = partitioner(consultant.encode(), partitions, partitions)
    marker = next(
        f"{consultant}-marker-{n}"
        for n in range(1000)
        if partitioner(f"{consultant}-marker-{n}".encode(), partitions, partitions) == partition
    )
    await kafka_io.found(marker, make_assignment(f"marker-{consultant}"))
    await wait(lambda: _waiting(running, marker), what="records before the marker handled")


async def test_unreadable_records_go_to_the_dead_letter_topic(
    notifier: Any, kafka: str, kafka_io: Any, wait: Any, unique_id: str
) -> None:
    dlq = AIOKafkaConsumer(
        f"{MATCHES}.dlq", bootstrap_servers=kafka, auto_offset_reset="latest", group_id=None
    )
    await dlq.start()
    await dlq.seek_to_end()
    try:
        async with notifier() as running:
            key = f"c-bad-{unique_id}".encode()
            await kafka_io.raw(MATCHES, key, b"{not json")
            async with asyncio.timeout(20):
                while True:
                    record = await dlq.getone()
                    if record.key == key:
                        break
            headers = dict(record.headers)
            assert record.value == b"{not json"
            assert headers["koppel-error-code"] == b"invalid_envelope"
            assert headers["koppel-error-source-topic"] == MATCHES.encode()
            assert running.inbox.started  # no crash loop
    finally:
        await dlq.stop()


async def _statuses(running: Any, rows: Any, consultant: str, statuses: set[str]) -> bool:
    found = await rows(running, consultant)
    return bool(found) and {row["status"] for row in found} <= statuses


async def _queued(running: Any, rows: Any, consultant: str, count: int) -> bool:
    found = await rows(running, consultant)
    return len(found) == count and {row["status"] for row in found} == {"queued"}


async def _routed(running: Any, consultant: str, count: int) -> bool:
    seen = await running.pool.fetchval(
        "SELECT count(*) FROM notifier_match_events"
        " WHERE consultant_id = $1 AND routed_at IS NOT NULL",
        consultant,
    )
    return bool(seen == count)


async def _waiting(running: Any, consultant: str) -> bool:
    seen = await running.pool.fetchval(
        "SELECT count(*) FROM notifier_match_events WHERE consultant_id = $1 AND routed_at IS NULL",
        consultant,
    )
    return bool(seen == 1)


async def _unsubscribed(running: Any, consultant: str) -> bool:
    value = await running.pool.fetchval(
        "SELECT unsubscribed_address IS NOT NULL FROM notifier_contacts WHERE consultant_id = $1",
        consultant,
    )
    return bool(value)
