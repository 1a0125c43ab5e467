"""The matcher as its integration tests run it: settings, processes and what it publishes.

All tests share the canonical topics, so every entity id carries the test's `unique_id`
and the collector of match events keeps only events about those ids. Matchers under test
start from the end of the topics (`MATCHER_INITIAL_OFFSET=latest`) in a fresh database
with a unique group.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, TypeAlias

import httpx
from aiokafka.partitioner import DefaultPartitioner

from koppel.cloudevents import CloudEvent, decode
from koppel.errors import EnvelopeError
from koppel.event_types import EventType
from koppel.topics import CONSULTANTS, MATCHES
from koppel_matcher.bootstrap import Matcher
from koppel_matcher.metrics import DEAD_LETTERS
from koppel_matcher.settings import Settings as MatcherSettings
from koppel_testing.builders import assignment, consultant
from koppel_testing.integration_processes import ROOT, ServiceProcess
from koppel_testing.kafka_publishing import TopicWriter
from koppel_testing.kafka_reading import Collector, Record, partitions_of

READ_TOKEN = "matcher-read-token-Vq3xT9kLm2Rz7Hc4"
"""The bearer token of the read API in these tests (`ops:` in MATCHER_API_TOKENS)."""
READ_HEADERS = {"Authorization": f"Bearer {READ_TOKEN}"}

CRASHING_MATCHER = ROOT / "tests" / "integration" / "matcher" / "crashing_matcher.py"

Brief: TypeAlias = tuple[str, str, str, Any]
"""(type suffix, consultant id, assignment id, revision or reason) of a match event."""


def brief(event: CloudEvent) -> Brief:
    """(type suffix, consultant id, assignment id, revision or reason) of a match event
    (the revision of a found or an updated, the reason of a withdrawn)."""
    data = event.data
    assignment_id = data.get("assignment_id") or data["assignment"]["id"]
    extra = data["reason"] if event.type == EventType.MATCH_WITHDRAWN else data.get("revision")
    return event.type.rsplit(".", 1)[-1], data["consultant_id"], assignment_id, extra


def about(unique_id: str) -> Callable[[CloudEvent], bool]:
    """Match events of this test's matcher whose consultant AND assignment ids carry `unique_id`.

    Other tests publish on the same topics at the same time; their assignments may well
    match this test's consultants, so one side carrying the id is not enough; and another
    matcher deployment on the broker (another test run) may match this test's entities too,
    so only events of this test's group (`matchergroup`) count.
    """

    def keep(event: CloudEvent) -> bool:
        if (event.model_extra or {}).get("matchergroup") != f"test-matcher-{unique_id}":
            return False
        data = event.data or {}
        assignment_id = data.get("assignment_id") or (data.get("assignment") or {}).get("id")
        consultant_id = data.get("consultant_id") or ""
        return unique_id in consultant_id and unique_id in (assignment_id or "")

    return keep


def decoded(record: Record) -> CloudEvent | None:
    """The event a record holds; None for the poison other tests put on the shared topics."""
    try:
        return decode(record.value, record.headers)
    except EnvelopeError:
        return None


def match_events(bootstrap: str, unique_id: str) -> Collector[CloudEvent]:
    """A (not yet started) collector of this test's match events."""
    return Collector(bootstrap, MATCHES, decoded, about(unique_id))


def matcher_settings(
    database: str, bootstrap: str, unique_id: str, **extra: Any
) -> MatcherSettings:
    values: dict[str, Any] = {
        "KOPPEL_ENVIRONMENT": "development",
        "MATCHER_API_TOKENS": f"ops:{READ_TOKEN}",
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "DATABASE_URL": database,
        "MATCHER_GROUP_ID": f"test-matcher-{unique_id}",
        "MATCHER_INSTANCE_ID": f"test-{unique_id}",
        "MATCHER_INITIAL_OFFSET": "latest",
        "MATCHER_SWEEP_INTERVAL_SECONDS": 1.0,
    }
    values.update(extra)
    return MatcherSettings.model_validate(values)


