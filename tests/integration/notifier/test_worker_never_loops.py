"""Nothing stored makes the sender loop: an attempt that crashes is a failure, and counts.

The rows are written straight into the database, bypassing the contract, as data kept
from an older version (which let control characters through) would be.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
import pytest

from koppel.cloudevents import decode
from koppel_notifier.bootstrap import Notifier
from koppel_testing import builders
from koppel_testing.integration_notifier import NotifierFactory
from koppel_testing.integration_waiting import Wait
from koppel_testing.kafka_reading import TopicReader
from koppel_testing.receivers import SmtpSink

pytestmark = pytest.mark.integration

ATTEMPTS = 4
"""The steps of the integration tests' NOTIFIER_RETRY_SCHEDULE."""


def _payload(consultant: str, unique_id: str, title: str) -> str:
    assignment = builders.assignment(f"a-{unique_id}")
    data = builders.match_found(consultant, assignment, reasons=["Niveau past precies"]).model_dump(
        mode="json"
    )
    data["assignment"]["title"] = title
    return json.dumps(data)


async def _email_contact(running: Notifier, consultant: str) -> None:
    await running.pool.execute(
        "INSERT INTO notifier_contacts (consultant_id, name, email, language, channels, mode,"
        " min_score, reachable) VALUES ($1, 'Anouk de Vries', $2, 'nl', '{email}', 'instant',"
        " 0.5, true)",
        consultant,
        f"{consultant}@example.org",
    )


async def _email_delivery(
    running: Notifier,
    consultant: str,
    payload: str,
    *,
    status: str = "pending",
    attempts: int = 0,
) -> None:
    match_id = json.loads(payload)["match_id"]
    await running.pool.execute(
        "INSERT INTO notifier_deliveries (id, dedupe_key, consultant_id, channel, kind,"
        " match_id, match_ids, payload, occurred_at, status, attempts, lease_until)"
        " VALUES ($1, $2, $3, 'email', 'match.found', $4, $5, $6::jsonb, now(), $7, $8,"
        " CASE WHEN $7 = 'sending' THEN now() - interval '1 minute' END)",
        uuid.uuid4(),
        f"test|{consultant}",
        consultant,
        match_id,
        [match_id],
        payload,
        status,
        attempts,
    )
    running.worker.wake()


async def _row(running: Notifier, consultant: str) -> asyncpg.Record:
    row: asyncpg.Record | None = await running.pool.fetchrow(
        "SELECT status, attempts, last_error FROM notifier_deliveries WHERE consultant_id = $1",
        consultant,
    )
    assert row is not None, f"no delivery row for {consultant}"
    return row


async def test_content_that_crashes_every_attempt_ends_dead_and_others_still_go_out(
    notifier: NotifierFactory,
    reports: TopicReader,
    smtp_sink: SmtpSink,
    wait: Wait,
    unique_id: str,
) -> None:
    broken, healthy = f"c-crash-{unique_id}", f"c-fine-{unique_id}"
    async with notifier() as running:
        for consultant in (broken, healthy):
            await _email_contact(running, consultant)
        # U+2028 in the subject: building the message raises on every attempt.
        await _email_delivery(
            running,
            broken,
            _payload(broken, unique_id, "Woordvoerder\u2028Bcc: x"),
        )
        await _email_delivery(running, healthy, _payload(healthy, unique_id, "Woordvoerder"))

        async def dead() -> bool:
            return bool((await _row(running, broken))["status"] == "dead")

        await wait(dead, within=30, what="the crashing delivery to end dead")
        row = await _row(running, broken)
        assert row["attempts"] == ATTEMPTS
        assert row["last_error"] == "internal error: ValueError"
        [report] = await reports.wait_for(broken.encode(), within=20)
        failed = decode(report.value, report.headers)
        assert failed.type == "nl.koppel.notification.failed"
        assert failed.data["attempts"] == ATTEMPTS

        await wait(lambda: smtp_sink.handler.to(f"{healthy}@example.org"), what="the other email")
        await asyncio.sleep(1.0)  # several polls: a dead row is never claimed again
        assert (await _row(running, broken))["attempts"] == ATTEMPTS
        assert smtp_sink.handler.to(f"{broken}@example.org") == []


async def test_a_last_attempt_whose_lease_ran_out_is_given_up_not_sent_again(
    notifier: NotifierFactory,
    smtp_sink: SmtpSink,
    wait: Wait,
    unique_id: str,
) -> None:
    consultant = f"c-lease-{unique_id}"
    async with notifier() as running:
        await _email_contact(running, consultant)
        # Left `sending` by a worker that died during the last attempt.
        await _email_delivery(
            running,
            consultant,
            _payload(consultant, unique_id, "Woordvoerder"),
            status="sending",
            attempts=ATTEMPTS,
        )

        async def dead() -> bool:
            return bool((await _row(running, consultant))["status"] == "dead")

        await wait(dead, within=30, what="the unfinished last attempt to end dead")
        row = await _row(running, consultant)
        assert row["attempts"] == ATTEMPTS
        assert row["last_error"] == "attempt did not finish before its lease ran out"
        assert smtp_sink.handler.to(f"{consultant}@example.org") == []
