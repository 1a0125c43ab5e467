"""`make bench`: Koppel measured against raw Kafka on the same machine, in one run.

Parts (each a median of `--runs` runs where a run is short enough to repeat):

1. raw Kafka: `ProducerPerformance` / `ConsumerPerformance` (~1 KB records, acks=all) and
   aiokafka alone produce → consume (`raw_kafka.py`);
2. intake: accepted upserts/s over HTTP, p50/p99, load generator in a second process
   (`intake_load.py`, httpx, 32 in flight);
3. matcher and notifier: `matcher_core.py` (the pure index), `matcher_service.py` (the
   service at 100,000 profiles / 10,000 assignments, on a broker of its own) and
   `notifier.py` (or, with `--reuse-components`, their last JSON in `bench/results/`);
4. end to end: intake HTTP → webhook received, at steady rates and as fast as it goes
   (`end_to_end.py`).

Writes `bench/results/latest.json`, `bench/results/latest.md` and `docs/benchmarks.md`
(the table plus a description of the machine). Needs Kafka and PostgreSQL up
(`bash deploy/local/up.sh`). Run from the repository root:

    uv run python bench/run.py [--runs 3] [--rates 50,200,500] [--reuse-components]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import raw_kafka
from end_to_end import Pipeline
from isolated_infra import IsolatedInfra
from stack import TOKEN, Stack

RESULTS = Path("bench/results")
DOCS = Path("docs/benchmarks.md")


def median(values: list[float]) -> float:
    return round(statistics.median(values), 1)


def load_average() -> float:
    return os.getloadavg()[0]


def machine() -> dict[str, Any]:
    cpu_model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    version = os.environ.get("KOPPEL_KAFKA_VERSION", "*")  # deploy/local/kafka.sh's choice
    kafka_jar = sorted(Path(".local/kafka").glob(f"{version}/libs/kafka_2.13-*.jar"))
    postgres = subprocess.run(
        ["psql", "--version"],  # noqa: S607 - the client next to the local server, if any
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu_model,
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "kafka": kafka_jar[0].stem.removeprefix("kafka_2.13-") if kafka_jar else "unknown",
        "postgresql": postgres or "unknown",
    }


async def part_raw_kafka(runs: int) -> dict[str, Any]:
    detail = await raw_kafka.measure(runs, java_records=200_000, aiokafka_records=30_000)
    producer = median(detail["java_producer_per_s"])
    consumer = median(detail["java_consumer_per_s"])
    aiokafka = median(detail["aiokafka_pipe_per_s"])
    return {
        "raw_kafka_msgs_per_s": min(producer, consumer),
        "raw_kafka_producer_msgs_per_s": producer,
        "raw_kafka_consumer_msgs_per_s": consumer,
        "raw_aiokafka_msgs_per_s": aiokafka,
        "detail": detail,
    }


async def part_intake(runs: int, seconds: float) -> dict[str, Any]:
    stack = Stack(smtp_port=1)
    await stack.start(only=("intake",))
    samples = []
    try:
        for _ in range(runs):
            # The load generator is a second process, so its CPU is not the intake's.
            output = await asyncio.to_thread(
                subprocess.run,
                [
                    sys.executable,
                    "bench/intake_load.py",
                    "--url",
                    stack.intake_url,
                    "--token",
                    TOKEN,
                    "--duration",
                    str(seconds),
                    "--concurrency",
                    "32",
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            samples.append(json.loads(output.stdout))
    finally:
        await stack.stop()
    return {
        "intake_accepted_per_s": median([s["accepted_per_s"] for s in samples]),
        "intake_p50_ms": median([s["p50_ms"] for s in samples]),
        "intake_p99_ms": median([s["p99_ms"] for s in samples]),
        "detail": samples,
    }


def part_components(reuse: bool) -> dict[str, Any]:
    if not reuse:
        for script in ("bench/matcher_core.py", "bench/matcher_service.py", "bench/notifier.py"):
            subprocess.run([sys.executable, script], check=True)  # noqa: S603 - fixed argv
    matcher = json.loads((RESULTS / "matcher_core.json").read_text())
    notifier = json.loads((RESULTS / "notifier.json").read_text())
    service = json.loads((RESULTS / "matcher_service.json").read_text())
    return {
        "matcher_assignment_events_per_s_100k": service["matcher_assignment_events_per_s_100k"],
        "matcher_profile_events_per_s_10k": service["matcher_profile_events_per_s_10k"],
        "matcher_index_build_profiles_per_s": service["matcher_index_build_profiles_per_s"],
        "matcher_match_events_per_s": service["matcher_match_events_per_s"],
        "matcher_rss_mb": service["matcher_rss_mb"],
        "matcher_service_measured_at": service.get("at"),
        "matcher_assignment_100k_p95_ms": matcher["matcher_assignment_100k_p95_ms"],
        "matcher_profile_10k_p95_ms": matcher["matcher_profile_10k_p95_ms"],
        "matcher_index_memory_mb": matcher.get("index_memory_mb"),
        "matcher_measured_at": matcher.get("measured_at"),
        "notifier_webhooks_per_s": notifier["notifier_webhooks_per_s"],
        "notifier_emails_per_s": notifier["notifier_emails_per_s"],
        "notifier_measured_at": notifier.get("at"),
    }


async def part_end_to_end(
    rates: list[int],
    seconds: float,
    burst_seconds: float,
    *,
    runs: int = 3,
    isolated: bool = False,
) -> dict[str, Any]:
    """`runs` rounds of steady rates then a burst, on one stack; per rate the round with the
    median p99 is reported (its other figures with it), for the burst the median rate. On an
    `IsolatedInfra` broker and server when `isolated` (no other stack on the shared topics
    can then deliver to, or load, this run's stack)."""
    infra = IsolatedInfra() if isolated else None
    if infra is not None:
        await infra.start()
    try:
        pipeline = (
            Pipeline(consultants=50)
            if infra is None
            else Pipeline(consultants=50, bootstrap=infra.bootstrap, server_dsn=infra.server_dsn)
        )
        await pipeline.start()
        rounds: list[dict[str, Any]] = []
        bursts: list[dict[str, Any]] = []
        try:
            if infra is not None:
                # A fresh broker JVM compiles its hot paths during the first seconds of load:
                # measured, that would be broker CPU no running system pays.
                await pipeline.steady(rates[0], 10, drain=60)
            for _ in range(runs):
                # Each phase drains before the next, so no phase inherits another's backlog.
                rounds.append(
                    {str(rate): await pipeline.steady(rate, seconds, drain=60) for rate in rates}
                )
                bursts.append(await pipeline.burst_for(burst_seconds, concurrency=32, drain=60))
        finally:
            await pipeline.stop()
    finally:
        if infra is not None:
            await infra.stop()
    steady = {str(rate): _median_by([r[str(rate)] for r in rounds], "p99_ms") for rate in rates}
    burst = _median_by(bursts, "delivered_per_s")
    figures: dict[str, Any] = {"e2e_steady": steady, "e2e_burst": burst, "e2e_isolated": isolated}
    for offered, result in steady.items():
        for q in ("p50", "p95", "p99"):
            figures[f"e2e_{q}_ms_at_{offered}_eps"] = round(result[f"{q}_ms"], 1)
        figures[f"e2e_p99_ms_runs_at_{offered}_eps"] = [
            round(r[offered]["p99_ms"], 1) for r in rounds
        ]
        figures[f"e2e_cpu_ms_per_event_at_{offered}_eps"] = result["cpu_ms_per_event"]["total"]
    figures["pipeline_max_eps"] = round(burst["delivered_per_s"], 1)
    figures["pipeline_max_eps_runs"] = [round(b["delivered_per_s"], 1) for b in bursts]
    return figures


def _median_by(results: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """The result whose `key` is the median (the lower middle one of an even count)."""
    ordered = sorted(results, key=lambda r: float(r[key]))
    return ordered[(len(ordered) - 1) // 2]


def table(result: dict[str, Any]) -> str:
    rows = [
        (
            "raw Kafka produce → consume, Java tools (min of the two)",
            "raw_kafka_msgs_per_s",
            "msgs/s",
        ),
        ("raw Kafka ProducerPerformance, acks=all", "raw_kafka_producer_msgs_per_s", "msgs/s"),
        ("raw Kafka ConsumerPerformance", "raw_kafka_consumer_msgs_per_s", "msgs/s"),
        ("aiokafka alone, produce → consume", "raw_aiokafka_msgs_per_s", "msgs/s"),
        (
            "intake: accepted upserts over HTTP (acks=all, 32 in flight)",
            "intake_accepted_per_s",
            "/s",
        ),
        ("intake latency p50", "intake_p50_ms", "ms"),
        ("intake latency p99", "intake_p99_ms", "ms"),
        (
            "matcher core: assignment vs 100,000 profiles, p95",
            "matcher_assignment_100k_p95_ms",
            "ms",
        ),
        ("matcher core: profile vs 10,000 assignments, p95", "matcher_profile_10k_p95_ms", "ms"),
        ("matcher index memory (100,000 profiles)", "matcher_index_memory_mb", "MB"),
        (
            "matcher service: assignment events against 100,000 profiles",
            "matcher_assignment_events_per_s_100k",
            "/s",
        ),
        (
            "matcher service: profile events against 10,000 open assignments",
            "matcher_profile_events_per_s_10k",
            "/s",
        ),
        ("matcher service: match events published", "matcher_match_events_per_s", "/s"),
        (
            "matcher service: profile events, no open assignments (index build)",
            "matcher_index_build_profiles_per_s",
            "/s",
        ),
        ("matcher service: resident memory (100,000 profiles)", "matcher_rss_mb", "MB"),
        ("notifier: webhooks delivered", "notifier_webhooks_per_s", "/s"),
        ("notifier: emails delivered", "notifier_emails_per_s", "/s"),
    ]
    for rate in result.get("e2e_steady", {}):
        for q in ("p50", "p95", "p99"):
            rows.append((f"end to end at {rate} events/s, {q}", f"e2e_{q}_ms_at_{rate}_eps", "ms"))
        rows.append(
            (
                f"end to end at {rate} events/s, CPU of the whole stack per event",
                f"e2e_cpu_ms_per_event_at_{rate}_eps",
                "ms",
            )
        )
    rows += [
        ("pipeline: highest rate (burst, webhooks received/s)", "pipeline_max_eps", "events/s"),
        ("pipeline / raw Kafka (Java tools)", "pipeline_to_raw_kafka_ratio", ""),
        ("pipeline / aiokafka alone", "pipeline_to_aiokafka_ratio", ""),
    ]
    lines = ["| measure | value | unit |", "|---|---:|---|"]
    for label, key, unit in rows:
        value = result.get(key)
        if value is None:
            continue
        shown = f"{value:,.4f}" if isinstance(value, float) and value < 1 else f"{value:,}"
        lines.append(f"| {label} | {shown} | {unit} |")
    return "\n".join(lines) + "\n"


def steady_table(result: dict[str, Any]) -> str:
    lines = [
        "| offered events/s | sustained | sent | accepted | delivered | late | duplicates"
        " | accepted/s | p50 ms | p95 ms | p99 ms |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for rate, r in result.get("e2e_steady", {}).items():
        lines.append(
            f"| {rate} | {'yes' if r['sustained'] else 'no'} | {r['scheduled']} | {r['accepted']}"
            f" | {r['delivered']} | {r['lost_or_late']}"
            f" | {r['duplicate_webhooks']} | {r['accepted_per_s']:.1f} | {r['p50_ms']:.0f}"
            f" | {r['p95_ms']:.0f} | {r['p99_ms']:.0f} |"
        )
    return "\n".join(lines) + "\n" + cpu_table(result)


def cpu_table(result: dict[str, Any]) -> str:
    """CPU milliseconds per delivered event in each part of the stack, per e2e phase."""
    phases = {f"{rate} events/s": r for rate, r in result.get("e2e_steady", {}).items()}
    if "e2e_burst" in result:
        phases["burst"] = result["e2e_burst"]
    phases = {name: r for name, r in phases.items() if "cpu_ms_per_event" in r}
    if not phases:
        return ""
    parts = list(next(iter(phases.values()))["cpu_ms_per_event"])
    lines = [
        "\nCPU ms per delivered event (`bench/cpu_usage.py`; load average at the end of phase):\n",
        "| phase | " + " | ".join(parts) + " | load avg |",
        "|---|" + "---:|" * (len(parts) + 1),
    ]
    for name, r in phases.items():
        cpu = r["cpu_ms_per_event"]
        cells = " | ".join(f"{cpu.get(part, float('nan')):.2f}" for part in parts)
        lines.append(f"| {name} | {cells} | {r.get('load_average', float('nan')):.1f} |")
    return "\n".join(lines) + "\n"


FAULT_TESTS_HEADING = "\n## Fault tests"


def _p99_rounds(result: dict[str, Any]) -> str:
    return "; ".join(
        f"{rate}/s: "
        + ", ".join(f"{v:,.0f}" for v in result.get(f"e2e_p99_ms_runs_at_{rate}_eps", []))
        + " ms"
        for rate in result.get("e2e_steady", {})
    )


def write_docs(result: dict[str, Any], markdown: str) -> None:
    """Rewrites `docs/benchmarks.md`, keeping its fault-test section (written by hand)."""
    previous = DOCS.read_text() if DOCS.exists() else ""
    kept = previous[previous.find(FAULT_TESTS_HEADING) :] if FAULT_TESTS_HEADING in previous else ""
    m = result["machine"]
    loads = ", ".join(f"{part} {load:.1f}" for part, load in result["load_average"].items())
    DOCS.write_text(
        f"""# Benchmarks

Produced by `make bench` (`uv run python bench/run.py`) on {result["measured_at"]}.
Machine: {m["nproc"]} cores ({m["cpu"]}), {m["memory_gb"]} GB memory, Linux {m["kernel"]},
Python {m["python"]}, Kafka {m["kafka"]} (single KRaft node, local disk), {m["postgresql"]}.
Everything (broker, database, services, load generators) shares those cores.
1-minute load average when each part started: {loads}. This machine is shared with other
work; a load average above 2 means the figures were taken with the cores contended.

{markdown}
## End to end at steady rates

Each event is an assignment upsert over HTTP built to match exactly one of 50 benchmark
consultants (webhook channel, local receiver), so one accepted event means one webhook.
Latency runs from the *scheduled* send time to the webhook's arrival (a slow intake cannot
hide queueing). A rate is abandoned ("sustained: no") as soon as the pipeline is more than
5 s of events behind it; "late" counts accepted events whose webhook had not arrived 60 s
after the last send (the next phase starts only then). The rates and a burst run
{result["runs"]} times in rounds on one stack; each row is the round with the median p99
(p99 of every round: {_p99_rounds(result)}), the burst the round with the median rate
({", ".join(f"{v:,}" for v in result.get("pipeline_max_eps_runs", []))} events/s).

{steady_table(result)}
## Method

* Raw Kafka: `ProducerPerformance` (200,000 records of 1,024 bytes, acks=all) then
  `ConsumerPerformance` on a fresh 6-partition topic; `raw_kafka_msgs_per_s` is the lower
  of the two (what a produce → consume pipe can carry). aiokafka alone: one idempotent
  acks=all producer and one consumer in one asyncio process, first send → last record.
  Medians of {result["runs"]} runs.
* Intake: `bench/intake_load.py` in its own process keeps 32 `PUT /v1/assignments/{{id}}`
  in flight (demo-generator bodies, ~1 KB, status `withdrawn` so nothing downstream
  matches them); 202s counted over 10 s after a 2 s warm-up. Medians of {result["runs"]} runs.
* Matcher core and notifier: `bench/matcher_core.py` and `bench/notifier.py` (see their
  docstrings).
* Matcher service: `bench/matcher_service.py` runs the real matcher (6 shards) on a broker
  and PostgreSQL of its own, with the demo generator's realistic profiles and assignments
  published straight onto the canonical topics: 10,000 open assignments, then 1,000
  profile events against them; every assignment closed, 99,000 more profiles; then 200
  assignment events against the 100,000 profiles. A rate is events / (first record sent →
  the matcher's counters show every record handled). Realistic data matches: each of those
  assignments matched ~550 of the 100,000 consultants, so the assignment rate is bound by
  publishing the match events (Kafka transaction, ledger rows), reported beside it.
* End to end: intake, matcher and notifier as subprocesses on a fresh database with unique
  consumer groups; the burst keeps 32 requests in flight for a fixed time and counts
  webhooks received per second from the first send to the last webhook.
"""
        + kept
    )


async def run(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "runs": args.runs,
        "load_average": {},
    }
    parts: list[tuple[str, Any]] = [
        ("raw_kafka", lambda: part_raw_kafka(args.runs)),
        ("intake", lambda: part_intake(args.runs, 10)),
        (
            "end_to_end",
            lambda: part_end_to_end(
                args.rates,
                args.seconds,
                args.burst_seconds,
                runs=args.runs,
                isolated=args.isolated,
            ),
        ),
    ]
    for name, part in parts:
        result["load_average"][name] = load_average()
        started = time.monotonic()
        print(f"[bench] {name} ...", flush=True)
        figures = await part()
        detail = figures.pop("detail", None)
        result.update(figures)
        if detail is not None:
            result.setdefault("detail", {})[name] = detail
        print(f"[bench] {name}: {time.monotonic() - started:.0f} s", flush=True)
    result["load_average"]["components"] = load_average()
    result.update(await asyncio.to_thread(part_components, args.reuse_components))
    if result.get("pipeline_max_eps"):
        result["pipeline_to_raw_kafka_ratio"] = round(
            result["pipeline_max_eps"] / result["raw_kafka_msgs_per_s"], 4
        )
        result["pipeline_to_aiokafka_ratio"] = round(
            result["pipeline_max_eps"] / result["raw_aiokafka_msgs_per_s"], 4
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--rates", type=lambda s: [int(r) for r in s.split(",")], default=[50, 200, 500]
    )
    parser.add_argument("--seconds", type=float, default=10, help="per steady rate")
    parser.add_argument("--burst-seconds", type=float, default=10)
    parser.add_argument("--reuse-components", action="store_true")
    parser.add_argument(
        "--isolated",
        action="store_true",
        help="run the end-to-end part on a Kafka broker and PostgreSQL of its own",
    )
    args = parser.parse_args()
    result = asyncio.run(run(args))
    markdown = table(result)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "latest.md").write_text(markdown + "\n" + steady_table(result))
    write_docs(result, markdown)
    print(markdown)
    print(steady_table(result))
    print(f"written: {RESULTS}/latest.json, {RESULTS}/latest.md, {DOCS}")


if __name__ == "__main__":
    main()
