"""Benchmark of the matcher's pure core: the columnar `MatchIndex` at realistic scale.

Builds synthetic but realistic data (DOMAIN.md section 1 typical values: 24–36 hours, mostly
28 or 32; 1–4 office days; levels; Dutch coordinates per province; section 8.4: about 40 %
of consultants hold one or two commitments ending within six months, some on fixed office
weekdays, and some assignments name their office weekdays), loads it into the index in
random (arrival) order, then measures

* one assignment against 100,000 profiles, and
* one profile against 10,000 open assignments,

each call timed on its own: p50/p95/p99 over the queries, wall and thread CPU time, each
query counting its best of `--repeat` passes (that keeps other processes' load on a shared
machine out of the figures); plus index build time and memory.

The headline figures time what the service does per event (`ShardMatcher`): `rank_for_*`
(the hard filters over every indexed entity; component states, score and rank of every
passing pair), then `Ranking.reasons()`: the reason texts of every passing pair, all the
service publishes besides ids and scores. Each query is also timed two more ways: through
`matches_for_*`, which builds a full `Evaluation` (score, components, reasons) object per
match, and through `rank_for_*` alone (reasons left unbuilt). Queries use fresh specs (not
in the index), as an upsert would. Prints a table, with the number of passing pairs per
query (the cost grows with it), and writes JSON (keys `matcher_assignment_100k_p95_ms`,
`matcher_profile_10k_p95_ms`, `index_memory_mb`, ...). Run from the repository root:

    uv run python bench/matcher_core.py [--profiles 100000 --assignments 10000 --runs 200
                                         --out bench/results/matcher_core.json]
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import random
import resource
import statistics
import time
import tracemalloc
from collections.abc import Callable, Sequence, Sized
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from koppel.vocabulary import (
    AssignmentType,
    Discipline,
    Language,
    Level,
    OrganizationType,
    Province,
    SizeClass,
    Weekday,
    WorkStyle,
)
from koppel_matcher.domain.index import MatchIndex
from koppel_matcher.domain.masks import weekday_mask
from koppel_matcher.domain.model import AssignmentSpec, CommitmentSpec, Place, ProfileSpec
from koppel_matcher.domain.ranking import Ranking

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TODAY = NOW.date()
T = TypeVar("T")

# Province: (a city, latitude, longitude, spread in degrees, population weight).
PROVINCES: dict[Province, tuple[str, float, float, float, float]] = {
    Province.GRONINGEN: ("Groningen", 53.22, 6.57, 0.20, 3.4),
    Province.FRIESLAND: ("Leeuwarden", 53.10, 5.80, 0.25, 3.8),
    Province.DRENTHE: ("Assen", 52.86, 6.60, 0.20, 2.9),
    Province.OVERIJSSEL: ("Zwolle", 52.45, 6.35, 0.25, 6.6),
    Province.FLEVOLAND: ("Lelystad", 52.50, 5.55, 0.15, 2.5),
    Province.GELDERLAND: ("Arnhem", 52.05, 5.90, 0.30, 12.0),
    Province.UTRECHT: ("Utrecht", 52.09, 5.12, 0.12, 7.7),
    Province.NOORD_HOLLAND: ("Amsterdam", 52.45, 4.85, 0.20, 16.4),
    Province.ZUID_HOLLAND: ("Den Haag", 51.98, 4.45, 0.18, 21.2),
    Province.ZEELAND: ("Middelburg", 51.45, 3.85, 0.20, 2.2),
    Province.NOORD_BRABANT: ("Eindhoven", 51.55, 5.20, 0.30, 14.6),
    Province.LIMBURG: ("Maastricht", 51.20, 5.90, 0.25, 6.4),
}
ORGANIZATIONS = {
    OrganizationType.MUNICIPALITY: 45,
    OrganizationType.PROVINCE: 8,
    OrganizationType.MINISTRY: 12,
    OrganizationType.EXECUTIVE_AGENCY: 12,
    OrganizationType.WATER_BOARD: 6,
    OrganizationType.SEMI_PUBLIC: 6,
    OrganizationType.HEALTHCARE: 4,
    OrganizationType.EDUCATION: 4,
    OrganizationType.OTHER: 3,
}
# Some disciplines are asked and offered far more often than others.
DISCIPLINE_WEIGHTS = [10, 6, 8, 6, 5, 7, 6, 6, 5, 6, 4, 2, 3, 3, 4, 6, 4, 2]
HOURS = [(24, 32), (28, 32), (28, 28), (32, 32), (32, 36), (24, 28), (36, 36), (16, 24)]
HOURS_WEIGHTS = [14, 22, 12, 22, 10, 8, 6, 6]
CERTIFICATIONS = [f"cert-{i}" for i in range(24)]
YEARS = {
    Level.JUNIOR: (0, 3),
    Level.MEDIOR: (3, 7),
    Level.SENIOR: (5, 15),
    Level.STRATEGIC: (10, 30),
}


def pick(rng: random.Random, options: Sequence[T], weights: Sequence[float]) -> T:
    return rng.choices(options, weights)[0]


def place(rng: random.Random) -> Place:
    province = pick(rng, list(PROVINCES), [p[4] for p in PROVINCES.values()])
    city, lat, lon, spread, _ = PROVINCES[province]
    return Place(city, province, rng.gauss(lat, spread / 2), rng.gauss(lon, spread * 0.7))


def disciplines(rng: random.Random, low: int, high: int) -> frozenset[Discipline]:
    count = rng.randint(low, high)
    chosen: set[Discipline] = set()
    while len(chosen) < count:
        chosen.add(pick(rng, list(Discipline), DISCIPLINE_WEIGHTS))
    return frozenset(chosen)


def weekdays(rng: random.Random, count: int) -> int:
    return weekday_mask(rng.sample(list(Weekday), count))


def commitments(rng: random.Random) -> tuple[CommitmentSpec, ...]:
    """None for 60 % of consultants; else one or two part-time assignments ending within
    six months (one in ten without an end), a third of them on fixed office weekdays."""
    if rng.random() >= 0.4:
        return ()
    held = []
    for _ in range(pick(rng, [1, 2], [70, 30])):
        ends = None if rng.random() < 0.1 else TODAY + timedelta(days=rng.randint(0, 183))
        held.append(
            CommitmentSpec(
                hours_per_week=pick(rng, [8, 12, 16, 20, 24], [25, 15, 30, 15, 15]),
                office_weekdays=weekdays(rng, rng.randint(1, 2)) if rng.random() < 0.33 else 0,
                until=None if ends is None else ends.toordinal(),
                label=pick(rng, ["Gemeente Houten", "Provincie Utrecht", None], [40, 40, 20]),
            )
        )
    return tuple(held)


def make_profile(rng: random.Random, i: int) -> ProfileSpec:
    level = pick(rng, list(Level), [15, 35, 35, 15])
    years = rng.randint(*YEARS[level])
    held = disciplines(rng, 2, 6)
    hours_min, hours_max = pick(rng, HOURS, HOURS_WEIGHTS)
    portfolio = commitments(rng)
    if portfolio:  # who combines assignments wants more hours in all
        hours_min, hours_max = min(40, hours_min + 8), min(40, hours_max + 8)
    return ProfileSpec(
        id=f"consultant-{i:06d}",
        language=pick(rng, [Language.NL, Language.EN], [85, 15]),
        level=level,
        years_experience=years,
        public_sector_years=rng.randint(years // 2, years),
        disciplines=held,
        specialisms=frozenset(rng.sample(sorted(held), rng.randint(0, min(3, len(held))))),
        work_style=pick(rng, list(WorkStyle), [35, 35, 30]),
        certifications=frozenset(rng.sample(CERTIFICATIONS, pick(rng, [0, 1, 2], [50, 35, 15]))),
        home=place(rng),
        max_travel_km=pick(rng, [None, 25, 40, 50, 60, 75, 100], [25, 8, 15, 17, 12, 13, 10]),
        max_office_days_per_week=pick(rng, [1, 2, 3, 4, 5], [15, 35, 35, 10, 5]),
        available_from=TODAY + timedelta(days=rng.randint(-30, 120)),
        hours_min=hours_min,
        hours_max=hours_max,
        min_hourly_rate_eur=None if rng.random() < 0.3 else float(rng.randint(75, 130)),
        open_to_next_level=rng.random() < 0.3,
        preferred_organization_types=frozenset(
            rng.sample(list(OrganizationType), rng.randint(0, 3))
        ),
        preferred_assignment_types=frozenset(rng.sample(list(AssignmentType), rng.randint(0, 2))),
        active=rng.random() < 0.95,
        consent=rng.random() < 0.92,
        commitments=portfolio,
        preferred_size_classes=frozenset(
            rng.sample(list(SizeClass), pick(rng, [0, 1, 2], [60, 30, 10]))
        ),
        growth_disciplines=frozenset(
            rng.sample(sorted(set(Discipline) - held), pick(rng, [0, 1, 2], [60, 30, 10]))
        ),
    )


def make_assignment(rng: random.Random, i: int) -> AssignmentSpec:
    level = pick(rng, list(Level), [10, 35, 40, 15])
    organization = pick(rng, list(ORGANIZATIONS), list(ORGANIZATIONS.values()))
    size = None
    office = pick(rng, [1, 2, 3, 4], [10, 45, 35, 10])
    if organization is OrganizationType.MUNICIPALITY:
        size = SizeClass.for_inhabitants(int(rng.lognormvariate(10.8, 0.9)))
        if size is SizeClass.SMALL:
            office = rng.randint(3, 4)
    elif organization is OrganizationType.MINISTRY:
        office = rng.randint(1, 2)
    required = disciplines(rng, 1, 3)
    hours_min, hours_max = pick(rng, HOURS, HOURS_WEIGHTS)
    where = place(rng)
    return AssignmentSpec(
        id=f"assignment-{i:05d}",
        title="Communicatieadviseur",
        organization_type=organization,
        size_class=size,
        province=where.province,
        location=where,
        level=level,
        assignment_type=pick(rng, list(AssignmentType), [20, 40, 20, 20]),
        disciplines_required=required,
        disciplines_preferred=disciplines(rng, 0, 3) - required,
        hours_min=hours_min,
        hours_max=hours_max,
        start_date=TODAY + timedelta(days=rng.randint(7, 60)),
        duration_months=rng.randint(3, 18),
        office_days_per_week=office,
        max_hourly_rate_eur=None if rng.random() < 0.4 else float(rng.randint(80, 140)),
        min_years_experience=None if rng.random() < 0.4 else rng.randint(*YEARS[level]),
        required_certifications=frozenset(rng.sample(CERTIFICATIONS, pick(rng, [0, 1], [90, 10]))),
        is_open=True,
        closes_at=None if rng.random() < 0.5 else NOW + timedelta(days=rng.randint(5, 60)),
        office_weekdays=weekdays(rng, office) if rng.random() < 0.3 else 0,
    )


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = np.array(samples_ms)
    return {
        "p50": float(np.percentile(ordered, 50)),
        "p95": float(np.percentile(ordered, 95)),
        "p99": float(np.percentile(ordered, 99)),
        "mean": float(ordered.mean()),
        "max": float(ordered.max()),
    }


def timed(
    calls: Sequence[Callable[[], Sized]], repeat: int = 1
) -> tuple[list[float], list[float], list[int]]:
    """Wall and CPU time of each call in ms (its best of `repeat` passes), and match counts.

    The passes run one after the other over all calls, so a burst of load from other
    processes spoils one pass of a query, not all of them.
    """
    wall = [math.inf] * len(calls)
    cpu = [math.inf] * len(calls)
    sizes = [0] * len(calls)
    for _ in range(repeat):
        for i, call in enumerate(calls):
            started, started_cpu = time.perf_counter_ns(), time.thread_time_ns()
            result = call()
            cpu[i] = min(cpu[i], (time.thread_time_ns() - started_cpu) / 1e6)
            wall[i] = min(wall[i], (time.perf_counter_ns() - started) / 1e6)
            sizes[i] = len(result)
            del result  # freeing a result is the caller's work, not the next query's
    return wall, cpu, sizes


def published(ranking: Ranking) -> Ranking:
    """What the service needs of a ranking: its ids and scores, and every match's reasons."""
    ranking.reasons()
    return ranking


