"""Benchmark of the matcher service: events per second at realistic scale.

`matcher_core.py` times the pure index; this runs the real service (`python -m
koppel_matcher`, a subprocess with its 6 shards) on a Kafka broker and PostgreSQL cluster of
its own (`IsolatedInfra`: 100,000 profiles on the shared compacted topic would outlive the
run), fed with the demo generator's realistic profiles and assignments (`koppel_demo.data`)
published straight onto the canonical topics as the intake publishes them. Phases:

1. setup: `--assignments` open assignments (10,000), no profiles yet;
2. **profile events against 10,000 open assignments**: `--measured-profiles` profiles;
3. setup: every assignment closed (their matches are withdrawn);
4. **index build**: the rest of the `--profiles` (100,000) profiles, no open assignments;
5. **assignment events against 100,000 profiles**: `--measured-assignments` new assignments.

Each phase's rate is events / (first record sent → the matcher's committed counters show
every record handled, `koppel_matcher_events_consumed_total`, counted once per shard that
reads it: every shard reads every assignment, one shard each profile). Match events
published per second are reported with it: realistic data matches, and publishing the
matches (Kafka transaction, ledger rows) is part of the cost. Plus the matcher's resident
memory with the full index, and its CPU per event.

Prints a table and writes JSON (keys `matcher_profile_events_per_s_10k`,
`matcher_assignment_events_per_s_100k`, `matcher_rss_mb`, ...). Run from the repository root:

    uv run python bench/matcher_service.py [--profiles 100000 --assignments 10000
        --measured-profiles 1000 --measured-assignments 200
        --out bench/results/matcher_service.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from cpu_usage import cpu_seconds
from isolated_infra import IsolatedInfra
from prometheus_client.parser import text_string_to_metric_families
from stack import Stack

from koppel.cloudevents import new_event
from koppel.contract import Assignment, AssignmentClosed, ConsultantProfile
from koppel.contract.common import ContractModel
from koppel.event_types import EventType, Source
from koppel.topics import ASSIGNMENTS, CONSULTANTS, TOPICS
from koppel.vocabulary import CloseReason
from koppel_demo import data
from koppel_intake.service_layer.records import event_record

RESULTS = Path(__file__).resolve().parent / "results"
SHARDS = next(spec.partitions for spec in TOPICS if spec.name == CONSULTANTS)
SEED = 7
TODAY = date(2026, 12, 1)
"""Fixed, so the data (and so the number of matches) is the same in every run."""


def _records(
    kind: EventType, topic: str, items: Sequence[tuple[str, ContractModel]]
) -> list[tuple[bytes, bytes, list[tuple[str, bytes]]]]:
    out = []
    for subject, model in items:
        record = event_record(
            topic, new_event(kind, source=Source.INTAKE.value, subject=subject, data=model)
        )
        assert record.value is not None
        out.append((record.key, record.value, list(record.headers)))
    return out


class MatcherRun:
    def __init__(self, stack: Stack, bootstrap: str) -> None:
        self.stack = stack
        self.bootstrap = bootstrap
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=256 * 1024
        )
        self._http = httpx.AsyncClient(timeout=10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.stack.services['matcher'].port}"

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()
        await self._http.aclose()

    async def counters(self) -> dict[str, float]:
        """`events_consumed` per topic and `matches_emitted` in all, from /metrics."""
        totals: dict[str, float] = {}
        text = (await self._http.get(f"{self.url}/metrics")).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "koppel_matcher_events_consumed_total":
                    key = sample.labels["topic"]
                elif sample.name == "koppel_matcher_matches_emitted_total":
                    key = "matches"
                else:
                    continue
                totals[key] = totals.get(key, 0.0) + sample.value
        return totals

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.stack.services["matcher"].pids[-1])

    def rss_mb(self) -> float:
        pid = self.stack.services["matcher"].pids[-1]
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    async def phase(
        self,
        name: str,
        topic: str,
        records: list[tuple[bytes, bytes, list[tuple[str, bytes]]]],
        *,
        within: float = 1800,
    ) -> dict[str, Any]:
        """Publish `records` on `topic`; wait until the matcher has handled every one."""
        reads = SHARDS if topic == ASSIGNMENTS else 1
        before = await self.counters()
        cpu_before = self.cpu_seconds()
        target = before.get(topic, 0.0) + reads * len(records)
        started = time.monotonic()
        sends = [
            await self._producer.send(topic, value=value, key=key, headers=headers)
            for key, value, headers in records
        ]
        await asyncio.gather(*sends)
        sent = time.monotonic() - started
        while True:
            now = await self.counters()
            if now.get(topic, 0.0) >= target:
                break
            if time.monotonic() - started > within:
                raise RuntimeError(f"{name}: matcher not done within {within} s ({now})")
            await asyncio.sleep(0.1)
        elapsed = time.monotonic() - started
        matches = now.get("matches", 0.0) - before.get("matches", 0.0)
        result = {
            "events": len(records),
            "seconds": round(elapsed, 2),
            "publish_seconds": round(sent, 2),
            "events_per_s": round(len(records) / elapsed, 1),
            "match_events": int(matches),
            "match_events_per_s": round(matches / elapsed, 1),
            "cpu_ms_per_event": round(
                1000 * (self.cpu_seconds() - cpu_before) / max(1, len(records)), 2
            ),
            "rss_mb": round(self.rss_mb(), 1),
        }
        print(f"[matcher-service] {name}: {result}", flush=True)
        return result


async def run(args: argparse.Namespace) -> dict[str, Any]:
    profiles = data.consultants(args.profiles, SEED, today=TODAY)
    openings = data.assignments(args.assignments + args.measured_assignments, SEED, today=TODAY)
    setup_assignments, measured_assignments = (
        openings[: args.assignments],
        openings[args.assignments :],
    )
    measured_profiles, rest = profiles[: args.measured_profiles], profiles[args.measured_profiles :]
    closed_at = datetime.now(UTC)

    def upserts(items: Sequence[Assignment]) -> list[tuple[bytes, bytes, list[tuple[str, bytes]]]]:
        return _records(EventType.ASSIGNMENT_UPSERTED, ASSIGNMENTS, [(a.id, a) for a in items])

    def profile_upserts(
        items: Sequence[ConsultantProfile],
    ) -> list[tuple[bytes, bytes, list[tuple[str, bytes]]]]:
        return _records(EventType.CONSULTANT_UPSERTED, CONSULTANTS, [(p.id, p) for p in items])

    closes = _records(
        EventType.ASSIGNMENT_CLOSED,
        ASSIGNMENTS,
        [
            (
                a.id,
                AssignmentClosed(
                    assignment_id=a.id, reason=CloseReason.FILLED, closed_at=closed_at
                ),
            )
            for a in setup_assignments
        ],
    )
    infra = IsolatedInfra()
    await infra.start()
    try:
        stack = Stack(smtp_port=0, bootstrap=infra.bootstrap, server_dsn=infra.server_dsn)
        await stack.start(only=("matcher",))
        matcher = MatcherRun(stack, infra.bootstrap)
        await matcher.start()
        try:
            phases = {
                "setup_assignments": await matcher.phase(
                    "setup: open assignments", ASSIGNMENTS, upserts(setup_assignments)
                ),
                "profiles_vs_open_assignments": await matcher.phase(
                    f"profile events against {args.assignments:,} open assignments",
                    CONSULTANTS,
                    profile_upserts(measured_profiles),
                ),
                "setup_closes": await matcher.phase(
                    "setup: every assignment closed", ASSIGNMENTS, closes
                ),
                "index_build": await matcher.phase(
                    "profile events, no open assignments", CONSULTANTS, profile_upserts(rest)
                ),
                "assignments_vs_profiles": await matcher.phase(
                    f"assignment events against {args.profiles:,} profiles",
                    ASSIGNMENTS,
                    upserts(measured_assignments),
                ),
            }
        finally:
            await matcher.stop()
            await stack.stop()
    finally:
        await infra.stop()
    return {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "profiles": args.profiles,
        "assignments": args.assignments,
        "matcher_profile_events_per_s_10k": phases["profiles_vs_open_assignments"]["events_per_s"],
        "matcher_assignment_events_per_s_100k": phases["assignments_vs_profiles"]["events_per_s"],
        "matcher_index_build_profiles_per_s": phases["index_build"]["events_per_s"],
        "matcher_match_events_per_s": phases["assignments_vs_profiles"]["match_events_per_s"],
        "matcher_rss_mb": phases["assignments_vs_profiles"]["rss_mb"],
        "phases": phases,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--assignments", type=int, default=10_000)
    parser.add_argument("--measured-profiles", type=int, default=1_000)
    parser.add_argument("--measured-assignments", type=int, default=200)
    parser.add_argument("--out", type=Path, default=RESULTS / "matcher_service.json")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "phases"}, indent=2))
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
