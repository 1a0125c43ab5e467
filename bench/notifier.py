"""Benchmark of the notifier: signed webhooks and emails per second to local receivers.

Runs the real service (`python -m koppel_notifier`, a subprocess) against the local Kafka
and PostgreSQL, a minimal keep-alive HTTP receiver and an aiosmtpd server in this process.

* Webhooks: `--webhooks` match events for `--consultants` webhook consultants (one URL each)
  are published first; then the notifier starts and works through the backlog: consume,
  record deliveries, sign, POST, record outcomes, publish `notification.delivered`. The rate
  is deliveries received / time from the notifier being ready to the last one received.
  A sample of the signatures is verified with `standardwebhooks`.
* Emails: `--emails` match events for email consultants are then published to the running
  notifier; the rate is emails received / time from the first publish to the last email.

Prints a summary and writes JSON (keys `notifier_webhooks_per_s`, `notifier_emails_per_s`).
Run from the repository root, with Kafka and PostgreSQL up (`bash deploy/local/up.sh`):

    uv run python bench/notifier.py [--webhooks 5000 --emails 1000 --consultants 200
                                     --out bench/results/notifier.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from http_requests import take_requests
from standardwebhooks import Webhook

from koppel.cloudevents import encode, new_event
from koppel.contract import (
    Assignment,
    AssignmentSummary,
    ConsultantProfile,
    MatchFound,
    match_id_for,
)
from koppel.event_types import EventType, Source
from koppel.topic_reconciliation import ensure_topics
from koppel.topics import CONSULTANTS, MATCHES
from koppel_demo.sandbox import drop_database, free_port, start_group_at_end
from koppel_demo.secret_keys import development_secret_keys

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # noqa: S105 - the spec's public test key
TODAY = date.today()


class WebhookSink(asyncio.Protocol):
    """HTTP/1.1 keep-alive receiver: records each webhook, answers 204 at once."""

    received: list[tuple[float, bytes, dict[str, str]]] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._buffer = b""

    def data_received(self, data: bytes) -> None:
        requests, self._buffer = take_requests(self._buffer + data)
        for request in requests:
            WebhookSink.received.append((time.perf_counter(), request.body, request.headers))
            self._transport.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")


class MailSink:
    def __init__(self) -> None:
        self.received: list[float] = []

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        self.received.append(time.perf_counter())
        return "250 OK"


def assignment(index: int) -> Assignment:
    return Assignment.model_validate(
        {
            "id": f"bench-a-{index}",
            "title": f"Communicatieadviseur participatie {index}",
            "organization": {
                "name": "Gemeente Zeist",
                "type": "municipality",
                "inhabitants": 65_000,
            },
            "location": {"city": "Zeist", "province": "utrecht"},
            "level": "senior",
            "assignment_type": "project",
            "disciplines_required": ["citizen_participation"],
            "hours_per_week": {"min": 28, "max": 32},
            "start_date": (TODAY + timedelta(days=14)).isoformat(),
            "duration_months": 6,
            "office_days_per_week": 2,
        }
    )


def profile(consultant_id: str, channel: str, webhook_url: str) -> ConsultantProfile:
    notification: dict[str, Any] = {"channels": [channel], "min_score": 0.5}
    if channel == "webhook":
        notification |= {"webhook_url": webhook_url, "webhook_secret": SECRET}
    return ConsultantProfile.model_validate(
        {
            "id": consultant_id,
            "name": "Anouk de Vries",
            "email": f"{consultant_id}@example.org",
            "level": "senior",
            "years_experience": 9,
            "disciplines": ["citizen_participation"],
            "home": {"city": "Utrecht", "province": "utrecht"},
            "max_office_days_per_week": 3,
            "available_from": TODAY.isoformat(),
            "hours_per_week": {"min": 24, "max": 32},
            "consent": True,
            "notification": notification,
        }
    )


async def publish(
    producer: AIOKafkaProducer, consultants: list[str], matches: int, channel: str, port: int
) -> None:
    sends = []
    for consultant in consultants:
        data = profile(consultant, channel, f"http://127.0.0.1:{port}/hooks/{consultant}")
        event = new_event(
            EventType.CONSULTANT_UPSERTED, source=Source.INTAKE, subject=consultant, data=data
        )
        value, headers = encode(event)
        sends.append(
            await producer.send(CONSULTANTS, value, key=consultant.encode(), headers=headers)
        )
    await asyncio.gather(*sends)
    sends = []
    for index in range(matches):
        consultant = consultants[index % len(consultants)]
        summary = AssignmentSummary.of(assignment(index))
        found = MatchFound(
            match_id=match_id_for(summary.id, consultant),
            consultant_id=consultant,
            assignment=summary,
            score=0.8,
            reasons=["Je beheerst het gevraagde vakgebied", "Niveau past precies"],
        )
        event = new_event(
            EventType.MATCH_FOUND, source=Source.MATCHER, subject=consultant, data=found
        )
        value, headers = encode(event)
        sends.append(await producer.send(MATCHES, value, key=consultant.encode(), headers=headers))
    await asyncio.gather(*sends)


async def wait_ready(port: int, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(600):
            if process.poll() is not None:
                raise SystemExit(f"notifier exited with {process.returncode}")
            try:
                if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise SystemExit("notifier did not become ready")


async def wait_count(counter: Any, expected: int, within: float) -> None:
    deadline = time.monotonic() + within
    while len(counter()) < expected:
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out: {len(counter())} of {expected} arrived")
        await asyncio.sleep(0.01)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    server_dsn = os.environ.get("DATABASE_URL", "postgresql://koppel:koppel@127.0.0.1:5432/koppel")
    await ensure_topics(bootstrap)
    run_id = uuid.uuid4().hex[:8]
    database = f"koppel_bench_notifier_{run_id}"
    admin = await asyncpg.connect(server_dsn)
    await admin.execute(f'CREATE DATABASE "{database}"')
    await admin.close()
    dsn = f"{server_dsn.rpartition('/')[0]}/{database}"

    loop = asyncio.get_running_loop()
    hook_port = free_port()
    hook_server = await loop.create_server(WebhookSink, "127.0.0.1", hook_port, backlog=1024)
    mail = MailSink()
    smtp_port = free_port()
    smtp = Controller(mail, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    group = f"bench-notifier-{run_id}"
    await start_group_at_end(bootstrap, group, (MATCHES, CONSULTANTS))
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=10)
    await producer.start()
    http_port = free_port()
    env = {
        **os.environ,
        "KOPPEL_ENVIRONMENT": "development",
        **development_secret_keys(),
        "DATABASE_URL": dsn,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "SMTP_FROM": "Koppel <opdrachten@koppel.bench>",
        "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8,::1/128",
        "NOTIFIER_GROUP_ID": group,
        "NOTIFIER_PORT": str(http_port),
        "LOG_LEVEL": "WARNING",
        "LOG_JSON": "true",
    }
    notifier: subprocess.Popen[bytes] | None = None
    try:
        webhook_consultants = [f"bench-w{index}-{run_id}" for index in range(args.consultants)]
        await publish(producer, webhook_consultants, args.webhooks, "webhook", hook_port)
        # Popen returns at once; the service under test runs beside this event loop.
        notifier = subprocess.Popen(  # noqa: ASYNC220 - our own service, fixed argv
            [sys.executable, "-m", "koppel_notifier"], env=env
        )
        await wait_ready(http_port, notifier)
        started = time.perf_counter()
        await wait_count(lambda: WebhookSink.received, args.webhooks, args.timeout)
        webhook_elapsed = WebhookSink.received[args.webhooks - 1][0] - started
        first_hook = WebhookSink.received[0][0]
        for _, body, headers in WebhookSink.received[:: max(1, args.webhooks // 50)]:
            Webhook(SECRET).verify(body, headers)
        ids = {headers["webhook-id"] for _, _, headers in WebhookSink.received}

        email_consultants = [f"bench-e{index}-{run_id}" for index in range(args.consultants)]
        email_started = time.perf_counter()
        await publish(producer, email_consultants, args.emails, "email", hook_port)
        await wait_count(lambda: mail.received, args.emails, args.timeout)
        email_elapsed = mail.received[args.emails - 1] - email_started
    finally:
        if notifier is not None:
            notifier.send_signal(signal.SIGTERM)
            try:
                notifier.wait(timeout=20)
            except subprocess.TimeoutExpired:
                notifier.kill()
        await producer.stop()
        smtp.stop()
        hook_server.close()
        await drop_database(server_dsn, database)
    return {
        "benchmark": "notifier",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "webhooks": args.webhooks,
        "emails": args.emails,
        "consultants_per_channel": args.consultants,
        "notifier_webhooks_per_s": round(args.webhooks / webhook_elapsed, 1),
        "notifier_webhook_send_phase_per_s": round(
            args.webhooks / (WebhookSink.received[args.webhooks - 1][0] - first_hook), 1
        ),
        "notifier_emails_per_s": round(args.emails / email_elapsed, 1),
        "webhook_duplicates": len(WebhookSink.received) - len(ids),
        "method": (
            "webhooks: backlog of match events published, then notifier started; rate ="
            " deliveries / (ready → last received). emails: matches published to the running"
            " notifier; rate = emails / (first publish → last received). Includes Kafka"
            " consumption, PostgreSQL delivery records, signing/rendering and outcome events."
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--webhooks", type=int, default=5000)
    parser.add_argument("--emails", type=int, default=1000)
    parser.add_argument("--consultants", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--out", type=Path, default=Path("bench/results/notifier.json"))
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print(
        f"webhooks: {result['notifier_webhooks_per_s']:>8} /s end to end"
        f"  ({result['notifier_webhook_send_phase_per_s']} /s first→last delivery)"
    )
    print(f"emails:   {result['notifier_emails_per_s']:>8} /s end to end")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
