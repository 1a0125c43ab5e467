"""Webhook retries with a stable id, Retry-After, 410 disabling, redirects, dead letters."""

from __future__ import annotations

import asyncio

import pytest
from standardwebhooks import Webhook

from koppel.cloudevents import decode
from koppel_notifier.bootstrap import Notifier
from koppel_testing import WEBHOOK_SECRET as SECRET
from koppel_testing import builders
from koppel_testing.integration_notifier import NotifierFactory, Rows
from koppel_testing.integration_waiting import Wait
from koppel_testing.kafka_publishing import TopicWriter
from koppel_testing.kafka_reading import TopicReader
from koppel_testing.receivers import Receiver

pytestmark = pytest.mark.integration


async def test_retries_keep_the_webhook_id_and_sign_each_attempt_anew(
    notifier: NotifierFactory,
    kafka_io: TopicWriter,
    receiver: Receiver,
    wait: Wait,
    rows: Rows,
    unique_id: str,
) -> None:
    consultant, path = f"c-retry-{unique_id}", f"retry-{unique_id}"
    receiver.script(path, [500, 503, 429, 200], headers={"retry-after": "1"})
    async with notifier() as running:
        await kafka_io.profile(receiver.subscriber(consultant, path))
        await kafka_io.found(consultant, builders.assignment(f"a-{unique_id}"))
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
    notifier: NotifierFactory,
    reports: TopicReader,
    kafka_io: TopicWriter,
    receiver: Receiver,
    wait: Wait,
    rows: Rows,
    unique_id: str,
) -> None:
    consultant, path = f"c-dead-{unique_id}", f"dead-{unique_id}"
    receiver.script(path, [500] * 10)
    async with notifier() as running:
        await kafka_io.profile(receiver.subscriber(consultant, path))
        match_id = await kafka_io.found(consultant, builders.assignment(f"a-{unique_id}"))
        await wait(lambda: _status(running, rows, consultant, "dead"), what="dead status")
        assert len(receiver.at(path)) == 4  # the four steps of the test schedule
        [row] = await rows(running, consultant)
        assert row["last_error"] == "webhook_http_500"
        [report] = await reports.wait_for(consultant.encode(), within=20)
    failed = decode(report.value, report.headers)
    assert failed.type == "nl.koppel.notification.failed"
    assert failed.data["match_ids"] == [match_id]
    assert failed.data["attempts"] == 4
    assert failed.data["error"] == "webhook_http_500"
    assert failed.data["channel"] == "webhook"
    assert failed.subject == consultant


async def test_410_gone_disables_the_endpoint_for_that_consultant(
    notifier: NotifierFactory,
    kafka_io: TopicWriter,
    receiver: Receiver,
    wait: Wait,
    rows: Rows,
    unique_id: str,
) -> None:
    consultant, path = f"c-gone-{unique_id}", f"gone-{unique_id}"
    receiver.script(path, [410])
    async with notifier() as running:
        await kafka_io.profile(receiver.subscriber(consultant, path))
        await kafka_io.found(consultant, builders.assignment(f"a1-{unique_id}"))
        await wait(lambda: _status(running, rows, consultant, "failed"), what="failed status")
        await kafka_io.found(consultant, builders.assignment(f"a2-{unique_id}"))
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
        await kafka_io.profile(receiver.subscriber(consultant, new_path))
        # Profiles and matches travel on different topics: let the new URL land first.
        await wait(
            lambda: _url_is(running, consultant, receiver.url(new_path)), what="new URL stored"
        )
        await kafka_io.found(consultant, builders.assignment(f"a3-{unique_id}"))
        await wait(lambda: len(receiver.at(new_path)) == 1, what="delivery to the new URL")


async def test_redirects_are_not_followed(
    notifier: NotifierFactory,
    kafka_io: TopicWriter,
    receiver: Receiver,
    wait: Wait,
    rows: Rows,
    unique_id: str,
) -> None:
    consultant, path = f"c-redirect-{unique_id}", f"redirect-{unique_id}"
    target = f"redirect-target-{unique_id}"
    receiver.script(path, [302] * 10, headers={"location": receiver.url(target)})
    async with notifier() as running:
        await kafka_io.profile(receiver.subscriber(consultant, path))
        await kafka_io.found(consultant, builders.assignment(f"a-{unique_id}"))
        await wait(lambda: _status(running, rows, consultant, "dead"), what="dead status")
        assert receiver.at(target) == []
        [row] = await rows(running, consultant)
        assert row["last_error"] == "webhook_redirect_302"


async def _status(running: Notifier, rows: Rows, consultant: str, status: str) -> bool:
    found = await rows(running, consultant)
    return bool(found) and all(row["status"] == status for row in found)


async def _url_is(running: Notifier, consultant: str, url: str) -> bool:
    stored = await running.pool.fetchval(
        "SELECT webhook_url FROM notifier_contacts WHERE consultant_id = $1", consultant
    )
    return bool(stored == url)


async def _count(running: Notifier, consultant: str, count: int) -> bool:
    seen = await running.pool.fetchval(
        "SELECT count(*) FROM notifier_match_events"
        " WHERE consultant_id = $1 AND routed_at IS NOT NULL",
        consultant,
    )
    return bool(seen == count)
