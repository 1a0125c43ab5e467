"""HTTP load generator for the intake, run as its own process by `bench/run.py`.

Keeps `--concurrency` requests in flight for `--duration` seconds (after `--warmup`
seconds not counted), each a `PUT /v1/assignments/{id}` with a unique id and a realistic
~1 KB body (see `payloads.closed_assignments`). Prints one JSON object: accepted (202)
count and rate, other statuses, latency p50/p95/p99 of the accepted requests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from collections import Counter
from typing import Any

import httpx
from payloads import closed_assignments


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    bodies = closed_assignments(500)
    run_id = uuid.uuid4().hex[:8]
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    sequence = 0
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    headers = {"Authorization": f"Bearer {args.token}"}
    started = time.perf_counter()
    measure_from = started + args.warmup
    stop_at = measure_from + args.duration

    async with httpx.AsyncClient(
        base_url=args.url, limits=limits, headers=headers, timeout=30
    ) as client:

        async def worker() -> None:
            nonlocal sequence
            while time.perf_counter() < stop_at:
                sequence += 1
                assignment_id = f"bench-intake-{run_id}-{sequence}"
                body = {**bodies[sequence % len(bodies)], "id": assignment_id}
                sent = time.perf_counter()
                response = await client.put(f"/v1/assignments/{assignment_id}", json=body)
                done = time.perf_counter()
                if sent >= measure_from and done <= stop_at:
                    statuses[response.status_code] += 1
                    if response.status_code == 202:
                        latencies.append(done - sent)

        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    accepted = statuses[202]
    return {
        "accepted": accepted,
        "accepted_per_s": accepted / args.duration,
        "statuses": {str(code): count for code, count in sorted(statuses.items())},
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p95_ms": percentile(latencies, 0.95) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "mean_ms": (statistics.fmean(latencies) * 1000) if latencies else float("nan"),
        "concurrency": args.concurrency,
        "duration_s": args.duration,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
