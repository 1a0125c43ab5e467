"""`make chaos`: the fault tests. Under a steady load, break things; nothing may be lost.

Runs on a Kafka broker and a PostgreSQL cluster of its own (`isolated_infra`, free ports,
state under `.local/chaos/`), never on the shared ones, which it would otherwise restart
under other people's tests. On them: intake, matcher and notifier as subprocesses
(`stack.py`), webhook endpoints (`hostile_webhooks.py`) and an SMTP sink in this process,
and consultants half on the webhook channel, half on email. Each assignment upsert is
built to match exactly one consultant (`payloads.pinned_assignment`); every `202` goes
into the scenario's ledger. Scenarios, each with its own ledger, drained and judged
before the next:

* steady — no fault: the baseline (latency; zero redeliveries expected);
* matcher-kills / notifier-kills — SIGKILL the service `--kills` times, `--kill-gap`
  (±50%) apart, restarting it at once (the notifier's kills land mid-delivery);
* kafka-restart — stop the broker (SIGTERM) under load, keep it down `--outage` s, start
  it; the intake answers 503 meanwhile (counted as refused; those events are not owed);
* postgres-restart — the same with PostgreSQL (fast shutdown);
* hostile-webhooks — besides healthy endpoints: one that answers 500 to the first attempt
  of each message (then recovers), one that always answers 500 (dead-lettered after the
  retry schedule: a `notification.failed` is expected), one that never answers (the
  notifier's 15 s total timeout; also ends in `notification.failed`), and one that drips
  its answer a byte every 0.4 s; healthy deliveries' latency is printed;
* second-notifier (diagnostic, only when named) — a second notifier with a database and
  group of its own reads the same topics: its webhooks are flagged as foreign.

Judged per scenario (`chaos_audit.judge`): accepted; expected; delivered; lost (no
delivery, or no `notification.failed` where failure is the expected end); duplicate emails
(a second Message-ID for one event); emails resent with the same Message-ID (a SIGKILL
between the relay's 250 and the notifier recording it: SMTP's one window, RFC 1047;
reported, allowed like webhook redeliveries); duplicate webhooks (a second `webhook-id`
for one event); matches emitted twice (the matches topic holds two `match.found` for one
event); redeliveries (the same `webhook-id` answered 2xx again: at-least-once, allowed,
reported); webhooks from foreign processes; and stuck consumers (a service not ready,
or consumer lag not back to 0, after the drain; or an intake that is ready but refuses
everything once the broker is back). A service that exits on its own (e.g. when
PostgreSQL goes away) is restarted, as Kubernetes would, and counted. Exits 1 when any
scenario loses, duplicates or leaves a consumer stuck.

    uv run python bench/chaos.py [--quick] [--kills 20] [--rate 20] [--scenarios a,b]
        [--json bench/results/chaos.json] [--dump file]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from chaos_audit import (
    Entry,
    RecordingMailSink,
    TopicRecords,
    Verdict,
    consumer_lag,
    judge,
    read_topics,
)
from hostile_webhooks import Behaviour, HostileWebhooks
from isolated_infra import IsolatedInfra
from payloads import pinned_assignment, pinned_consultant
from stack import TOKEN, Stack

from koppel_demo.sandbox import free_port, free_ports

SCENARIOS = (
    "steady",
    "matcher-kills",
    "notifier-kills",
    "postgres-restart",
    "hostile-webhooks",
    "kafka-restart",
)
DIAGNOSTICS = ("second-notifier",)
HOSTILE = (Behaviour.FLAKY, Behaviour.FAILING, Behaviour.HANGING, Behaviour.DRIPPING)
# Short, so a failing endpoint is dead-lettered within the run: three attempts.
RETRY_SCHEDULE = "0s,1s,2s"


@dataclass
class Consultant:
    index: int
    id: str
    channel: str
    behaviour: Behaviour


@dataclass
class Load:
    """Assignment upserts at a steady rate over `targets`; 202s go into the ledger."""

    client: httpx.AsyncClient
    run_id: str
    targets: list[Consultant]
    sequence: Callable[[], int]
    ledger: dict[str, Entry] = field(default_factory=dict)
    refused: Counter[str] = field(default_factory=Counter)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def send(self, consultant: Consultant) -> None:
        task = asyncio.create_task(self._send(consultant, self.sequence()))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, consultant: Consultant, sequence: int) -> None:
        assignment_id, body = pinned_assignment(self.run_id, sequence, consultant.index)
        sent_at = time.time()
        try:
            response = await self.client.put(f"/v1/assignments/{assignment_id}", json=body)
        except httpx.HTTPError as exc:
            self.refused[type(exc).__name__] += 1
            return
        if response.status_code == 202:
            self.ledger[assignment_id] = Entry(
                consultant.id, consultant.channel, consultant.behaviour, sent_at
            )
        else:
            self.refused[str(response.status_code)] += 1

    async def run(self, rate: float) -> None:
        turn = 0
        while not self._stop.is_set():
            self.send(self.targets[turn % len(self.targets)])
            turn += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=1 / rate)
        while self._tasks:
            await asyncio.gather(*self._tasks)

    def stop(self) -> None:
        self._stop.set()


Fault = Callable[[Load], Awaitable[dict[str, Any]]]


@dataclass
class Harness:
    args: argparse.Namespace
    infra: IsolatedInfra
    stack: Stack
    hooks: HostileWebhooks
    mail: RecordingMailSink
    client: httpx.AsyncClient
    consultants: list[Consultant]
    crashes: Counter[str] = field(default_factory=Counter)
    _sequence: int = 0

    def next_sequence(self) -> int:
        """One sequence across scenarios, so assignment ids never repeat within a run."""
        self._sequence += 1
        return self._sequence

    @property
    def healthy(self) -> list[Consultant]:
        return [c for c in self.consultants if c.behaviour is Behaviour.OK]

    async def supervise(self) -> None:
        """Restart a service that exited on its own (as Kubernetes would) and count it."""
        while True:
            await asyncio.sleep(0.5)
            for name, service in self.stack.services.items():
                if service.exited():
                    self.crashes[name] += 1
                    print(f"[chaos] {name} exited on its own; restarting it")
                    service.start()

    async def scenario(self, name: str) -> Verdict:
        print(f"[chaos] --- {name} ---", flush=True)
        started = time.monotonic()
        crashes_before = Counter(self.crashes)
        load = Load(self.client, self.stack.run_id, self.healthy, self.next_sequence)
        running = asyncio.create_task(load.run(self.args.rate))
        try:
            notes = await self._faults()[name](load)
        finally:
            load.stop()
            await running
        print(f"[chaos] {name}: load stopped, {len(load.ledger)} accepted; draining", flush=True)
        drain_started = time.monotonic()
        stuck = await self.settle(load)
        drained_in = round(time.monotonic() - drain_started, 1)
        verdict = self.judge(name, load, await read_topics(self.infra.bootstrap, load.ledger))
        verdict.stuck = notes.pop("stuck", []) + stuck
        verdict.notes = {
            **notes,
            "crash_restarts": dict(self.crashes - crashes_before),
            "drain_s": drained_in,
            "seconds": round(time.monotonic() - started, 1),
        }
        if self.args.dump is not None:
            dump = {
                "ledger": {a: asdict(e) for a, e in load.ledger.items()},
                "attempts": [asdict(a) for a in self.hooks.attempts],
                "emails": self.mail.emails,
            }
            path = self.args.dump.with_name(f"{self.args.dump.stem}-{name}.json")
            path.write_text(json.dumps(dump, indent=1))
        print_verdict(verdict)
        return verdict

    def judge(self, name: str, load: Load, topics: TopicRecords) -> Verdict:
        return judge(
            name,
            load.ledger,
            load.refused,
            list(self.hooks.attempts),
            list(self.mail.emails),
            topics,
            [],
        )

    async def settle(self, load: Load) -> list[str]:
        """Wait for every expected outcome while they keep coming; then who is stuck.

        A backlog (the pipeline is slower than the load while a service is down) is not a
        loss: the wait ends when nothing has arrived for `--drain` s, or after `--drain-max`.
        """
        started = last_progress = time.monotonic()
        missing = len(load.ledger) + 1
        while time.monotonic() - started < self.args.drain_max:
            topics = await read_topics(self.infra.bootstrap, load.ledger)
            still_missing = len(self.judge("", load, topics).lost)
            if still_missing == 0:
                break
            if still_missing < missing:
                missing, last_progress = still_missing, time.monotonic()
            elif time.monotonic() - last_progress > self.args.drain:
                break
            await asyncio.sleep(2)
        return await self.stuck()

    async def stuck(self, within: float = 30) -> list[str]:
        """Consumers not answering or with lag left after up to `within` s."""
        deadline = time.monotonic() + within
        while True:
            stuck = []
            for name in ("matcher", "notifier"):
                lag = await consumer_lag(self.stack.services[name].port)
                if lag is None or lag > 0:
                    stuck.append(f"{name} (lag {lag})")
            if not stuck or time.monotonic() > deadline:
                return stuck
            await asyncio.sleep(1)

    def _faults(self) -> dict[str, Fault]:
        return {
            "steady": self.steady,
            "matcher-kills": lambda load: self.kill_repeatedly("matcher"),
            "notifier-kills": lambda load: self.kill_repeatedly("notifier"),
            "kafka-restart": lambda load: self.restart("kafka", load),
            "postgres-restart": lambda load: self.restart("postgres", load),
            "hostile-webhooks": self.hostile,
            "second-notifier": self.second_notifier,
        }

    async def steady(self, load: Load) -> dict[str, Any]:
        await asyncio.sleep(self.args.steady)
        return {}

    async def kill_repeatedly(self, name: str) -> dict[str, Any]:
        service = self.stack.services[name]
        ready_in = []
        gap = self.args.kill_gap
        await asyncio.sleep(gap)
        for number in range(1, self.args.kills + 1):
            await asyncio.sleep(random.uniform(gap / 2, gap * 1.5))  # noqa: S311 - jitter
            service.kill()
            service.start()
            ready_in.append(await service.wait_ready())
            print(
                f"[chaos] {name} killed {number}/{self.args.kills}, ready in {ready_in[-1]:.1f} s"
            )
        await asyncio.sleep(gap)
        ready_in.sort()
        return {
            "kills": len(ready_in),
            "ready_after_kill_median_s": round(ready_in[len(ready_in) // 2], 1)
            if ready_in
            else None,
            "ready_after_kill_max_s": round(max(ready_in, default=0.0), 1),
        }

    async def restart(self, what: str, load: Load) -> dict[str, Any]:
        await asyncio.sleep(self.args.before)
        restart = self.infra.restart_kafka if what == "kafka" else self.infra.restart_postgres
        stopping, starting = await restart(self.args.outage)
        print(
            f"[chaos] {what} stopped in {stopping:.1f} s, kept down {self.args.outage:.0f} s,"
            f" started in {starting:.1f} s"
        )
        began = time.monotonic()
        ready = {}
        for name, service in self.stack.services.items():
            await service.wait_ready()
            ready[name] = round(time.monotonic() - began, 1)
        stuck = await self.intake_accepts_again(load)
        await asyncio.sleep(self.args.after)
        return {
            "stop_s": round(stopping, 1),
            "down_s": self.args.outage,
            "start_s": round(starting, 1),
            "services_ready_after_start_s": ready,
            "stuck": stuck,
        }

    async def intake_accepts_again(self, load: Load, within: float = 15) -> list[str]:
        """[] once the intake accepts again; else restart it (the run goes on) and say so."""
        accepted = len(load.ledger)
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            if len(load.ledger) > accepted:
                return []
        intake = self.stack.services["intake"]
        print(f"[chaos] intake still refuses everything {within:.0f} s later; restarting it")
        intake.kill()
        intake.start()
        await intake.wait_ready()
        return [f"intake (ready, but refused every request for {within:.0f} s; restarted)"]

    async def hostile(self, load: Load) -> dict[str, Any]:
        """Healthy load all along; `--hostile-events` messages to each hostile endpoint."""
        hostile = [c for c in self.consultants if c.behaviour is not Behaviour.OK]
        for _ in range(self.args.hostile_events):
            for consultant in hostile:
                load.send(consultant)
            await asyncio.sleep(self.args.steady / self.args.hostile_events)
        return {"retry_schedule": RETRY_SCHEDULE}

    async def second_notifier(self, load: Load) -> dict[str, Any]:
        """Diagnostic: another notifier (own database and group) reads the same topics.

        Its group starts at the beginning (the notifier's default, as for the demo's
        notifier on the shared broker), so it knows the run's consultants.
        What happened on the shared broker, where other tests' notifiers ran: each one
        delivers the run's matches too, with the same `webhook-id` (derived from the match),
        so the endpoint sees every webhook twice. Its email goes to a sink of its own.
        """
        sink = Controller(RecordingMailSink(), hostname="127.0.0.1", port=free_port())
        sink.start()
        other = Stack(
            smtp_port=sink.port,
            bootstrap=self.infra.bootstrap,
            server_dsn=self.infra.server_dsn,
            env=self.stack.env,
            notifier_from_start=True,
        )
        try:
            await other.start(only=("notifier",))
            await asyncio.sleep(self.args.steady)
            ours = {a.webhook_id for a in self.hooks.attempts if a.sender == "ours"}
            await asyncio.sleep(5)
        finally:
            await other.stop()
            sink.stop()
        foreign = [a for a in self.hooks.attempts if a.sender.startswith("foreign")]
        return {
            "foreign_requests": len(foreign),
            "foreign_with_a_webhook_id_ours_also_sent": sum(a.webhook_id in ours for a in foreign),
            "foreign_sender_example": foreign[0].sender if foreign else None,
        }


def print_verdict(v: Verdict) -> None:
    print(
        f"[chaos] {v.scenario}: accepted {v.accepted} (refused {v.refused}); expected"
        f" {v.expected_deliveries} deliveries + {v.expected_failures} failure reports;"
        f" delivered {v.delivered}, failure reports {v.failure_reports}; lost {len(v.lost)}"
        f" {v.lost[:3]}; duplicate emails {v.duplicate_emails} (resent with the same"
        f" Message-ID {v.email_resends}), duplicate webhooks"
        f" {v.duplicate_webhooks}, matches emitted twice {v.matches_emitted_twice};"
        f" redeliveries {v.redeliveries}, foreign webhooks {v.foreign_webhooks},"
        f" failed attempts {v.failed_attempts}; healthy latency ms {v.latency_ms};"
        f" stuck {v.stuck}; {v.notes} -> {'PASS' if v.passed else 'FAIL'}",
        flush=True,
    )


def consultants_for(run_id: str, count: int, scenarios: list[str]) -> list[Consultant]:
    """`count` healthy ones (alternately webhook and email), then one per hostile behaviour."""
    consultants = [
        Consultant(i, f"bench-{run_id}-c{i}", "webhook" if i % 2 == 0 else "email", Behaviour.OK)
        for i in range(count)
    ]
    if "hostile-webhooks" in scenarios:
        for offset, behaviour in enumerate(HOSTILE):
            index = count + offset
            consultants.append(Consultant(index, f"bench-{run_id}-c{index}", "webhook", behaviour))
    return consultants


async def run(args: argparse.Namespace) -> list[Verdict]:
    infra = IsolatedInfra()
    mail = RecordingMailSink()
    smtp = Controller(mail, hostname="127.0.0.1", port=free_port())
    stack = Stack(
        smtp_port=smtp.port,
        bootstrap=infra.bootstrap,
        server_dsn=infra.server_dsn,
        env={"notifier": {"NOTIFIER_RETRY_SCHEDULE": RETRY_SCHEDULE}},
        run_id=infra.run_id,
    )
    hooks = HostileWebhooks(
        our_pids=lambda: (
            set(stack.services["notifier"].pids) if "notifier" in stack.services else set()
        )
    )
    consultants = consultants_for(infra.run_id, args.consultants, args.scenarios)
    verdicts: list[Verdict] = []
    supervisor: asyncio.Task[None] | None = None
    print(f"[chaos] isolated Kafka {infra.bootstrap}, PostgreSQL {infra.server_dsn}", flush=True)
    try:
        started = time.monotonic()
        await infra.start()
        smtp.start()
        await hooks.start(free_ports(len(Behaviour)))
        await stack.start()
        print(f"[chaos] infrastructure and services up in {time.monotonic() - started:.1f} s")
        async with httpx.AsyncClient(
            base_url=stack.intake_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
        ) as client:
            for consultant in consultants:
                _, body = pinned_consultant(
                    infra.run_id,
                    consultant.index,
                    hooks.base_url(consultant.behaviour),
                    channel=consultant.channel,
                )
                response = await client.put(f"/v1/consultants/{consultant.id}", json=body)
                response.raise_for_status()
            harness = Harness(args, infra, stack, hooks, mail, client, consultants)
            supervisor = asyncio.create_task(harness.supervise())
            for name in args.scenarios:
                verdicts.append(await harness.scenario(name))
    finally:
        if supervisor is not None:
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
        await stack.stop()
        await hooks.stop()
        smtp.stop()
        await infra.stop()
    return verdicts


def summary(verdicts: list[Verdict]) -> str:
    """The Markdown table for docs/benchmarks.md."""
    rows = [
        "| scenario | accepted | refused (5xx) | expected | delivered | failure reports"
        " | lost | duplicate emails | emails resent (same Message-ID) | duplicate matches"
        " | webhook redeliveries (same webhook-id) | healthy webhook p50 / p95 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for v in verdicts:
        latency = f"{v.latency_ms.get('p50', '–')} / {v.latency_ms.get('p95', '–')}"
        expected = f"{v.expected_deliveries}" + (
            f" + {v.expected_failures} failed" if v.expected_failures else ""
        )
        rows.append(
            f"| {v.scenario} | {v.accepted} | {sum(v.refused.values())} | {expected}"
            f" | {v.delivered} | {v.failure_reports} | {len(v.lost)} | {v.duplicate_emails}"
            f" | {v.email_resends}"
            f" | {v.duplicate_webhooks + v.matches_emitted_twice} | {v.redeliveries}"
            f" | {latency} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kills", type=int, default=20, help="SIGKILLs per service")
    parser.add_argument("--kill-gap", type=float, default=2, help="seconds between kills (±50%%)")
    parser.add_argument("--rate", type=float, default=10, help="assignment upserts per second")
    parser.add_argument("--consultants", type=int, default=40, help="healthy consultants")
    parser.add_argument("--steady", type=float, default=20, help="seconds of steady load")
    parser.add_argument("--before", type=float, default=8, help="load before a restart, s")
    parser.add_argument("--outage", type=float, default=5, help="seconds a server stays down")
    parser.add_argument("--after", type=float, default=10, help="load after a restart, s")
    parser.add_argument("--hostile-events", type=int, default=3, help="per hostile endpoint")
    parser.add_argument(
        "--drain", type=float, default=60, help="give up after this many s without progress"
    )
    parser.add_argument("--drain-max", type=float, default=900, help="longest drain, s")
    parser.add_argument(
        "--scenarios",
        type=lambda text: [s for s in text.split(",") if s],
        default=list(SCENARIOS),
        help=f"comma-separated, from {','.join(SCENARIOS + DIAGNOSTICS)}",
    )
    parser.add_argument(
        "--quick", action="store_true", help="2 kills each, 10/s, short phases, no restarts"
    )
    parser.add_argument("--json", type=Path, help="write the verdicts as JSON")
    parser.add_argument("--dump", type=Path, help="write ledger and arrivals per scenario")
    args = parser.parse_args()
    if args.quick:
        args.kills, args.rate, args.consultants, args.steady, args.kill_gap = 2, 10, 10, 4, 1
        if args.scenarios == list(SCENARIOS):
            args.scenarios = ["steady", "matcher-kills", "notifier-kills"]
    unknown = set(args.scenarios) - set(SCENARIOS) - set(DIAGNOSTICS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    started = time.monotonic()
    verdicts = asyncio.run(run(args))
    load_average = os.getloadavg()
    print()
    print(summary(verdicts))
    print(
        f"\nwall clock {time.monotonic() - started:.0f} s; load average at the end"
        f" {load_average[0]:.1f} / {load_average[1]:.1f} / {load_average[2]:.1f}"
    )
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "args": {
                        k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                    },
                    "load_average": load_average,
                    "verdicts": [asdict(v) | {"passed": v.passed} for v in verdicts],
                },
                indent=1,
            )
        )
    failed = [v.scenario for v in verdicts if not v.passed]
    print("RESULT:", f"FAIL ({', '.join(failed)})" if failed else "PASS")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
