"""End to end: intake HTTP → Kafka → matcher → Kafka → notifier → webhook received.

`Pipeline` owns a `Stack` (the three services as subprocesses on a fresh database), an SMTP
sink and a webhook receiver in this process that records when each webhook arrives. It
registers `consultants` benchmark consultants through the intake (webhook channel pointing
at the receiver), then sends assignment upserts each built to match exactly one of them
(`payloads.pinned_assignment`), so one accepted event means one webhook.

* `steady(rate, seconds)`: requests scheduled at a fixed rate; latency is measured from the
  *scheduled* send time (so a slow intake cannot hide queueing: no coordinated omission) to
  the webhook's arrival.
* `burst(events, concurrency)`: as fast as the intake accepts; the pipeline's rate is
  webhooks received / (first send → last webhook).

Both report `cpu_ms_per_event`: the CPU each part of the stack (services, Kafka broker,
PostgreSQL backends, this process) spent per delivered webhook (`cpu_usage.py`), and the
load average at the end of the phase (the machine is shared: read figures with it).

At the end the benchmark consultants are erased through the intake (tombstones), so they do
not linger on the shared topics.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from cpu_usage import CpuMeter, ms_per_event
from http_requests import take_requests
from payloads import pinned_assignment, pinned_consultant
from raw_http import RawHttpClient
from stack import BOOTSTRAP, SERVER_DSN, TOKEN, Stack

from koppel_demo.sandbox import free_port


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@dataclass
class Arrival:
    at: float
    webhook_id: str
    kind: str
    assignment_id: str


class WebhookReceiver(asyncio.Protocol):
    """HTTP/1.1 keep-alive receiver: records each webhook (wall clock) and answers 204."""

    arrivals: list[Arrival] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._buffer = b""

    def data_received(self, data: bytes) -> None:
        requests, self._buffer = take_requests(self._buffer + data)
        for request in requests:
            body = json.loads(request.body)
            WebhookReceiver.arrivals.append(
                Arrival(
                    at=time.time(),
                    webhook_id=request.headers.get("webhook-id", ""),
                    kind=body.get("type", ""),
                    assignment_id=body.get("data", {}).get("assignment", {}).get("id", ""),
                )
            )
            self._transport.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")


class MailSink:
    def __init__(self) -> None:
        self.received = 0

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        self.received += 1
        return "250 OK"


@dataclass
class Pipeline:
    consultants: int = 50
    max_lag: float = 5.0
    bootstrap: str = BOOTSTRAP
    server_dsn: str = SERVER_DSN
    """The broker and server to run on: the shared ones by default, or an `IsolatedInfra`'s
    (then no other stack's traffic or notifier on the shared topics touches the figures)."""
    service_env: dict[str, dict[str, str]] = field(default_factory=dict)
    """Extra environment per service (e.g. `{"matcher": {"MATCHER_MAX_BATCH": "100"}}`)."""
    stack: Stack = field(init=False)
    sent_at: dict[str, float] = field(default_factory=dict)
    accepted: set[str] = field(default_factory=set)
    refused: Counter[int] = field(default_factory=Counter)
    sequence: int = 0
    _server: asyncio.Server | None = None
    _smtp: Controller | None = None
    _client: httpx.AsyncClient | None = None
    _load: RawHttpClient | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        hook_port = free_port()
        self._server = await loop.create_server(
            WebhookReceiver, "127.0.0.1", hook_port, backlog=1024
        )
        smtp_port = free_port()
        self._smtp = Controller(MailSink(), hostname="127.0.0.1", port=smtp_port)
        self._smtp.start()
        self.stack = Stack(
            smtp_port=smtp_port,
            bootstrap=self.bootstrap,
            server_dsn=self.server_dsn,
            env=self.service_env,
        )
        await self.stack.start()
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        self._client = httpx.AsyncClient(
            base_url=self.stack.intake_url,
            limits=limits,
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=30,
        )
        self._load = RawHttpClient(
            "127.0.0.1",
            self.stack.services["intake"].port,
            {"Authorization": f"Bearer {TOKEN}"},
        )
        for index in range(self.consultants):
            consultant_id, body = pinned_consultant(
                self.stack.run_id, index, f"http://127.0.0.1:{hook_port}"
            )
            response = await self._client.put(f"/v1/consultants/{consultant_id}", json=body)
            response.raise_for_status()
        # One warm-up event per consultant: the first webhook per origin opens connections.
        await self.burst(self.consultants, concurrency=8)

    async def stop(self) -> None:
        try:
            if self._client is not None:
                for index in range(self.consultants):
                    consultant_id = f"bench-{self.stack.run_id}-c{index}"
                    await self._client.delete(f"/v1/consultants/{consultant_id}")
                await self._client.aclose()
            if self._load is not None:
                await self._load.aclose()
        finally:
            await self.stack.stop()
            if self._smtp is not None:
                self._smtp.stop()
            if self._server is not None:
                self._server.close()

    async def _send(self, scheduled: float) -> str | None:
        assert self._load is not None
        self.sequence += 1
        assignment_id, body = pinned_assignment(
            self.stack.run_id, self.sequence, self.sequence % self.consultants
        )
        self.sent_at[assignment_id] = scheduled
        try:
            status = await self._load.put_json(f"/v1/assignments/{assignment_id}", body)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            self.refused[0] += 1
            return None
        if status != 202:
            self.refused[status] += 1
            return None
        self.accepted.add(assignment_id)
        return assignment_id

    async def stage_counts(self) -> dict[str, float]:
        """Totals of the matcher's and notifier's Prometheus counters: where events wait."""
        counters = {
            "matcher": (
                "koppel_matcher_events_consumed_total",
                "koppel_matcher_matches_emitted_total",
            ),
            "notifier": (
                "koppel_notifier_events_consumed_total",
                "koppel_notifier_deliveries_total",
            ),
        }
        totals: dict[str, float] = {}
        async with httpx.AsyncClient(timeout=5) as client:
            for service, names in counters.items():
                port = self.stack.services[service].port
                try:
                    text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
                except httpx.HTTPError:
                    continue
                for line in text.splitlines():
                    for name in names:
                        if line.startswith(name + "{") or line.startswith(name + " "):
                            totals[name] = totals.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
        return totals

    async def _await_deliveries(self, ids: set[str], within: float) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            arrived = {a.assignment_id for a in WebhookReceiver.arrivals}
            if ids <= arrived:
                return
            await asyncio.sleep(0.05)

    def _summarise(self, ids: set[str], started: float, finished_sending: float) -> dict[str, Any]:
        first: dict[str, float] = {}
        counts: Counter[str] = Counter()
        for arrival in WebhookReceiver.arrivals:
            if arrival.assignment_id in ids and arrival.kind == "match.found":
                counts[arrival.assignment_id] += 1
                first.setdefault(arrival.assignment_id, arrival.at)
        latencies = [first[i] - self.sent_at[i] for i in first]
        last = max(first.values(), default=finished_sending)
        return {
            "accepted": len(ids),
            "delivered": len(first),
            "lost_or_late": len(ids - first.keys()),
            "duplicate_webhooks": sum(count - 1 for count in counts.values()),
            "send_s": finished_sending - started,
            "accepted_per_s": len(ids) / (finished_sending - started),
            "delivered_per_s": len(first) / (last - started) if first else 0.0,
            "p50_ms": percentile(latencies, 0.50) * 1000,
            "p95_ms": percentile(latencies, 0.95) * 1000,
            "p99_ms": percentile(latencies, 0.99) * 1000,
            "max_ms": max(latencies, default=float("nan")) * 1000,
        }

    async def steady(self, rate: float, seconds: float, drain: float = 30) -> dict[str, Any]:
        events = int(rate * seconds)
        meter = CpuMeter(self.stack)
        cpu_before = meter.snapshot()
        started = time.time()
        tasks = []
        for index in range(events):
            scheduled = started + index / rate
            delay = scheduled - time.time()
            outstanding = self.sequence - len(WebhookReceiver.arrivals)
            if delay < -self.max_lag or outstanding > rate * self.max_lag:
                break  # more than max_lag seconds behind: this rate is not sustained
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(self._send(scheduled)))
        ids = {i for i in await asyncio.gather(*tasks) if i is not None}
        finished = time.time()
        stages_at_end_of_sending = await self.stage_counts()
        await self._await_deliveries(ids, drain)
        summary = self._summarise(ids, started, finished)
        return {
            "stages_at_end_of_sending": stages_at_end_of_sending,
            "rate": rate,
            "seconds": seconds,
            "offered": events,
            "scheduled": len(tasks),
            "sustained": len(tasks) == events,
            **summary,
            "cpu_ms_per_event": ms_per_event(cpu_before, meter.snapshot(), summary["delivered"]),
            "load_average": round(os.getloadavg()[0], 2),
        }

    async def burst(self, events: int, concurrency: int = 32, drain: float = 60) -> dict[str, Any]:
        """`events` sends with `concurrency` in flight, as fast as the intake accepts."""
        remaining = iter(range(events))
        return await self._burst(lambda: next(remaining, None) is not None, concurrency, drain)

    async def burst_for(
        self, seconds: float, concurrency: int = 32, drain: float = 30
    ) -> dict[str, Any]:
        """Sends with `concurrency` in flight for `seconds`, as fast as the intake accepts."""
        stop_at = time.time() + seconds
        return await self._burst(lambda: time.time() < stop_at, concurrency, drain)

    async def _burst(
        self, more: Callable[[], bool], concurrency: int, drain: float
    ) -> dict[str, Any]:
        ids: set[str] = set()
        meter = CpuMeter(self.stack)
        cpu_before = meter.snapshot()
        started = time.time()

        async def worker() -> None:
            while more():
                accepted = await self._send(time.time())
                if accepted is not None:
                    ids.add(accepted)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        finished = time.time()
        await self._await_deliveries(ids, drain)
        summary = self._summarise(ids, started, finished)
        return {
            "concurrency": concurrency,
            **summary,
            "cpu_ms_per_event": ms_per_event(cpu_before, meter.snapshot(), summary["delivered"]),
            "load_average": round(os.getloadavg()[0], 2),
        }
