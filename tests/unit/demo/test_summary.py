"""The loader's tally and summary, fed with real encoded events (no broker needed)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from koppel.cloudevents import encode, new_event
from koppel.contract import AssignmentSummary, MatchFound, NotificationDelivered, match_id_for
from koppel.event_types import EventType, Source
from koppel.topics import MATCHES, NOTIFICATIONS
from koppel.vocabulary import Channel
from koppel_demo.data import assignments, consultants
from koppel_demo.intake_client import LoadResult, token_from
from koppel_demo.summary import percentile, summarise
from koppel_demo.watcher import Tally

TODAY = date(2026, 11, 23)


def test_summary_counts_only_the_demo_entities_and_measures_latency(tmp_path: Path) -> None:
    profiles = consultants(3, 1, today=TODAY)
    jobs = assignments(2, 1, today=TODAY)
    person, job = profiles[0], jobs[0]
    tally = Tally(frozenset({p.id for p in profiles} | {j.id for j in jobs}))
    match_id = match_id_for(job.id, person.id)
    found = MatchFound(
        match_id=match_id,
        consultant_id=person.id,
        assignment=AssignmentSummary.of(job),
        score=0.9,
        reasons=["Opdracht op jouw niveau"],
    )
    delivered_at = datetime(2026, 11, 23, 12, 0, 5, tzinfo=UTC)
    delivered = NotificationDelivered(
        notification_id="n1",
        match_ids=[match_id],
        consultant_id=person.id,
        channel=Channel.EMAIL,
        kind="match.found",
        attempts=1,
        delivered_at=delivered_at,
    )
    for topic, event_type, source, data in (
        (MATCHES, EventType.MATCH_FOUND, Source.MATCHER, found),
        (NOTIFICATIONS, EventType.NOTIFICATION_DELIVERED, Source.NOTIFIER, delivered),
    ):
        value, headers = encode(new_event(event_type, source=source, subject=person.id, data=data))
        tally.record(topic, person.id.encode(), value, headers)
        tally.record(topic, b"someone-else", value, headers)
    accepted = LoadResult(accepted_at={job.id: delivered_at.timestamp() - 2.5})

    summary = summarise(
        profiles=profiles,
        jobs=jobs,
        consultants_loaded=LoadResult(),
        assignments_loaded=accepted,
        tally=tally,
        load_seconds=1,
        wait_seconds=1,
        mail_dir=tmp_path,
        webhook_log=tmp_path / "none.jsonl",
        started_at=0,
    )

    assert summary["events_by_type"] == {
        "nl.koppel.match.found": 1,
        "nl.koppel.notification.delivered": 1,
    }
    assert summary["matches"]["found"] == 1
    assert summary["matches"]["histogram"]["0"] == 1
    assert summary["matches"]["histogram"]["1–5"] == 1
    assert summary["deliveries"] == {"email": {"delivered": 1}}
    assert summary["latency_seconds"]["p50"] == 2.5
    assert summary["examples"][0]["reasons"] == ["Opdracht op jouw niveau"]


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 50) == 0
    assert percentile([3, 1, 2, 4], 50) == 2
    assert percentile(list(range(1, 101)), 99) == 99


def test_token_is_the_first_pair() -> None:
    assert token_from("demo:demo-token,other:x") == "demo-token"
