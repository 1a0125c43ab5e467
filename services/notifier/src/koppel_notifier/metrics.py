"""Prometheus metrics of one notifier instance (its own registry, so tests can run several)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from koppel.consumer_lag import consumer_lag_gauge
from koppel.http_metrics import http_latency_histogram


class NotifierMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.deliveries = Counter(
            "koppel_notifier_deliveries_total",
            "Finished deliveries by channel and outcome (delivered, failed, dead, cancelled).",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "koppel_notifier_delivery_latency_seconds",
            "From the match event arriving to the receiver accepting it.",
            ["channel"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200, 86400),
            registry=self.registry,
        )
        self.attempt_duration = Histogram(
            "koppel_notifier_attempt_duration_seconds",
            "Duration of one send attempt.",
            ["channel"],
            registry=self.registry,
        )
        self.retries = Counter(
            "koppel_notifier_retries_total",
            "Attempts that failed and were scheduled again.",
            ["channel"],
            registry=self.registry,
        )
        self.dead_letters = Counter(
            "koppel_notifier_dead_letters_total",
            "Deliveries given up after every attempt (status dead).",
            ["channel"],
            registry=self.registry,
        )
        self.events_produced = Counter(
            "koppel_notifier_events_produced_total",
            "Records acknowledged by Kafka (notification events and dead letters), by topic.",
            ["topic"],
            registry=self.registry,
        )
        self.consumer_lag = consumer_lag_gauge(self.registry)
        self.http_latency = http_latency_histogram("notifier", self.registry)
        self.events = Counter(
            "koppel_notifier_events_consumed_total",
            "Kafka records consumed, by topic and result (applied, duplicate, ignored, stale:"
            " written before the consultant's erasure, dead_lettered).",
            ["topic", "result"],
            registry=self.registry,
        )
