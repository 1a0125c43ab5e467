"""Prometheus metrics of the intake service (process-wide, in the default registry)."""

from __future__ import annotations

from prometheus_client import Counter

from koppel.http_metrics import http_latency_histogram

HTTP_REQUESTS = Counter(
    "koppel_intake_http_requests",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
# The same name, help and labels (route, method, status) as the matcher's and notifier's.
HTTP_LATENCY = http_latency_histogram("intake")
EVENTS_PUBLISHED = Counter(
    "koppel_intake_events_published",
    "Canonical events and tombstones acknowledged by Kafka, by topic and CloudEvents type.",
    ["topic", "type"],
)
RAW_CONSUMED = Counter(
    "koppel_intake_raw_events_consumed",
    "Records read from the raw topic, by topic and outcome (routed or dead_lettered).",
    ["topic", "outcome"],
)
DEAD_LETTERS = Counter(
    "koppel_intake_dead_letters",
    "Raw records sent to the dead-letter topic, by error code.",
    ["code"],
)
