"""The summary's part-time-portfolio figures: matches a commitment ending made possible,
and urgent matches sent at once, also to daily-digest consultants (contract §8.4–8.5)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from pydantic import SecretStr
from rich.console import Console

from koppel.contract import ConsultantProfile, NotificationPreferences
from koppel.event_types import EventType
from koppel.topics import MATCHES, NOTIFICATIONS
from koppel.vocabulary import Channel, Language, NotificationMode
from koppel_demo.console_report import render
from koppel_demo.data import assignments, consultants, webhook_secret
from koppel_demo.portfolio_figures import freed_by_ending
from koppel_demo.watcher import Tally
from koppel_matcher.domain.freed_capacity import freed_reason
from koppel_matcher.domain.model import CommitmentSpec
from koppel_testing.demo_runs import delivered_report, found_match, record_event, summarise_run

TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def _with_mode(profile: ConsultantProfile, mode: NotificationMode) -> ConsultantProfile:
    preferences = NotificationPreferences(
        channels=[Channel.EMAIL, Channel.WEBHOOK],
        mode=mode,
        min_score=0.5,
        webhook_url=f"http://127.0.0.1:8090/webhooks/{profile.id}",
        webhook_secret=SecretStr(webhook_secret(profile.id, 1)),
    )
    return profile.model_copy(update={"notification": preferences})


def test_the_reason_of_a_commitment_ending_is_recognised_in_both_languages() -> None:
    job = assignments(1, 1, today=TODAY)[0]
    for reason, freed in (
        ("Je opdracht bij Gemeente Houten loopt af op 1 maart: 24 uur vrij vanaf dan", True),
        ("Een opdracht van je loopt af op 28 februari: 8 uur vrij vanaf dan", True),
        ("Your assignment at Gemeente Houten ends on 1 March: 24 hours free from then", True),
        ("One of your assignments ends on 28 February: 8 hours free from then", True),
        ("Snelle start: begint binnen 3 weken", False),
        ("Je hebt 24 uur per week vrij", False),
        ("Beschikbaar vanaf 1 maart", False),
    ):
        match = found_match(job, "c-1", reasons=["Niveau past precies", reason])
        assert freed_by_ending(match) is freed, reason


def test_the_matchers_own_wording_of_a_commitment_ending_is_recognised() -> None:
    job = assignments(1, 1, today=TODAY)[0]
    until = date(2027, 2, 28).toordinal()
    for label in ("Gemeente Houten", None):
        commitment = CommitmentSpec(hours_per_week=24, until=until, label=label)
        for language in Language:
            reason = freed_reason(commitment, 16, language)
            assert freed_by_ending(found_match(job, "c-1", reasons=[reason])), reason


def test_urgent_matches_sent_at_once_are_counted_also_for_digest_consultants(
    tmp_path: Path,
) -> None:
    base = consultants(3, 1, today=TODAY)
    digest = _with_mode(base[0], NotificationMode.DAILY_DIGEST)
    instant = _with_mode(base[1], NotificationMode.INSTANT)
    waiting = _with_mode(base[2], NotificationMode.DAILY_DIGEST)
    jobs = assignments(3, 1, today=TODAY)
    urgent_job, calm_job, freed_job = jobs
    freed_reason = "Your assignment at Gemeente Houten ends on 1 March: 24 hours free from then"
    matches = [
        found_match(urgent_job, digest.id, urgent=True),
        found_match(urgent_job, instant.id, urgent=True),
        found_match(urgent_job, waiting.id, urgent=True),
        found_match(calm_job, digest.id),
        found_match(freed_job, instant.id, reasons=[freed_reason], language=Language.EN),
    ]
    reports = [
        delivered_report(urgent_job, digest.id, channel=Channel.EMAIL, at=NOW, notification_id="1"),
        delivered_report(
            urgent_job, instant.id, channel=Channel.WEBHOOK, at=NOW, notification_id="2"
        ),
        # Only in a digest: not sent at once.
        delivered_report(
            urgent_job,
            waiting.id,
            channel=Channel.EMAIL,
            at=NOW,
            notification_id="3",
            kind="digest",
        ),
        delivered_report(calm_job, digest.id, channel=Channel.WEBHOOK, at=NOW, notification_id="4"),
    ]
    profiles = [digest, instant, waiting]
    tally = Tally(frozenset({p.id for p in profiles} | {j.id for j in jobs}))
    for match in matches:
        record_event(tally, MATCHES, EventType.MATCH_FOUND, match, at=NOW)
    for report in reports:
        record_event(tally, NOTIFICATIONS, EventType.NOTIFICATION_DELIVERED, report, at=NOW)

    summary = summarise_run(tmp_path, profiles, jobs, tally)

    assert summary["portfolio"] == {
        "freed_by_ending_commitment": 1,
        "urgent": 3,
        "urgent_sent_at_once": 2,
        "urgent_emailed_at_once_to_digest_consultants": 1,
    }
    # Email and webhook at once for all five, but the calm digest match's email waits.
    assert summary["matches"]["instant_deliveries_expected"] == 9
    assert summary["matches"]["for_daily_digest"] == 1
    console = Console(record=True, width=240)
    render(summary, console, inbox_url="http://127.0.0.1:8025")
    text = console.export_text()
    assert "1 matches made possible by a commitment ending" in text
    assert "3 matches, 2 of them sent at once — 1 emailed at once" in text