def peak_rss_mb() -> float:
    """The whole process's peak resident set (data, specs and index together)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--assignments", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20260302)
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="passes over the queries; each query counts its best pass (other load stays out)",
    )
    parser.add_argument("--out", type=Path, default=Path("bench/results/matcher_core.json"))
    parser.add_argument(
        "--no-gc-freeze",
        action="store_true",
        help="leave the loaded specs to the cyclic collector's regular passes",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)  # noqa: S311 - synthetic data, not secrets

    tracemalloc.start()
    profiles = [make_profile(rng, i) for i in range(args.profiles)]
    specs_mb = tracemalloc.get_traced_memory()[0] / 2**20
    tracemalloc.stop()
    assignments = [make_assignment(rng, i) for i in range(args.assignments)]
    new_assignments = [make_assignment(rng, args.assignments + i) for i in range(args.runs)]
    changed_profiles = [make_profile(rng, args.profiles + i) for i in range(args.runs)]

    # Loaded in arrival order, not id order, as in the service (slot order then says nothing
    # about id order, which ranks equal scores).
    arrival = random.Random(args.seed + 1)  # noqa: S311
    load_profiles = arrival.sample(profiles, len(profiles))
    load_assignments = arrival.sample(assignments, len(assignments))

    def build() -> MatchIndex:
        index = MatchIndex()
        for p in load_profiles:
            index.upsert_profile(p)
        for a in load_assignments:
            index.upsert_assignment(a)
        return index

    started = time.perf_counter()
    index = build()
    build_s = time.perf_counter() - started

    if not args.no_gc_freeze:
        # What the service does after its initial load: the loaded specs live for the
        # process, so keep them out of every later garbage-collection pass.
        gc.collect()
        gc.freeze()

    def per_assignment(call: Callable[[AssignmentSpec, datetime], Sized]) -> Any:
        return timed([partial(call, a, NOW) for a in new_assignments], args.repeat)

    def per_profile(call: Callable[[ProfileSpec, datetime], Sized]) -> Any:
        return timed([partial(call, p, NOW) for p in changed_profiles], args.repeat)

    def service_assignment(a: AssignmentSpec, now: datetime) -> Ranking:
        return published(index.rank_for_assignment(a, now))

    def service_profile(p: ProfileSpec, now: datetime) -> Ranking:
        return published(index.rank_for_profile(p, now))

    timed([partial(service_assignment, a, NOW) for a in assignments[:10]])  # warm up
    results = {
        "assignment_service": per_assignment(service_assignment),
        "assignment_full": per_assignment(index.matches_for_assignment),
        "assignment_ranking": per_assignment(index.rank_for_assignment),
        "profile_service": per_profile(service_profile),
        "profile_full": per_profile(index.matches_for_profile),
        "profile_ranking": per_profile(index.rank_for_profile),
    }
    stats = {name: percentiles(wall) for name, (wall, _, _) in results.items()}
    cpu = {name: percentiles(cpu) for name, (_, cpu, _) in results.items()}
    a_sizes, p_sizes = results["assignment_service"][2], results["profile_service"][2]
    assert a_sizes == results["assignment_full"][2]
    assert p_sizes == results["profile_full"][2]

    # Memory last: a traced build is slow, and the heap it leaves behind (freed, but in
    # fragments) made the queries measurably slower when it ran before them.
    tracemalloc.start()
    traced = build()
    traced_mb = tracemalloc.get_traced_memory()[0] / 2**20
    tracemalloc.stop()
    del traced
    index_mb = index.memory_bytes() / 2**20
    report = {
        "matcher_assignment_100k_p95_ms": round(stats["assignment_service"]["p95"], 3),
        "matcher_profile_10k_p95_ms": round(stats["profile_service"]["p95"], 3),
        "index_memory_mb": round(index_mb, 2),
        "matcher_assignment_100k_evaluations_p95_ms": round(stats["assignment_full"]["p95"], 3),
        "matcher_profile_10k_evaluations_p95_ms": round(stats["profile_full"]["p95"], 3),
        "matcher_assignment_100k_ranking_p95_ms": round(stats["assignment_ranking"]["p95"], 3),
        "matcher_profile_10k_ranking_p95_ms": round(stats["profile_ranking"]["p95"], 3),
        "wall_ms": {k: {q: round(x, 3) for q, x in v.items()} for k, v in stats.items()},
        "cpu_ms": {k: {q: round(x, 3) for q, x in v.items()} for k, v in cpu.items()},
        "matches_per_assignment": _counts(a_sizes),
        "matches_per_profile": _counts(p_sizes),
        "index_build_s": round(build_s, 3),
        "index_traced_mb": round(traced_mb, 1),
        "profile_specs_traced_mb": round(specs_mb, 1),
        "process_peak_rss_mb": round(peak_rss_mb(), 1),
        "gc_frozen_after_load": not args.no_gc_freeze,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "profiles": args.profiles,
        "assignments": args.assignments,
        "runs": args.runs,
        "repeat": args.repeat,
        "seed": args.seed,
        "machine": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "cpu": _cpu_name(),
            "cores": os.cpu_count(),
        },
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    _print(report, stats)


def _cpu_name() -> str:
    with Path("/proc/cpuinfo").open() as info:
        for line in info:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def _counts(sizes: list[int]) -> dict[str, float]:
    return {
        "mean": round(statistics.mean(sizes), 1),
        "p50": float(np.percentile(sizes, 50)),
        "p95": float(np.percentile(sizes, 95)),
        "max": max(sizes),
    }


def _print(report: dict[str, Any], stats: dict[str, dict[str, float]]) -> None:
    n_p, n_a = f"{report['profiles']:,}", f"{report['assignments']:,}"
    a_matches, p_matches = report["matches_per_assignment"], report["matches_per_profile"]
    rows = [
        (f"assignment vs {n_p} profiles", stats["assignment_service"], a_matches, 5.0),
        ("  with Evaluation objects", stats["assignment_full"], a_matches, None),
        ("  ranking only (no reasons)", stats["assignment_ranking"], a_matches, None),
        (f"profile vs {n_a} assignments", stats["profile_service"], p_matches, 2.0),
        ("  with Evaluation objects", stats["profile_full"], p_matches, None),
        ("  ranking only (no reasons)", stats["profile_ranking"], p_matches, None),
    ]
    pairs = "passing pairs"
    header = f"{'query (wall ms)':<34} {'p50':>7} {'p95':>7} {'p99':>7} {pairs:>14} target"
    print(header)
    for name, q, matches, target in rows:
        goal = (
            "" if target is None else f"≤{target:g} " + ("ok" if q["p95"] <= target else "MISSED")
        )
        spread = f"{matches['mean']:.0f} (p95 {matches['p95']:.0f})"
        print(f"{name:<34} {q['p50']:>7.3f} {q['p95']:>7.3f} {q['p99']:>7.3f} {spread:>14} {goal}")
    print(
        f"index build {report['index_build_s']:.2f} s; columns {report['index_memory_mb']} MB; "
        f"all allocated by building it {report['index_traced_mb']} MB "
        f"(+ {report['profile_specs_traced_mb']} MB of ProfileSpec objects it references); "
        f"process peak RSS {report['process_peak_rss_mb']} MB"
    )
    print(
        f"machine: {report['machine']['cpu']}, {report['machine']['cores']} cores, "
        f"1-min load average {report['load_average_1m']}"
    )


if __name__ == "__main__":
    main()
