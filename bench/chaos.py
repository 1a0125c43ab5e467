"""`make chaos`: SIGKILL the matcher and the notifier under a steady load; nothing may be lost.

Starts intake, matcher and notifier as subprocesses (fresh database, unique consumer groups;
see `stack.py`), a webhook receiver and an SMTP sink in this process, and consultants half
on the webhook channel and half on email. A steady load of assignment upserts runs through
the intake, each built to match exactly one consultant (`payloads.pinned_assignment`); every
`202` goes into the ledger. Meanwhile the matcher is SIGKILLed `--kills` times (restarted at
once each time, waiting for `/readyz`), then the notifier the same number of times while it
is delivering. Then the load stops, the pipeline drains, and the ledger is compared with what
arrived:

* accepted — events the intake acknowledged (202); expected — one message each;
* delivered — accepted events whose message arrived (webhook or email);
* lost — accepted events whose message never arrived;
* duplicate emails — a second email for one event (never allowed);
* duplicate matches — a second, different webhook (new `webhook-id`) for one event, i.e. the
  matcher emitted the match twice (never allowed);
* webhook redeliveries — the same `webhook-id` again (allowed: at-least-once, receivers
  de-duplicate on it; reported).

Exits 1 on any loss or forbidden duplicate. Run from the repository root with Kafka and
PostgreSQL up:

    uv run python bench/chaos.py [--kills 20] [--quick] [--rate 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import re
import sys
import time
from collections import Counter
from email import message_from_bytes
from pathlib import Path

import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from end_to_end import WebhookReceiver
from payloads import pinned_assignment, pinned_consultant
from stack import TOKEN, Stack, free_port

ASSIGNMENT_IN_SUBJECT = re.compile(r"bench-[0-9a-f]+-a\d+")


class RecordingMailSink:
    """Keeps (assignment id from the subject, Message-ID) of every email."""

    def __init__(self) -> None:
        self.emails: list[tuple[str, str]] = []

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or envelope.content or b""
        message = message_from_bytes(raw if isinstance(raw, bytes) else raw.encode())
        subject = str(message.get("Subject", ""))
        found = ASSIGNMENT_IN_SUBJECT.search(subject)
        self.emails.append((found.group(0) if found else subject, str(message["Message-ID"])))
        return "250 OK"


class Load:
    """Assignment upserts at a steady rate through the intake; 202s go into the ledger."""

    def __init__(self, client: httpx.AsyncClient, run_id: str, consultants: int) -> None:
        self.client = client
        self.run_id = run_id
        self.consultants = consultants
        self.ledger: dict[str, int] = {}  # accepted assignment id → consultant index
        self.refused: Counter[str] = Counter()
        self.sequence = 0
        self._stop = asyncio.Event()

    async def _send(self) -> None:
        self.sequence += 1
        consultant = self.sequence % self.consultants
        assignment_id, body = pinned_assignment(self.run_id, self.sequence, consultant)
        try:
            response = await self.client.put(f"/v1/assignments/{assignment_id}", json=body)
        except httpx.HTTPError as exc:
            self.refused[type(exc).__name__] += 1
            return
        if response.status_code == 202:
            self.ledger[assignment_id] = consultant
        else:
            self.refused[str(response.status_code)] += 1

    async def run(self, rate: float) -> None:
        tasks: set[asyncio.Task[None]] = set()
        while not self._stop.is_set():
            task = asyncio.create_task(self._send())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=1 / rate)
        await asyncio.gather(*tasks)

    def stop(self) -> None:
        self._stop.set()


async def kill_repeatedly(stack: Stack, name: str, kills: int) -> list[float]:
    """SIGKILL `name` `kills` times, 1–3 s apart, each time restarting it; restart seconds."""
    service = stack.services[name]
    restarts = []
    for number in range(1, kills + 1):
        await asyncio.sleep(random.uniform(1, 3))  # noqa: S311 - timing jitter, not crypto
        service.kill()
        service.start()
        restarts.append(await service.wait_ready())
        print(f"[chaos] {name} killed {number}/{kills}, ready again in {restarts[-1]:.1f} s")
    return restarts


async def run(args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    hook_port = free_port()
    server = await loop.create_server(WebhookReceiver, "127.0.0.1", hook_port, backlog=1024)
    mail = RecordingMailSink()
    smtp_port = free_port()
    smtp = Controller(mail, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    stack = Stack(smtp_port=smtp_port)
    channels = {i: ("webhook" if i % 2 == 0 else "email") for i in range(args.consultants)}
    try:
        await stack.start()
        async with httpx.AsyncClient(
            base_url=stack.intake_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
        ) as client:
            for index, channel in channels.items():
                consultant_id, body = pinned_consultant(
                    stack.run_id, index, f"http://127.0.0.1:{hook_port}", channel=channel
                )
                (await client.put(f"/v1/consultants/{consultant_id}", json=body)).raise_for_status()
            load = Load(client, stack.run_id, args.consultants)
            # Warm up until messages flow, so every shard has committed offsets to resume from.
            loading = asyncio.create_task(load.run(args.rate))
            while len(WebhookReceiver.arrivals) < args.consultants // 2:  # noqa: ASYNC110
                await asyncio.sleep(0.2)
            print(f"[chaos] load running at {args.rate}/s, messages flowing")
            matcher_restarts = await kill_repeatedly(stack, "matcher", args.kills)
            notifier_restarts = await kill_repeatedly(stack, "notifier", args.kills)
            load.stop()
            await loading
            print(f"[chaos] load stopped; draining (up to {args.drain:.0f} s)")
            delivered = await drain(load.ledger, channels, mail, args.drain)
            for index in channels:
                await client.delete(f"/v1/consultants/bench-{stack.run_id}-c{index}")
    finally:
        await stack.stop()
        smtp.stop()
        server.close()
    if args.dump is not None:
        args.dump.write_text(
            json.dumps(
                {
                    "ledger": load.ledger,
                    "webhooks": [vars(a) for a in WebhookReceiver.arrivals],
                    "emails": mail.emails,
                },
                indent=1,
            )
        )
    return report(load, channels, mail, delivered, matcher_restarts, notifier_restarts)


def arrived_ids(mail: RecordingMailSink) -> set[str]:
    hooks = {a.assignment_id for a in WebhookReceiver.arrivals if a.kind == "match.found"}
    return hooks | {assignment for assignment, _ in mail.emails}


async def drain(
    ledger: dict[str, int], channels: dict[int, str], mail: RecordingMailSink, within: float
) -> set[str]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and not ledger.keys() <= arrived_ids(mail):  # noqa: ASYNC110
        await asyncio.sleep(0.5)
    return ledger.keys() & arrived_ids(mail)


def report(
    load: Load,
    channels: dict[int, str],
    mail: RecordingMailSink,
    delivered: set[str],
    matcher_restarts: list[float],
    notifier_restarts: list[float],
) -> int:
    # Only the ledger's events count: other work on the shared topics is not ours to judge.
    emails_per_event = Counter(a for a, _ in mail.emails if a in load.ledger)
    hook_ids_per_event: dict[str, set[str]] = {}
    hook_count = Counter[str]()
    for arrival in WebhookReceiver.arrivals:
        if arrival.kind == "match.found" and arrival.assignment_id in load.ledger:
            hook_ids_per_event.setdefault(arrival.assignment_id, set()).add(arrival.webhook_id)
            hook_count[arrival.webhook_id] += 1
    accepted = len(load.ledger)
    lost = sorted(load.ledger.keys() - delivered)
    duplicate_emails = sum(count - 1 for count in emails_per_event.values() if count > 1)
    duplicate_matches = sum(len(ids) - 1 for ids in hook_ids_per_event.values() if len(ids) > 1)
    redeliveries = sum(count - 1 for count in hook_count.values() if count > 1)
    by_channel = Counter(channels[load.ledger[i]] for i in load.ledger)
    print()
    print(f"matcher SIGKILLs:       {len(matcher_restarts)}")
    print(f"notifier SIGKILLs:      {len(notifier_restarts)}")
    print(f"accepted:               {accepted}  ({dict(by_channel)})")
    print(f"refused by the intake:  {sum(load.refused.values())}  {dict(load.refused)}")
    print(f"expected:               {accepted}")
    print(f"delivered:              {len(delivered)}")
    print(f"lost:                   {len(lost)}  {lost[:5]}")
    print(f"duplicate emails:       {duplicate_emails}")
    print(f"duplicate matches:      {duplicate_matches}")
    print(f"webhook redeliveries:   {redeliveries} (same webhook-id; allowed)")
    failed = bool(lost) or duplicate_emails > 0 or duplicate_matches > 0
    print("RESULT:", "FAIL" if failed else "PASS")
    return 1 if failed else 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kills", type=int, default=20, help="SIGKILLs per service")
    parser.add_argument("--quick", action="store_true", help="3 kills per service")
    parser.add_argument("--rate", type=float, default=20, help="assignment upserts per second")
    parser.add_argument("--consultants", type=int, default=40)
    parser.add_argument("--drain", type=float, default=120, help="seconds to wait at the end")
    parser.add_argument("--dump", type=Path, help="write the ledger and what arrived as JSON")
    args = parser.parse_args()
    if args.quick:
        args.kills = 3
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
