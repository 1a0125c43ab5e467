"""`koppel-notifier deliveries list|retry|discard` as an operator runs it, a process of its
own, against a running notifier's PostgreSQL, webhook receiver and SMTP relay."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass

import pytest
from standardwebhooks import Webhook

from koppel.vocabulary import VisibleField
from koppel_demo.sandbox import free_port
from koppel_notifier.bootstrap import Notifier
from koppel_testing import WEBHOOK_SECRET, builders
from koppel_testing.integration_notifier import (
    NotifierRig,
    Subscriber,
    has_statuses,
    notifier_env,
    routed,
)
from koppel_testing.integration_processes import ROOT

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str


@dataclass(frozen=True)
class Operator:
    """Runs `python -m koppel_notifier deliveries ...` with the notifier's settings."""

    env: dict[str, str]

    async def __call__(self, *arguments: str) -> Ran:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "koppel_notifier",
            "deliveries",
            *arguments,
            cwd=ROOT,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout=90)
        assert process.returncode is not None
        return Ran(process.returncode, out.decode(), err.decode())


@pytest.fixture
def operator(rig: NotifierRig, fresh_database: str, kafka: str) -> Operator:
    settings = notifier_env(
        database_url=fresh_database, kafka=kafka, smtp=rig.smtp, group_id="operator"
    )
    return Operator({**os.environ, **settings, "LOG_LEVEL": "INFO", "LOG_JSON": "true"})


def personal_data(rig: NotifierRig, who: Subscriber) -> list[str]:
    """What the commands must never print about `who`: address, webhook URL, name."""
    return [who.address, rig.receiver.url(who.path), builders.consultant(who.id).name]


async def test_a_retried_dead_webhook_goes_out_once_more_with_the_same_webhook_id(
    rig: NotifierRig, operator: Operator
) -> None:
    who = rig.named("cli-retry")
    rig.receiver.script(who.path, [500] * 4)  # the test schedule's four attempts, then 200
    async with rig.notifier() as running:
        await rig.subscribe(who)
        await rig.kafka.found(who.id, rig.assignment())
        await rig.wait(lambda: has_statuses(running, who.id, {"dead"}), what="dead status")
        [row] = await rig.rows(running, who.id)
        first_id = rig.hooks(who)[0].headers["webhook-id"]

        listed = await operator("list", "--consultant", who.id, "--json")
        assert listed.code == 0, listed.err
        assert [json.loads(line) for line in listed.out.splitlines()] == [
            {
                "delivery_id": str(row["id"]),
                "webhook_id": first_id,
                "consultant_id": who.id,
                "channel": "webhook",
                "kind": "match.found",
                "status": "dead",
                "attempts": 4,
                "error": "webhook_http_500",
                "given_up_at": row["finished_at"].isoformat(),
            }
        ]
        table = await operator("list", "--channel", "webhook", "--since", "1h")
        assert str(row["id"]) in table.out
        assert "webhook_http_500" in table.out

        dry = await operator("retry", "--all", "--consultant", who.id, "--dry-run")
        assert dry.code == 0, dry.err
        assert "1 selected: 1 would retry, 0 refused" in dry.err
        assert await has_statuses(running, who.id, {"dead"})

        retried = await operator("retry", first_id)  # by the webhook-id a receiver logged
        assert retried.code == 0, retried.err
        assert "1 selected: 1 retried, 0 refused" in retried.err
        logged = [json.loads(line) for line in retried.err.splitlines() if line.startswith("{")]
        retry_lines = [entry for entry in logged if entry["event"] == "dead delivery retried"]
        assert [entry["delivery_id"] for entry in retry_lines] == [str(row["id"])]
        await rig.wait(lambda: has_statuses(running, who.id, {"delivered"}), what="delivered")
        await asyncio.sleep(1.0)  # a second send would show by now
        hooks = rig.hooks(who)
        assert len(hooks) == 5
        assert {hook.headers["webhook-id"] for hook in hooks} == {first_id}
        Webhook(WEBHOOK_SECRET).verify(hooks[-1].body, hooks[-1].headers)

        again = await operator("retry", str(row["id"]))
        assert again.code == 1
        await asyncio.sleep(0.5)
        assert len(rig.hooks(who)) == 5
    for ran in (listed, table, dry, retried, again):
        for personal in personal_data(rig, who):
            assert personal not in ran.out + ran.err


async def test_an_unsubscribed_consultants_dead_email_is_refused_then_discarded(
    rig: NotifierRig, operator: Operator
) -> None:
    who = rig.named("cli-unsub")
    async with rig.notifier(SMTP_PORT=str(free_port())) as running:  # no relay listens there
        await rig.subscribe_by_email(who)
        await rig.kafka.found(who.id, rig.assignment())
        await rig.wait(lambda: has_statuses(running, who.id, {"dead"}), what="dead status")
        [row] = await rig.rows(running, who.id)
        assert await running.store.unsubscribe(who.id) is True

        refused = await operator("retry", str(row["id"]))
        assert refused.code == 1
        assert "refused: unsubscribed" in refused.out
        assert "unsubscribed this email address" in refused.err
        assert await has_statuses(running, who.id, {"dead"})

        discarded = await operator(
            "discard", "--all", "--consultant", who.id, "--reason", "consultant unsubscribed"
        )
        assert discarded.code == 0, discarded.err
        assert "1 selected: 1 discarded" in discarded.err
        [row] = await rig.rows(running, who.id)
        assert (row["status"], row["discard_reason"]) == ("discarded", "consultant unsubscribed")
        assert row["discarded_at"] is not None
        assert "consultant unsubscribed" not in discarded.err  # the reason is not logged

        listed = await operator("list", "--consultant", who.id, "--include-failed")
        assert (listed.code, listed.out) == (1, "")
        counted = await operator("backlog", "--json")
        assert {"channel": "email", "status": "discarded", "count": 1} in [
            json.loads(line) for line in counted.out.splitlines()
        ]
        await asyncio.sleep(0.5)
        assert await has_statuses(running, who.id, {"discarded"})
    for ran in (refused, discarded, listed, counted):
        for personal in personal_data(rig, who):
            assert personal not in ran.out + ran.err


async def test_a_dead_found_is_not_sent_again_once_the_match_changed_or_they_were_erased(
    rig: NotifierRig, operator: Operator
) -> None:
    who = rig.named("cli-later")
    rig.receiver.script(who.path, [500] * 4)
    assignment = rig.assignment()
    async with rig.notifier() as running:
        await rig.subscribe(who)
        await rig.kafka.found(who.id, assignment)
        await rig.wait(lambda: has_statuses(running, who.id, {"dead"}), what="dead status")
        [dead] = await rig.rows(running, who.id)
        await rig.kafka.updated(who.id, assignment, [VisibleField.HOURS_PER_WEEK])
        await rig.wait(lambda: routed(running, who.id, 2), what="the update routed")

        refused = await operator("retry", "--all", "--consultant", who.id)
        assert refused.code == 1
        assert "refused: superseded" in refused.out
        assert (
            await running.pool.fetchval(
                "SELECT status FROM notifier_deliveries WHERE id = $1", dead["id"]
            )
        ) == "dead"

        await rig.kafka.erase(who.id)
        await rig.wait(lambda: _no_rows(rig, running, who.id), what="erased rows")
        erased = await operator("retry", str(dead["id"]))
        assert erased.code == 1
        assert "0 selected" in erased.err


async def _no_rows(rig: NotifierRig, running: Notifier, consultant_id: str) -> bool:
    return not await rig.rows(running, consultant_id)
