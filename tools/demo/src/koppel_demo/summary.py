"""The demo's end-of-run summary as plain data (saved as JSON; drawn by `console_report`)."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from koppel.contract import (
    Assignment,
    ConsultantProfile,
    MatchFound,
    NotificationDelivered,
    NotificationFailed,
)
from koppel.public_title import shown_title
from koppel.vocabulary import Channel, Language, NotificationMode
from koppel_demo.intake_client import LoadResult
from koppel_demo.portfolio_figures import portfolio_figures
from koppel_demo.sink_counts import count_emails, count_webhooks, page_link
from koppel_demo.watcher import Tally

_BUCKETS = ((0, 0), (1, 5), (6, 10), (11, 20), (21, 50), (51, 100), (101, 10**9))


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def _bucket_label(low: int, high: int) -> str:
    if low == high:
        return str(low)
    return f"{low}+" if high >= 10**9 else f"{low}–{high}"


def summarise(
    *,
    profiles: Sequence[ConsultantProfile],
    jobs: Sequence[Assignment],
    consultants_loaded: LoadResult,
    assignments_loaded: LoadResult,
    tally: Tally,
    load_seconds: float,
    wait_seconds: float,
    mail_dir: Path,
    webhook_log: Path,
    started_at: float,
    assignment_rate: float = 0.0,
) -> dict[str, Any]:
    by_id = {profile.id: profile for profile in profiles}
    ours = {job.id for job in jobs}
    matches = [m for m in tally.standing if m.assignment.id in ours]
    per_assignment = Counter(m.assignment.id for m in matches)
    counts = [per_assignment.get(job.id, 0) for job in jobs]

    notifiable = [
        m
        for m in matches
        if m.consultant_id in by_id and m.score >= by_id[m.consultant_id].notification.min_score
    ]
    expected = sum(
        len(_instant_channels(by_id[m.consultant_id], urgent=m.urgent)) for m in notifiable
    )
    for_digest = sum(
        by_id[m.consultant_id].notification.mode is NotificationMode.DAILY_DIGEST
        and Channel.EMAIL in by_id[m.consultant_id].notification.channels
        and not m.urgent
        for m in notifiable
    )

    delivered_ours, failed_ours = _ours(tally.delivered, tally), _ours(tally.failed, tally)
    notification_ids = {o.notification_id for o in delivered_ours} | {
        o.notification_id for o in failed_ours
    }
    channels: dict[str, dict[str, int]] = {}
    for delivered in delivered_ours:
        channels.setdefault(_channel_label(delivered), Counter())["delivered"] += 1
    for failed in failed_ours:
        channels.setdefault(_channel_label(failed), Counter())["failed"] += 1
    reports = [o.notification_id for o in tally.delivered]
    reports += [o.notification_id for o in tally.failed]
    repeated = sum(report in notification_ids for report in reports) - len(notification_ids)

    return {
        "loaded": {
            "consultants_accepted": len(consultants_loaded.accepted_at),
            "consultants_refused": len(consultants_loaded.refused),
            "assignments_accepted": len(assignments_loaded.accepted_at),
            "assignments_refused": len(assignments_loaded.refused),
            "refusals": dict(
                list({**consultants_loaded.refused, **assignments_loaded.refused}.items())[:5]
            ),
            "assignment_rate": assignment_rate,
            "load_seconds": round(load_seconds, 1),
            "wait_seconds": round(wait_seconds, 1),
        },
        "events_by_type": dict(sorted(tally.events_by_type.items())),
        "dead_letters": dict(tally.dead_letters),
        "undecodable_events": tally.undecodable,
        "watcher_error": tally.error,
        "matches": {
            "found": len(matches),
            "assignments_with_matches": sum(1 for c in counts if c),
            "per_assignment": {
                "min": min(counts, default=0),
                "median": statistics.median(counts) if counts else 0,
                "p90": percentile(counts, 90),
                "max": max(counts, default=0),
                "mean": round(statistics.fmean(counts), 1) if counts else 0,
            },
            "histogram": {
                _bucket_label(low, high): sum(1 for c in counts if low <= c <= high)
                for low, high in _BUCKETS
            },
            "above_min_score": len(notifiable),
            "for_daily_digest": for_digest,
            "instant_deliveries_expected": expected,
        },
        "portfolio": portfolio_figures(matches, by_id, delivered_ours),
        "withdrawn": dict(Counter(w.reason.value for w in tally.withdrawn)),
        "repeated_delivery_reports": repeated,
        "deliveries": {name: dict(outcome) for name, outcome in sorted(channels.items())},
        "latency_seconds": _latency(tally, assignments_loaded),
        "examples": _examples(matches, by_id),
        "emails_written": count_emails(mail_dir, started_at, notification_ids),
        "page_link": page_link(mail_dir, started_at, notification_ids),
        "webhooks_received": count_webhooks(webhook_log, started_at, notification_ids),
    }


Outcome = TypeVar("Outcome", NotificationDelivered, NotificationFailed)


def _instant_channels(profile: ConsultantProfile, *, urgent: bool) -> list[Channel]:
    """Where a match goes at once: every channel, or only the webhook in digest mode unless
    the match is urgent (contract §8.5)."""
    channels = profile.notification.channels
    if profile.notification.mode is NotificationMode.DAILY_DIGEST and not urgent:
        return [channel for channel in channels if channel is Channel.WEBHOOK]
    return list(channels)


def _ours(outcomes: Sequence[Outcome], tally: Tally) -> list[Outcome]:
    """Deliveries about the demo's matches, each notification once (its first report).

    A demo consultant may hear of others' assignments too, and on a shared broker another
    notifier may report the same notification (ids are deterministic) a second time.
    """
    unique: dict[str, Outcome] = {}
    for outcome in outcomes:
        if any(match_id in tally.found for match_id in outcome.match_ids):
            unique.setdefault(outcome.notification_id, outcome)
    return list(unique.values())


def _channel_label(outcome: NotificationDelivered | NotificationFailed) -> str:
    channel = outcome.channel.value
    return f"{channel} (daily digest)" if outcome.kind == "digest" else channel


def _spread(samples: Sequence[float]) -> dict[str, float | int]:
    return {
        "samples": len(samples),
        "p50": round(percentile(samples, 50), 3),
        "p95": round(percentile(samples, 95), 3),
        "p99": round(percentile(samples, 99), 3),
        "max": round(max(samples, default=0.0), 3),
    }


def _latency(tally: Tally, assignments_loaded: LoadResult) -> dict[str, Any]:
    """Intake's acceptance of the assignment → `delivered_at` of each instant notification.

    Split at the match event's time (set by the matcher when it published the match): the
    matcher's share, then the notifier's (including the matcher's transaction commit).
    """
    total, matching, delivering = [], [], []
    for delivered in _ours(tally.delivered, tally):
        if delivered.kind == "digest":
            continue
        for match_id in delivered.match_ids:
            match = tally.found.get(match_id)
            accepted = (
                None if match is None else assignments_loaded.accepted_at.get(match.assignment.id)
            )
            if accepted is None:
                continue
            done = delivered.delivered_at.timestamp()
            total.append(done - accepted)
            found_at = tally.first_found_at.get(match_id)
            if found_at is not None:
                matching.append(found_at - accepted)
                delivering.append(done - found_at)
    return {
        **_spread(total),
        "intake_to_match": _spread(matching),
        "match_to_delivery": _spread(delivering),
    }


def _examples(
    matches: Sequence[MatchFound], by_id: dict[str, ConsultantProfile], count: int = 4
) -> list[dict[str, Any]]:
    """A spread of matches on distinct assignments, as their consultants read the reasons.

    Dutch ones from the best down to the middle, one of them confidential (the organisation
    stays hidden), and the best English one.
    """
    ranked = sorted((m for m in matches if m.consultant_id in by_id), key=lambda m: -m.score)
    dutch = [m for m in ranked if m.language is Language.NL]
    picked: list[MatchFound] = []
    seen: set[str] = set()

    def take(match: MatchFound) -> None:
        if match.assignment.id not in seen and len(picked) < count:
            picked.append(match)
            seen.add(match.assignment.id)

    for match in dutch[:: max(1, len(dutch) // (count * 2))][: count - 2]:
        take(match)
    if not any(m.assignment.organization.name is None for m in picked):
        for match in dutch[len(dutch) // 4 :]:
            if match.assignment.organization.name is None and match.assignment.id not in seen:
                take(match)
                break
    for match in ranked:
        if match.language is Language.EN and match.assignment.id not in seen:
            take(match)
            break
    for match in dutch[len(dutch) // 2 :]:
        take(match)
    return [_example(match, by_id[match.consultant_id]) for match in picked]


def _example(match: MatchFound, profile: ConsultantProfile) -> dict[str, Any]:
    """One match as the console shows it; a confidential one as its consultant sees it."""
    org = match.assignment.organization
    title = shown_title(match.assignment.model_dump(mode="json"), match.language.value)
    if org.name is None:
        title += " (vertrouwelijk)" if match.language is Language.NL else " (confidential)"
    return {
        "consultant": profile.name,
        "consultant_id": match.consultant_id,
        "language": match.language.value,
        "assignment": title,
        "assignment_id": match.assignment.id,
        "organisation": org.name,
        "score": round(match.score, 2),
        "reasons": list(match.reasons),
    }
