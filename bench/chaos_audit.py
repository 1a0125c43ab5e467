"""What the fault tests judge: a ledger of accepted events against what came out.

Three witnesses, all outside the services: the webhook endpoints and the mail sink (what
consultants received), and the isolated broker's `koppel.matches.v1` and
`koppel.notifications.v1`, read to the end with `read_committed` (what the services
published). The broker is the run's own, so every record on it is the run's.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiosmtpd.smtp import SMTP, Envelope, Session
from hostile_webhooks import Attempt, Behaviour

from koppel.cloudevents import decode
from koppel.contract import match_id_for
from koppel.topics import MATCHES, NOTIFICATIONS, TOPICS

ASSIGNMENT_IN_SUBJECT = re.compile(r"bench-[0-9a-f]+-a\d+")


class RecordingMailSink:
    """Keeps (assignment id from the subject, Message-ID) of every email."""

    def __init__(self) -> None:
        self.emails: list[tuple[str, str]] = []

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or envelope.content or b""
        message = message_from_bytes(raw if isinstance(raw, bytes) else raw.encode())
        subject = str(message.get("Subject", ""))
        found = ASSIGNMENT_IN_SUBJECT.search(subject)
        self.emails.append((found.group(0) if found else subject, str(message["Message-ID"])))
        return "250 OK"


@dataclass
class Entry:
    """One accepted event: the consultant it was built to match, and what should follow."""

    consultant_id: str
    channel: str  # "webhook" or "email"
    behaviour: Behaviour
    sent_at: float  # wall clock at the scheduled send

    @property
    def expects_failure(self) -> bool:
        """Endpoints that never succeed: the expected outcome is a notification.failed."""
        return self.behaviour in {Behaviour.FAILING, Behaviour.HANGING}


@dataclass
class TopicRecords:
    """Per assignment id: match.found events, and notification outcomes by type."""

    matches: Counter[str] = field(default_factory=Counter)
    delivered: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)


async def read_topics(bootstrap: str, ledger: dict[str, Entry]) -> TopicRecords:
    """Read both topics from the beginning to their current end (committed records only)."""
    by_match_id = {match_id_for(a, e.consultant_id): a for a, e in ledger.items()}
    records = TopicRecords()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        counts = {spec.name: spec.partitions for spec in TOPICS}
        partitions = [
            TopicPartition(topic, p)
            for topic in (MATCHES, NOTIFICATIONS)
            for p in range(counts[topic])
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        while [p for p in partitions if await consumer.position(p) < ends[p]]:
            batches = await consumer.getmany(timeout_ms=1000)
            for batch in batches.values():
                for record in batch:
                    if record.value is not None:
                        _count(record.value, list(record.headers), by_match_id, records)
    finally:
        await consumer.stop()
    return records


def _count(
    value: bytes,
    headers: list[tuple[str, bytes]],
    by_match_id: dict[str, str],
    records: TopicRecords,
) -> None:
    event = decode(value, headers)
    data: dict[str, Any] = event.data if isinstance(event.data, dict) else {}
    if event.type == "nl.koppel.match.found":
        records.matches[str(data.get("assignment", {}).get("id", ""))] += 1
    elif event.type in {"nl.koppel.notification.delivered", "nl.koppel.notification.failed"}:
        outcome = records.delivered if event.type.endswith("delivered") else records.failed
        for match_id in data.get("match_ids", []):
            if match_id in by_match_id:
                outcome[by_match_id[match_id]] += 1


@dataclass
class Verdict:
    scenario: str
    accepted: int
    refused: dict[str, int]
    expected_deliveries: int
    expected_failures: int
    delivered: int
    failure_reports: int
    lost: list[str]
    duplicate_emails: int  # a second email with another Message-ID for one event
    email_resends: int  # the same Message-ID again: SMTP's one window (RFC 1047), reported
    duplicate_webhooks: int  # a second, different webhook-id for one event
    matches_emitted_twice: int  # match.found on the topic more than once for one event
    redeliveries: int  # the same webhook-id answered 2xx again (at-least-once)
    foreign_webhooks: int  # requests from a process that is not the run's notifier
    failed_attempts: int  # requests the hostile endpoints answered non-2xx or never
    latency_ms: dict[str, float]
    stuck: list[str]
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not (
            self.lost
            or self.duplicate_emails
            or self.duplicate_webhooks
            or self.matches_emitted_twice
            or self.stuck
        )


def judge(
    scenario: str,
    ledger: dict[str, Entry],
    refused: Counter[str],
    attempts: list[Attempt],
    emails: list[tuple[str, str]],
    topics: TopicRecords,
    stuck: list[str],
) -> Verdict:
    ours = [a for a in attempts if a.sender == "ours" and a.assignment_id in ledger]
    ok = [a for a in ours if 200 <= a.status < 300 and a.kind == "match.found"]
    ids_per_event: dict[str, set[str]] = {}
    first_ok: dict[str, float] = {}
    answered = Counter[str]()
    for attempt in ok:
        ids_per_event.setdefault(attempt.assignment_id, set()).add(attempt.webhook_id)
        first_ok.setdefault(attempt.assignment_id, attempt.at)
        answered[attempt.webhook_id] += 1
    emails_per_event = Counter(a for a, _ in emails if a in ledger)
    message_ids_per_event: dict[str, set[str]] = {}
    for assignment_id, message_id in emails:
        if assignment_id in ledger:
            message_ids_per_event.setdefault(assignment_id, set()).add(message_id)
    distinct_emails = sum(len(ids) for ids in message_ids_per_event.values())
    arrived = first_ok.keys() | emails_per_event.keys()
    lost = []
    for assignment_id, entry in ledger.items():
        outcome_seen = (
            topics.failed[assignment_id] > 0 if entry.expects_failure else assignment_id in arrived
        )
        if not outcome_seen:
            lost.append(assignment_id)
    healthy = [
        (first_ok[a] - e.sent_at) * 1000
        for a, e in ledger.items()
        if a in first_ok and e.behaviour is Behaviour.OK
    ]
    return Verdict(
        scenario=scenario,
        accepted=len(ledger),
        refused=dict(refused),
        expected_deliveries=sum(not e.expects_failure for e in ledger.values()),
        expected_failures=sum(e.expects_failure for e in ledger.values()),
        delivered=len(arrived & ledger.keys()),
        failure_reports=sum(1 for a in ledger if topics.failed[a] > 0),
        lost=sorted(lost),
        duplicate_emails=distinct_emails - len(message_ids_per_event),
        email_resends=sum(emails_per_event.values()) - distinct_emails,
        duplicate_webhooks=sum(len(ids) - 1 for ids in ids_per_event.values() if len(ids) > 1),
        matches_emitted_twice=sum(1 for a in ledger if topics.matches[a] > 1),
        redeliveries=sum(c - 1 for c in answered.values() if c > 1),
        foreign_webhooks=sum(1 for a in attempts if a.sender.startswith("foreign")),
        failed_attempts=sum(1 for a in ours if not 200 <= a.status < 300),
        latency_ms=_percentiles(healthy),
        stuck=stuck,
    )


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(fraction: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))], 1)

    return {"p50": at(0.5), "p95": at(0.95), "p99": at(0.99), "max": round(ordered[-1], 1)}


async def consumer_lag(port: int) -> float | None:
    """Sum of the service's `koppel_consumer_lag` gauge, or None when it does not answer."""
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    except httpx.HTTPError:
        return None
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("koppel_consumer_lag{")
    )
