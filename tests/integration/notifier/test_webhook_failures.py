"""Webhook retries with a stable id, Retry-After, 410 disabling, redirects, dead letters."""

from __future__ import annotations

import asyncio

import pytest
from standardwebhooks import Webhook

from koppel.cloudevents import decode
from koppel_notifier.bootstrap import Notifier
from koppel_testing import WEBHOOK_SECRET as SECRET
from koppel_testing.integration_notifier import NotifierRig, has_statuses, routed
from koppel_testing.kafka_reading import TopicReader

pytestmark = pytest.mark.integration


async def test_retries_keep_the_webhook_id_and_sign_each_attempt_anew(rig: NotifierRig) -> None:
    who = rig.named("retry")
    rig.receiver.script(who.path, [500, 503, 429, 200], headers={"retry-after": "1"})
    async with rig.notifier() as running:
        await rig.subscribe(who)
        await rig.kafka.found(who.id, rig.assignment())
        await rig.wait(lambda: len(rig.hooks(who)) == 4, what="four attempts")
        hooks = rig.hooks(who)
        assert len({hook.headers["webhook-id"] for hook in hooks}) == 1
        assert len({hook.body for hook in hooks}) == 1
        for hook in hooks:
            Webhook(SECRET).verify(hook.body, hook.headers)
        # 503 and 429 asked for Retry-After: 1, longer than the 0.3 s schedule.
        assert hooks[2].at - hooks[1].at >= 0.95
        assert hooks[3].at - hooks[2].at >= 0.95
        await rig.wait(
            lambda: has_statuses(running, who.id, {"delivered"}), what="delivered status"
        )
        [row] = await rig.rows(running, who.id)
        assert row["attempts"] == 4


async def test_exhausted_attempts_are_dead_lettered_and_reported(
    rig: NotifierRig, reports: TopicReader
) -> None:
    who = rig.named("dead")
    rig.receiver.script(who.path, [500] * 10)
    async with rig.notifier() as running:
        await rig.subscribe(who)
        match_id = await rig.kafka.found(who.id, rig.assignment())
        await rig.wait(lambda: has_statuses(running, who.id, {"dead"}), what="dead status")
        assert len(rig.hooks(who)) == 4  # the four steps of the test schedule
        [row] = await rig.rows(running, who.id)
        assert row["last_error"] == "webhook_http_500"
        [report] = await reports.wait_for(who.id.encode(), within=20)
    failed = decode(report.value, report.headers)
    assert failed.type == "nl.koppel.notification.failed"
    assert failed.data["match_ids"] == [match_id]
    assert failed.data["attempts"] == 4
    assert failed.data["error"] == "webhook_http_500"
    assert failed.data["channel"] == "webhook"
    assert failed.subject == who.id


async def test_410_gone_disables_the_endpoint_for_that_consultant(rig: NotifierRig) -> None:
    who = rig.named("gone")
    rig.receiver.script(who.path, [410])
    async with rig.notifier() as running:
        await rig.subscribe(who)
        await rig.kafka.found(who.id, rig.assignment("a1"))
        await rig.wait(lambda: has_statuses(running, who.id, {"failed"}), what="failed status")
        await rig.kafka.found(who.id, rig.assignment("a2"))
        await rig.wait(lambda: routed(running, who.id, 2), what="second match recorded")
        await asyncio.sleep(1.0)
        assert len(rig.hooks(who)) == 1
        disabled = await running.pool.fetchval(
            "SELECT webhook_disabled_url FROM notifier_contacts WHERE consultant_id = $1",
            who.id,
        )
        assert disabled == rig.receiver.url(who.path)

        # A new URL in the profile is a new endpoint: deliveries resume there.
        moved = who._replace(path=f"gone-new-{rig.unique_id}")
        await rig.subscribe(moved)
        # Profiles and matches travel on different topics: let the new URL land first.
        new_url = rig.receiver.url(moved.path)
        await rig.wait(lambda: _url_is(running, who.id, new_url), what="new URL stored")
        await rig.kafka.found(who.id, rig.assignment("a3"))
        await rig.wait(lambda: len(rig.hooks(moved)) == 1, what="delivery to the new URL")


async def test_redirects_are_not_followed(rig: NotifierRig) -> None:
    who = rig.named("redirect")
    target = f"redirect-target-{rig.unique_id}"
    rig.receiver.script(who.path, [302] * 10, headers={"location": rig.receiver.url(target)})
    async with rig.notifier() as running:
        await rig.subscribe(who)
        await rig.kafka.found(who.id, rig.assignment())
        await rig.wait(lambda: has_statuses(running, who.id, {"dead"}), what="dead status")
        assert rig.receiver.at(target) == []
        [row] = await rig.rows(running, who.id)
        assert row["last_error"] == "webhook_redirect_302"


async def _url_is(running: Notifier, consultant: str, url: str) -> bool:
    stored = await running.pool.fetchval(
        "SELECT webhook_url FROM notifier_contacts WHERE consultant_id = $1", consultant
    )
    return bool(stored == url)
