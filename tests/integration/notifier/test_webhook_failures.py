"""Webhook retries with a stable id, Retry-After, 410 disabling, redirects, dead letters."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from standardwebhooks import Webhook

from koppel.cloudevents import decode
from koppel.topics import NOTIFICATIONS
from koppel_testing import WEBHOOK_SECRET as SECRET

pytestmark = pytest.mark.integration


async def _subscribe(
    kafka_io: Any, receiver: Any, make_profile: Any, consultant: str, path: str
) -> None:
    await kafka_io.profile(
        make_profile(
            consultant, channels=["webhook"], webhook_url=receiver.url(path), webhook_secret=SECRET
        )
    )


async def test_retries_keep_the_webhook_id_and_sign_each_attempt_anew(
    notifier: Any, kafka_io: Any, receiver: Any, make_profile: Any, make_assignment: Any,
    wait: Any, rows: Any, unique_id: str,
) -> None:  # fmt: skip
    consultant, path = f"c-retry-{unique_id}", f"retry-{unique_id}"
    receiver.script(path, [500, 503, 429, 200], headers={"retry-after": "1"})
    async with notifier() as running:
        await _subscribe(kafka_io, receiver, make_profile, consultant, path)
        await kafka_io.found(consultant, make_assignment(f"a-{unique_id}"))
        await wait(lambda: len(receiver.at(path)) == 4, what="four attempts")
        hooks = receiver.at(path)
        assert len({hook.headers["webhook-id"] for hook in hooks}) == 1
        assert len({hook.body for hook in hooks}) == 1
        for hook in hooks:
            Webhook(SECRET).verify(hook.body, hook.headers)
        # 503 and 429 asked for Retry-After: 1, longer than the 0.3 s schedule.
        assert hooks[2].at - hooks[1].at >= 0.95
        assert hooks[3].at - hooks[2].at >= 0.95
        await wait(lambda: _status(running, rows, consultant, "delivered"), what="delivered status")
        [row] = await rows(running, consultant)
        assert row["attempts"] == 4


async def test_exhausted_attempts_are_dead_lettered_and_reported(
    notifier: Any, kafka: str, kafka_io: Any, receiver: Any, make_profile: Any,
    make_assignment: Any, wait: Any, rows: Any, unique_id: str,
) -> None:  # fmt: skip
    consultant, path = f"c-dead-{unique_id}", f"dead-{unique_id}"
    receiver.script(path, [500] * 10)
    reports = AIOKafkaConsumer(
        NOTIFICATIONS, bootstrap_servers=kafka, auto_offset_reset="latest", group_id=None
    )
    await reports.start()
    await reports.seek_to_end()
    try:
        async with notifier() as running:
            await _subscribe(kafka_io, receiver, make_profile, consultant, path)
            match_id = await kafka_io.found(consultant, make_assignment(f"a-{unique_id}"))
            await wait(lambda: _status(running, rows, consultant, "dead"), what="dead status")
            assert len(receiver.at(path)) == 4  # the four steps of the test schedule
            [row] = await rows(running, consultant)
            assert row["last_error"] == "webhook_http_500"
            failed = await _next_report(reports, consultant)
        assert failed.type == "nl.koppel.notification.failed"
        assert failed.data["match_ids"] == [match_id]
        assert failed.data["attempts"] == 4
        assert failed.data["error"] == "webhook_http_500"
        assert failed.data["channel"] == "webhook"
        assert failed.subject == consultant
    finally:
        await reports.stop()


async def test_410_gone_disables_the_endpoint_for_that_consultant(
    notifier: Any, kafka_io: Any, receiver: Any, make_profile: Any, make_assignment: Any,
    wait: Any, rows: Any, unique_id: str,
) -> None:  # fmt: skip
    consultant, path = f"c-gone-{unique_id}", f"gone-{unique_id}"
    receiver.script(path, [410])
    async with notifier() as running:
        await _subscribe(kafka_io, receiver, make_profile, consultant, path)
        await kafka_io.found(consultant, make_assignment(f"a1-{unique_id}"))
        await wait(lambda: _status(running, rows, consultant, "failed"), what="failed status")
        await kafka_io.found(consultant, make_assignment(f"a2-{unique_id}"))
        await wait(lambda: _count(running, consultant, 2), what="second match recorded")
        await asyncio.sleep(1.0)
        assert len(receiver.at(path)) == 1
        disabled = await running.pool.fetchval(
            "SELECT webhook_disabled_url FROM notifier_contacts WHERE consultant_id = $1",
            consultant,
        )
        assert disabled == receiver.url(path)

        # A new URL in the profile is a new endpoint: deliveries resume there.
        new_path = f"gone-new-{unique_id}"
        await _subscribe(kafka_io, receiver, make_profile, consultant, new_path)
        # Profiles and matches travel on different topics: let the new URL land first.
        await wait(
            lambda: _url_is(running, consultant, receiver.url(new_path)), what="new URL stored"
        )
        await kafka_io.found(consultant, make_assignment(f"a3-{unique_id}"))
        await wait(lambda: len(receiver.at(new_path)) == 1, what="delivery to the new URL")


async def test_redirects_are_not_followed(
    notifier: Any, kafka_io: Any, receiver: Any, make_profile: Any, make_assignment: Any,
    wait: Any, rows: Any, unique_id: str,
) -> None:  # fmt: skip
    consultant, path = f"c-redirect-{unique_id}", f"redirect-{unique_id}"
    target = f"redirect-target-{unique_id}"
    receiver.script(path, [302] * 10, headers={"location": receiver.url(target)})
    async with notifier() as running:
        await _subscribe(kafka_io, receiver, make_profile, consultant, path)
        await kafka_io.found(consultant, make_assignment(f"a-{unique_id}"))
        await wait(lambda: _status(running, rows, consultant, "dead"), what="dead status")
        assert receiver.at(target) == []
        [row] = await rows(running, consultant)
        assert row["last_error"] == "webhook_redirect_302"


async def _status(running: Any, rows: Any, consultant: str, status: str) -> bool:
    found = await rows(running, consultant)
    return bool(found) and all(row["status"] == status for row in found)


async def _url_is(running: Any, consultant: str, url: str) -> bool:
    stored = await running.pool.fetchval(
        "SELECT webhook_url FROM notifier_contacts WHERE consultant_id = $1", consultant
    )
    return bool(stored == url)


async def _count(running: Any, consultant: str, count: int) -> bool:
    seen = await running.pool.fetchval(
        "SELECT count(*) FROM notifier_match_events"
        " WHERE consultant_id = $1 AND routed_at IS NOT NULL",
        consultant,
    )
    return bool(seen == count)


async def _next_report(reports: AIOKafkaConsumer, consultant: str) -> Any:
    async with asyncio.timeout(20):
        while True:
            record = await reports.getone()
            if record.key == consultant.encode():
                return decode(record.value, record.headers)