async def wait_ready(matcher: Matcher, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while not matcher.loaded():
        assert time.monotonic() < deadline, "matcher did not become ready"
        await asyncio.sleep(0.1)


async def neighbour(bootstrap: str, topic: str, key: str, prefix: str) -> str:
    """An id starting with `prefix` that lands in the same partition of `topic` as `key`.

    Records of one partition are read in order: a match caused by a record published after
    others in `key`'s partition proves the matcher got past those.
    """
    partitions = [p.partition for p in await partitions_of(bootstrap, topic)]
    partitioner = DefaultPartitioner()
    target = partitioner(key.encode(), partitions, partitions)
    for n in range(10_000):
        candidate = f"{prefix}-{n}"
        if partitioner(candidate.encode(), partitions, partitions) == target:
            return candidate
    raise AssertionError(f"no id with prefix {prefix!r} in partition {target} of {topic}")


class MatcherProcess(ServiceProcess):
    """`python -m koppel_matcher` as a separate process, as a deployment runs it; with
    `crash_after_db_commits`, the matcher of `crashing_matcher.py` instead."""

    @classmethod
    def spawn(
        cls, env: dict[str, str], log_path: Path, crash_after_db_commits: int | None = None
    ) -> MatcherProcess:
        command = [sys.executable, "-m", "koppel_matcher"]
        if crash_after_db_commits is not None:
            command = [sys.executable, str(CRASHING_MATCHER), str(crash_after_db_commits)]
        return cls(env, int(env["MATCHER_PORT"]), log_path, command)

    async def emitted(self) -> float:
        """Sum of koppel_matcher_matches_emitted_total over types."""
        return sum(await self.samples("koppel_matcher_matches_emitted_total{"))

    async def samples(self, prefix: str) -> list[float]:
        """The values of the /metrics lines starting with `prefix` (a name, with `{` or ` `)."""
        async with httpx.AsyncClient(base_url=self.url) as http:
            text = (await http.get("/metrics", timeout=5)).text
        return [
            float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix)
        ]


class SpawnMatcher(Protocol):
    """The `spawn` fixture: `spawn(instance, crash_after_db_commits=..., environment=...,
    **env)` starts a matcher process sharing the test's database and group."""

    def __call__(
        self,
        instance: str = "r1",
        *,
        crash_after_db_commits: int | None = None,
        environment: Mapping[str, str] | None = None,
        **extra: str,
    ) -> MatcherProcess: ...


async def found_pair(
    publisher: TopicWriter, matches: Collector[CloudEvent], unique_id: str
) -> tuple[str, str]:
    """Publish a fitting assignment and consultant of this test, wait for their match;
    (assignment id, consultant id)."""
    assignment_id, consultant_id = f"a-{unique_id}", f"c-{unique_id}"
    await publisher.assignment(assignment(assignment_id))
    await publisher.profile(consultant(consultant_id))
    await matches.wait_for(1)
    return assignment_id, consultant_id


def dead_letters_written(**labels: str) -> float:
    """How many dead letters this process's matcher wrote with these metric labels."""
    return sum(
        sample.value
        for metric in DEAD_LETTERS.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
        and all(sample.labels[name] == value for name, value in labels.items())
    )


def ours(events: list[CloudEvent], unique_id: str) -> list[CloudEvent]:
    """Drop matches with other tests' entities that run on the same broker at the same time."""
    return [e for e in events if all(unique_id in part for part in brief(e)[1:3])]


async def wait_exactly(
    matches: Collector[CloudEvent], expected: set[Brief], unique_id: str, settle: float = 3.0
) -> list[CloudEvent]:
    for _ in range(900):
        if len(ours(matches.items, unique_id)) >= len(expected):
            break
        await asyncio.sleep(0.1)
    events = ours(await matches.settle(settle), unique_id)
    assert_exactly(events, expected)
    return events


def assert_exactly(events: list[CloudEvent], expected: set[Brief]) -> None:
    seen = Counter(brief(e) for e in events)
    duplicates = {key: n for key, n in seen.items() if n > 1}
    assert not duplicates, f"duplicates: {duplicates}"
    assert set(seen) == expected, (
        f"missing {len(expected - set(seen))}: {sorted(expected - set(seen))[:5]}, "
        f"unexpected {sorted(set(seen) - expected)[:5]}"
    )


async def one_consultant_per_shard(kafka: str, unique_id: str) -> list[str]:
    """Consultant ids, one on each partition of the consultants topic (= matcher shard)."""
    partitions = [p.partition for p in await partitions_of(kafka, CONSULTANTS)]
    partitioner = DefaultPartitioner()
    chosen: dict[int, str] = {}
    for n in itertools.count():
        candidate = f"cs{n:03d}-{unique_id}"
        chosen.setdefault(partitioner(candidate.encode(), partitions, partitions), candidate)
        if len(chosen) == len(partitions):
            return [chosen[p] for p in partitions]
    raise AssertionError("unreachable")
