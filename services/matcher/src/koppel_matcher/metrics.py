"""Prometheus metrics of the matcher (one process-wide set, served on /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from koppel.http_metrics import http_latency_histogram

MATCHES_EMITTED = Counter(
    "koppel_matcher_matches_emitted_total",
    "Match events committed to koppel.matches.v1, by CloudEvents type.",
    ["type"],
)
EVALUATION_SECONDS = Histogram(
    "koppel_matcher_evaluation_seconds",
    "Time to match one assignment against the shard's profiles, or one profile against all"
    " open assignments.",
    ["direction"],
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
INDEX_PROFILES = Gauge(
    "koppel_matcher_index_profiles", "Profiles in the shard's in-memory index.", ["shard"]
)
INDEX_ASSIGNMENTS = Gauge(
    "koppel_matcher_index_assignments",
    "Open assignments in the shard's in-memory index.",
    ["shard"],
)
EVENTS_CONSUMED = Counter(
    "koppel_matcher_events_consumed_total",
    "Records consumed and committed, by topic and outcome.",
    ["topic", "outcome"],
)
EVENTS_PRODUCED = Counter(
    "koppel_matcher_events_produced_total",
    "Records committed to Kafka (match events and dead letters), by topic.",
    ["topic"],
)
HTTP_LATENCY = http_latency_histogram("matcher")
DEAD_LETTERS = Counter(
    "koppel_matcher_dead_letters_total",
    "Records sent to a dead-letter topic, by source topic and error code.",
    ["topic", "code"],
)
SHARD_RESTARTS = Counter(
    "koppel_matcher_shard_restarts_total",
    "Shard workers restarted after a failure (each restart repairs the shard).",
    ["shard"],
)
CAPACITY_WAKEUPS = Counter(
    "koppel_matcher_capacity_wakeups_total",
    "Consultants matched again, committed, because one of their commitments ended.",
)
WAKEUPS_SET_ASIDE = Counter(
    "koppel_matcher_capacity_wakeups_set_aside_total",
    "Wake-ups whose matching failed the shard `poison_after_failures` times: moved on to the"
    " consultant's next end moment without matching (see the logs: wakeup_set_aside).",
)
NEXT_WAKEUP = Gauge(
    "koppel_matcher_next_wakeup_timestamp_seconds",
    "When the shard next matches a consultant again because a commitment ends (Unix time;"
    " 0 when none is scheduled).",
    ["shard"],
)
