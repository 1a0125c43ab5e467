"""The loader's tally and summary, fed with real encoded events (no broker needed)."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pydantic import SecretStr
from rich.console import Console

from koppel.cloudevents import encode, new_event
from koppel.contract import (
    Assignment,
    MatchWithdrawn,
    NotificationDelivered,
    NotificationPreferences,
    match_id_for,
)
from koppel.event_types import EventType, Source
from koppel.topics import MATCHES, NOTIFICATIONS
from koppel.vocabulary import Channel, Language, NotificationMode, Visibility, WithdrawalReason
from koppel_demo.console_report import render
from koppel_demo.data import assignments, consultants, webhook_secret
from koppel_demo.intake_client import LoadResult, Pacer, token_from
from koppel_demo.summary import percentile, summarise
from koppel_demo.watcher import Tally
from koppel_testing.demo_runs import delivered_report, found_match, record_event, summarise_run

TODAY = date(2026, 11, 23)


def test_summary_counts_only_the_demo_entities_and_measures_latency(tmp_path: Path) -> None:
    profiles = consultants(3, 1, today=TODAY)
    jobs = assignments(2, 1, today=TODAY)
    person, job = profiles[0], jobs[0]
    tally = Tally(frozenset({p.id for p in profiles} | {j.id for j in jobs}))
    found = found_match(job, person.id, score=0.9)
    delivered_at = datetime(2026, 11, 23, 12, 0, 5, tzinfo=UTC)
    delivered = delivered_report(
        job, person.id, channel=Channel.EMAIL, at=delivered_at, notification_id="n1"
    )
    for topic, event_type, source, data in (
        (MATCHES, EventType.MATCH_FOUND, Source.MATCHER, found),
        (NOTIFICATIONS, EventType.NOTIFICATION_DELIVERED, Source.NOTIFIER, delivered),
    ):
        value, headers = encode(new_event(event_type, source=source, subject=person.id, data=data))
        tally.record(topic, person.id.encode(), value, headers)
        tally.record(topic, b"someone-else", value, headers)
    accepted = LoadResult(accepted_at={job.id: delivered_at.timestamp() - 2.5})

    summary = summarise_run(
        tmp_path, profiles, jobs, tally, assignments_loaded=accepted, load_seconds=1, wait_seconds=1
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


def test_withdrawn_and_foreign_matches_are_not_counted_and_latency_is_split(
    tmp_path: Path,
) -> None:
    profiles = consultants(2, 1, today=TODAY)
    jobs = assignments(2, 1, today=TODAY)
    foreign = assignments(1, 99, today=TODAY)[0].model_copy(update={"id": "bench-a-1"})
    person = profiles[0]
    tally = Tally(frozenset({p.id for p in profiles} | {j.id for j in jobs}))
    accepted_at = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)

    def delivered(job: Assignment) -> NotificationDelivered:
        at = accepted_at + timedelta(seconds=3)
        return delivered_report(
            job, person.id, channel=Channel.WEBHOOK, at=at, notification_id=f"n-{job.id}"
        )

    matched_at = accepted_at + timedelta(seconds=1)
    for job in (jobs[0], jobs[1], foreign):
        record_event(
            tally, MATCHES, EventType.MATCH_FOUND, found_match(job, person.id), at=matched_at
        )
        record_event(
            tally, NOTIFICATIONS, EventType.NOTIFICATION_DELIVERED, delivered(job), at=matched_at
        )
    # Another notifier on the broker reports the same notification again.
    record_event(
        tally, NOTIFICATIONS, EventType.NOTIFICATION_DELIVERED, delivered(jobs[0]), at=matched_at
    )
    withdrawn = MatchWithdrawn(
        match_id=match_id_for(jobs[1].id, person.id),
        consultant_id=person.id,
        assignment_id=jobs[1].id,
        reason=WithdrawalReason.ASSIGNMENT_FILLED,
    )
    record_event(tally, MATCHES, EventType.MATCH_WITHDRAWN, withdrawn, at=matched_at)
    loaded = LoadResult(accepted_at={job.id: accepted_at.timestamp() for job in jobs})

    summary = summarise_run(
        tmp_path, profiles, jobs, tally, assignments_loaded=loaded, load_seconds=1, wait_seconds=1
    )

    assert summary["matches"]["found"] == 1  # jobs[1] was withdrawn, bench-a-1 is not ours
    assert summary["events_by_type"]["nl.koppel.match.found"] == 2
    assert summary["withdrawn"] == {"assignment_filled": 1}
    assert summary["deliveries"] == {"webhook": {"delivered": 2}}
    assert summary["repeated_delivery_reports"] == 1
    latency = summary["latency_seconds"]
    assert (latency["p50"], latency["samples"]) == (3.0, 2)
    assert latency["intake_to_match"]["p50"] == 1.0
    assert latency["match_to_delivery"]["p50"] == 2.0


def test_emails_and_webhooks_about_the_demo_are_told_apart_from_others(tmp_path: Path) -> None:
    profiles = consultants(1, 1, today=TODAY)
    job = assignments(1, 1, today=TODAY)[0]
    person = profiles[0]
    tally = Tally(frozenset({person.id, job.id}))
    now = datetime.now(UTC)
    record_event(tally, MATCHES, EventType.MATCH_FOUND, found_match(job, person.id), at=now)
    for notification_id, channel in (("1111-aa", Channel.EMAIL), ("2222-bb", Channel.WEBHOOK)):
        delivered = delivered_report(
            job, person.id, channel=channel, at=now, notification_id=notification_id
        )
        record_event(tally, NOTIFICATIONS, EventType.NOTIFICATION_DELIVERED, delivered, at=now)
    mail = tmp_path / "mail"
    mail.mkdir()
    for name, message_id in (("a.eml", "<1111-aa@koppel.local>"), ("b.eml", "<9999@x.test>")):
        (mail / name).write_bytes(
            f"Message-ID: {message_id}\r\nSubject: s\r\n\r\nbody\r\n".encode()
        )
    hooks = tmp_path / "webhooks.jsonl"
    hooks.write_text(
        "".join(
            json.dumps(
                {
                    "received_at": now.isoformat(),
                    "webhook_id": webhook_id,
                    "verified": True,
                    "duplicate": duplicate,
                }
            )
            + "\n"
            for webhook_id, duplicate in (
                ("msg_2222bb", False),
                ("msg_2222bb", True),
                ("msg_x", False),
            )
        )
    )

    summary = summarise_run(tmp_path, profiles, [job], tally, mail_dir=mail, webhook_log=hooks)

    assert summary["emails_written"] == {"demo": 1, "others": 1}
    assert summary["webhooks_received"] == {
        "verified": 2,
        "unverified": 0,
        "duplicates": 1,
        "others": 1,
    }


async def test_the_pacer_spaces_requests_and_a_missing_rate_does_not() -> None:
    paced, unpaced = Pacer(50), Pacer(None)
    started = time.monotonic()
    for _ in range(6):
        await unpaced.wait()
    assert time.monotonic() - started < 0.05
    for _ in range(6):
        await paced.wait()
    assert time.monotonic() - started >= 0.1  # five intervals of 20 ms after the first


def test_in_digest_mode_only_the_webhook_goes_at_once(tmp_path: Path) -> None:
    job = assignments(1, 1, today=TODAY)[0]
    base = consultants(1, 1, today=TODAY)[0]
    digest = base.model_copy(
        update={
            "notification": NotificationPreferences(
                channels=[Channel.EMAIL, Channel.WEBHOOK],
                mode=NotificationMode.DAILY_DIGEST,
                min_score=0.5,
                webhook_url="http://127.0.0.1:8090/webhooks/x",
                webhook_secret=SecretStr(webhook_secret(base.id, 1)),
            )
        }
    )
    tally = Tally(frozenset({digest.id, job.id}))
    record_event(
        tally, MATCHES, EventType.MATCH_FOUND, found_match(job, digest.id), at=datetime.now(UTC)
    )

    summary = summarise_run(tmp_path, [digest], [job], tally)

    assert summary["matches"]["instant_deliveries_expected"] == 1
    assert summary["matches"]["for_daily_digest"] == 1


def test_the_summary_names_the_page_of_a_demo_consultant(tmp_path: Path) -> None:
    profiles, job, now = (
        consultants(1, 1, today=TODAY),
        assignments(1, 1, today=TODAY)[0],
        datetime.now(UTC),
    )
    person, ours = profiles[0], "3333-cc"
    match_id = match_id_for(job.id, person.id)
    found = found_match(job, person.id)
    delivered = NotificationDelivered(
        notification_id=ours,
        match_ids=[match_id],
        consultant_id=person.id,
        channel=Channel.EMAIL,
        kind="match.found",
        attempts=1,
        delivered_at=now,
    )
    tally = Tally(frozenset({person.id, job.id}))
    record_event(tally, MATCHES, EventType.MATCH_FOUND, found, at=now)
    record_event(tally, NOTIFICATIONS, EventType.NOTIFICATION_DELIVERED, delivered, at=now)
    mail = tmp_path / "mail"
    mail.mkdir()
    page = "http://127.0.0.1:8002/m/eyJjIjoiYy0xIn0.aw-N.sig_-x"
    for name, message_id, link in (
        ("a.eml", "<9999@x.test>", "http://127.0.0.1:8002/m/someone-else"),
        ("b.eml", f"<{ours}@koppel.local>", page),
    ):
        (mail / name).write_bytes(
            f"Message-ID: {message_id}\r\nSubject: s\r\nContent-Type: text/plain\r\n\r\n"
            f"  Al je matches:    {link}\r\n".encode()
        )

    summary = summarise(
        profiles=profiles,
        jobs=[job],
        consultants_loaded=LoadResult(),
        assignments_loaded=LoadResult(),
        tally=tally,
        load_seconds=0,
        wait_seconds=0,
        mail_dir=mail,
        webhook_log=tmp_path / "none.jsonl",
        started_at=0,
    )
    console = Console(record=True, width=200)
    render(summary, console, inbox_url="http://127.0.0.1:8025")

    assert summary["page_link"] == page
    assert f"A consultant's page (their matches, with answer buttons): {page}" in (
        console.export_text()
    )


def test_the_rendered_summary_tells_where_to_look(tmp_path: Path) -> None:
    profiles = consultants(2, 1, today=TODAY)
    summary = summarise_run(
        tmp_path,
        profiles,
        assignments(2, 1, today=TODAY),
        Tally(),
        load_seconds=1,
        wait_seconds=1,
        assignment_rate=5,
    )
    console = Console(record=True, width=200)

    render(summary, console, inbox_url="http://127.0.0.1:8025")

    text = console.export_text()
    assert "assignments 5 a second" in text
    assert "p50 0.0 s, p95 0.0 s, p99 0.0 s" in text
    assert "inbox http://127.0.0.1:8025" in text
    assert ".local/webhooks/webhooks.jsonl" in text
    assert "other users publish" not in text


def test_examples_show_a_confidential_and_an_english_match(tmp_path: Path) -> None:
    profiles = consultants(200, 1, today=TODAY)
    jobs = assignments(40, 1, today=TODAY)
    assert any(j.visibility is Visibility.CONFIDENTIAL for j in jobs)
    dutch = [p for p in profiles if p.language is Language.NL]
    english = next(p for p in profiles if p.language is Language.EN)
    tally = Tally()
    pairs = [(dutch[i], job, Language.NL) for i, job in enumerate(jobs[:-1])]
    pairs.append((english, jobs[-1], Language.EN))
    for i, (person, job, language) in enumerate(pairs):
        reason = "Opdracht op jouw niveau" if language is Language.NL else "At your level"
        found = found_match(
            job, person.id, score=0.95 - i / 100, reasons=[reason], language=language
        )
        record_event(tally, MATCHES, EventType.MATCH_FOUND, found, at=datetime.now(UTC))

    summary = summarise_run(tmp_path, profiles, jobs, tally)

    examples = summary["examples"]
    assert len(examples) == 4
    assert len({e["assignment_id"] for e in examples}) == 4
    assert examples[0]["score"] == 0.95
    assert [e["language"] for e in examples].count("en") == 1
    confidential = {
        j.id: j.organization.name for j in jobs if j.visibility is Visibility.CONFIDENTIAL
    }
    hidden = [e for e in examples if e["assignment_id"] in confidential]
    assert hidden
    assert all(e["organisation"] is None for e in hidden)
    assert all(e["assignment"].endswith("(vertrouwelijk)") for e in hidden)
    assert all(confidential[e["assignment_id"]] not in e["assignment"] for e in hidden)
