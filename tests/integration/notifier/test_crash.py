"""SIGKILL the notifier in the middle of a batch; the restarted one finishes it.

Every match reaches both channels, no email arrives twice, and a webhook that is sent
again carries the same `webhook-id` (receivers de-duplicate on it).

The kill lands while an email is inside its SMTP transaction (at RCPT), with webhooks in
flight and offsets possibly uncommitted. SMTP leaves one window no client can close (RFC
1047): between the server accepting the message and the client recording that. The
notifier keeps it to a single UPDATE, and the stable Message-ID lets a mail client drop a
copy sent again from inside it; the test does not aim the kill there.
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections import Counter
from pathlib import Path

import pytest

from koppel.topics import CONSULTANTS, MATCHES, RESPONSES
from koppel_demo.sandbox import free_port, start_group_at_end
from koppel_testing import builders
from koppel_testing.integration_notifier import notifier_env
from koppel_testing.integration_processes import ServiceProcess
from koppel_testing.integration_waiting import Wait
from koppel_testing.kafka_publishing import TopicWriter
from koppel_testing.receivers import ReceivedMail, Receiver, SmtpSink

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CONSULTANTS_IN_BATCH = 30


async def test_sigkill_mid_batch_loses_nothing_and_doubles_no_email(
    fresh_database: str,
    kafka: str,
    kafka_io: TopicWriter,
    smtp_sink: SmtpSink,
    receiver: Receiver,
    wait: Wait,
    unique_id: str,
    tmp_path: Path,
) -> None:
    group_id = f"notifier-crash-{unique_id}-{uuid.uuid4().hex[:6]}"
    await start_group_at_end(kafka, group_id, (MATCHES, CONSULTANTS, RESPONSES))
    port = free_port()
    env = notifier_env(
        database_url=fresh_database,
        kafka=kafka,
        smtp=smtp_sink,
        group_id=group_id,
        NOTIFIER_PORT=str(port),
        NOTIFIER_EMAIL_CONCURRENCY="1",
        NOTIFIER_LEASE_SECONDS="5",
        NOTIFIER_WEBHOOK_TOTAL_TIMEOUT="4",
        NOTIFIER_RETRY_SCHEDULE="0,0.5,0.5,0.5,0.5,0.5",
        LOG_JSON="true",
    )
    consultants = [f"c-crash{index}-{unique_id}" for index in range(CONSULTANTS_IN_BATCH)]
    addresses = {f"{consultant}@example.org" for consultant in consultants}
    paths = {consultant: f"crash-{consultant}" for consultant in consultants}
    for path in paths.values():
        receiver.script(path, delay_s=0.3)

    first = ServiceProcess.start("koppel_notifier", env, port, tmp_path / "first.log")
    killed = asyncio.get_running_loop().create_future()
    rcpts = Counter[str]()

    def kill_at_fifth_email(address: str) -> None:
        if address not in addresses or killed.done():
            return
        rcpts["seen"] += 1
        if rcpts["seen"] == 5:
            first.kill()
            killed.get_loop().call_soon_threadsafe(killed.set_result, True)

    smtp_sink.handler.on_rcpt = kill_at_fifth_email
    try:
        # Migrations, the producer and the group join: 12-16 s here under a load average of
        # 5, so the bound is a deadline with room.
        await first.wait_ready(within=90)
        for consultant in consultants:
            await kafka_io.profile(
                receiver.subscriber(
                    consultant,
                    paths[consultant],
                    channels=["email", "webhook"],
                    email=f"{consultant}@example.org",
                )
            )
        match_ids = {
            consultant: await kafka_io.found(consultant, builders.assignment(f"a-{unique_id}"))
            for consultant in consultants
        }
        await asyncio.wait_for(killed, 60)
        assert first.process.returncode == -signal.SIGKILL
        emails_before = _emails(smtp_sink, addresses)
        assert 0 < len(emails_before) < CONSULTANTS_IN_BATCH  # killed mid-batch
    finally:
        smtp_sink.handler.on_rcpt = None
        first.kill()

    second = ServiceProcess.start("koppel_notifier", env, port, tmp_path / "second.log")
    try:
        await wait(
            lambda: (
                len({m.message_id for m in _emails(smtp_sink, addresses)}) == CONSULTANTS_IN_BATCH
            ),
            within=90,
            what="every email after the restart",
        )
        await wait(
            lambda: all(receiver.at(path) for path in paths.values()),
            within=60,
            what="every webhook after the restart",
        )
        await asyncio.sleep(2.0)  # let any straggling retry show up

        emails = _emails(smtp_sink, addresses)
        per_id = Counter(mail.message_id for mail in emails)
        assert len(emails) == CONSULTANTS_IN_BATCH, per_id.most_common(3)
        assert {address for mail in emails for address in mail.rcpt_tos} == addresses

        for consultant, path in paths.items():
            hooks = receiver.at(path)
            ids = {hook.headers["webhook-id"] for hook in hooks}
            assert len(ids) == 1, f"{consultant}: duplicates must share one webhook-id"
            assert match_ids[consultant].encode() in hooks[0].body
    finally:
        second.stop()


def _emails(smtp_sink: SmtpSink, addresses: set[str]) -> list[ReceivedMail]:
    return [mail for mail in list(smtp_sink.handler.messages) if set(mail.rcpt_tos) & addresses]
