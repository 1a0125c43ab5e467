"""A demo run's tally fed with real encoded events, and its summary, for the demo's unit
tests (no broker, no services)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from koppel.cloudevents import encode, new_event
from koppel.contract import (
    Assignment,
    ConsultantProfile,
    MatchFound,
    MatchWithdrawn,
    NotificationDelivered,
    match_id_for,
)
from koppel.contract.notification import MatchEventKind
from koppel.event_types import EventType, Source
from koppel.topics import NOTIFICATIONS
from koppel.vocabulary import Channel
from koppel_demo.intake_client import LoadResult
from koppel_demo.summary import summarise
from koppel_demo.watcher import Tally
from koppel_testing.builders import match_found


def summarise_run(
    tmp_path: Path,
    profiles: Sequence[ConsultantProfile],
    jobs: Sequence[Assignment],
    tally: Tally,
    **changes: Any,
) -> dict[str, Any]:
    """`summarise` of a run that loaded nothing and took no time, with no mail or webhooks
    unless `changes` says otherwise."""
    arguments: dict[str, Any] = {
        "consultants_loaded": LoadResult(),
        "assignments_loaded": LoadResult(),
        "load_seconds": 0,
        "wait_seconds": 0,
        "mail_dir": tmp_path,
        "webhook_log": tmp_path / "none.jsonl",
        "started_at": 0,
        **changes,
    }
    return summarise(profiles=profiles, jobs=jobs, tally=tally, **arguments)


def found_match(
    job: Assignment, consultant_id: str, *, score: float = 0.8, **changes: Any
) -> MatchFound:
    """A match of `job` for the consultant, at the demo's usual score and reason."""
    fields: dict[str, Any] = {"reasons": ["Opdracht op jouw niveau"], **changes}
    return match_found(consultant_id, job, score=score, **fields)


def delivered_report(
    job: Assignment,
    consultant_id: str,
    *,
    channel: Channel,
    at: datetime,
    notification_id: str,
    kind: MatchEventKind = "match.found",
) -> NotificationDelivered:
    """The notifier's report that the match of `job` reached the consultant (on its own, or
    in a digest when `kind` says so)."""
    return NotificationDelivered(
        notification_id=notification_id,
        match_ids=[match_id_for(job.id, consultant_id)],
        consultant_id=consultant_id,
        channel=channel,
        kind=kind,
        attempts=1,
        delivered_at=at,
    )


def record_event(
    tally: Tally,
    topic: str,
    event_type: EventType,
    data: MatchFound | MatchWithdrawn | NotificationDelivered,
    *,
    at: datetime,
) -> None:
    """Encode `data` as its event at `at` and let the tally read it from `topic`."""
    source = Source.NOTIFIER if topic == NOTIFICATIONS else Source.MATCHER
    event = new_event(event_type, source=source, subject=data.consultant_id, data=data)
    value, headers = encode(event.model_copy(update={"time": at}))
    tally.record(topic, data.consultant_id.encode(), value, headers)
