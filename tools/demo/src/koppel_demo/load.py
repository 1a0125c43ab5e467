"""`python -m koppel_demo.load`: feed the running stack the demo data and report what it did.

Puts every consultant, then every assignment, through the intake API; watches the match and
notification topics until deliveries stop coming (or a time limit passes); then prints a
summary and writes it to `.local/demo/summary.json`. The stack must already be running
(`deploy/local/services.sh start`). Assignments arrive `--assignment-rate` a second, as
upstream systems trickle them in: the latency measured is then the pipeline's own, not the
time a delivery queued behind all 300 assignments' others (`--assignment-rate 0` shows that).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from koppel.contract import Assignment, ConsultantProfile
from koppel.secret_policy import DEVELOPMENT_DEFAULTS
from koppel.settings import kafka_from_environment
from koppel.vocabulary import Channel
from koppel_demo import answers
from koppel_demo.answers import AnswerRound
from koppel_demo.console_report import render
from koppel_demo.data import DEFAULT_WEBHOOK_BASE_URL, assignments, consultants
from koppel_demo.intake_client import LoadResult, put_all, token_from
from koppel_demo.summary import summarise
from koppel_demo.watcher import Tally, TopicWatcher

STATE_DIR = Path(".local/demo")
MAIL_DIR = Path(".local/mail")
WEBHOOK_LOG = Path(".local/webhooks/webhooks.jsonl")


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="koppel_demo.load", description=__doc__)
    parser.add_argument("--consultants", type=int, default=2000)
    parser.add_argument("--assignments", type=int, default=300)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--intake-url", default=os.environ.get("INTAKE_URL", "http://127.0.0.1:8000")
    )
    parser.add_argument(
        "--webhook-base-url",
        default=os.environ.get("DEMO_WEBHOOK_BASE_URL", DEFAULT_WEBHOOK_BASE_URL),
    )
    parser.add_argument(
        "--bootstrap-servers", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    )
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--assignment-rate",
        type=float,
        default=5.0,
        help="assignments published per second, as upstream systems would trickle them in "
        "(0: all at once, a burst whose deliveries queue behind each other)",
    )
    parser.add_argument("--max-wait", type=float, default=120.0, help="seconds to wait at most")
    parser.add_argument("--quiet", type=float, default=10.0, help="stop after this many quiet s")
    parser.add_argument(
        "--first-event-timeout",
        type=float,
        default=60.0,
        help="give up waiting when no match or delivery appeared after this many seconds",
    )
    parser.add_argument("--inbox-url", default="http://127.0.0.1:8025")
    parser.add_argument(
        "--answer-share",
        type=float,
        default=0.2,
        help="share of the delivered matches the demo answers through the intake API, after "
        "which the declined assignments change their start date (0: no answers)",
    )
    return parser.parse_args(argv)


async def _wait_for_deliveries(
    watcher: TopicWatcher, *, max_wait: float, quiet: float, first_event_timeout: float
) -> float:
    """Until matches and deliveries have been quiet for `quiet` seconds, or time is up.

    Quiet only counts once the first match or delivery about the demo data was seen, so a
    matcher still working through a backlog is waited for (up to `first_event_timeout`).
    """
    started = time.monotonic()
    tally = watcher.tally
    while True:
        now = time.monotonic()
        last = tally.last_match_activity
        if tally.error or now - started >= max_wait:
            return now - started
        if last is not None and now - last >= quiet:
            return now - started
        if last is None and now - started >= first_event_timeout:
            return now - started
        await asyncio.sleep(0.5)


@dataclass
class Run:
    """What one load did: the intake's answers and what the topics showed."""

    consultants: LoadResult
    assignments: LoadResult
    tally: Tally
    started_at: float
    load_seconds: float = 0.0
    wait_seconds: float = 0.0
    answers: AnswerRound | None = None
    updates_before_answers: int = 0


async def drive(
    args: argparse.Namespace,
    profiles: Sequence[ConsultantProfile],
    jobs: Sequence[Assignment],
    console: Console,
) -> Run:
    """PUT everything with a progress bar, then watch until the deliveries settle."""
    tokens = os.environ.get("INTAKE_API_TOKENS") or DEVELOPMENT_DEFAULTS["INTAKE_API_TOKENS"]
    token = token_from(tokens)
    keys = frozenset(p.id for p in profiles) | frozenset(j.id for j in jobs)
    watcher = TopicWatcher(kafka_from_environment("koppel_demo.load", args.bootstrap_servers), keys)
    await watcher.start()
    run = Run(LoadResult(), LoadResult(), watcher.tally, started_at=time.time())
    try:
        async with httpx.AsyncClient(
            base_url=args.intake_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30.0,
            limits=httpx.Limits(max_connections=args.concurrency),
        ) as client:
            with Progress(
                TextColumn("{task.description:<12}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
            ) as progress:
                for kind, items, result, rate in (
                    ("consultants", profiles, run.consultants, None),
                    ("assignments", jobs, run.assignments, args.assignment_rate or None),
                ):
                    task = progress.add_task(kind, total=len(items))
                    await put_all(
                        client,
                        kind,
                        items,
                        concurrency=args.concurrency,
                        on_done=functools.partial(progress.advance, task),
                        result=result,
                        rate=rate,
                    )
            run.load_seconds = time.time() - run.started_at
            with console.status("waiting for matches and deliveries to settle…"):
                run.wait_seconds = await _wait_for_deliveries(
                    watcher,
                    max_wait=args.max_wait,
                    quiet=args.quiet,
                    first_event_timeout=args.first_event_timeout,
                )
            if args.answer_share > 0:
                with console.status("answering matches, changing the declined assignments…"):
                    await _answer(client, args, jobs, run, watcher)
    finally:
        await watcher.stop()
    return run


async def _answer(
    client: httpx.AsyncClient,
    args: argparse.Namespace,
    jobs: Sequence[Assignment],
    run: Run,
    watcher: TopicWatcher,
) -> None:
    """Answer a share of the standing matches, change the declined assignments, watch again."""
    round_ = AnswerRound(answers=answers.plan(run.tally.standing, args.answer_share, args.seed))
    round_.refused = await answers.answer_all(client, round_.answers, concurrency=args.concurrency)
    round_.revised = answers.revisions(
        [a for a in round_.answers if a.match.match_id not in round_.refused], jobs
    )
    run.answers = round_
    run.updates_before_answers = len(run.tally.updated)
    revised = LoadResult()
    await put_all(
        client,
        "assignments",
        round_.revised,
        concurrency=args.concurrency,
        on_done=lambda: None,
        result=revised,
    )
    run.tally.last_match_activity = None
    run.wait_seconds += await _wait_for_deliveries(
        watcher, max_wait=args.max_wait, quiet=args.quiet, first_event_timeout=30.0
    )


def _write_secrets(profiles: Sequence[ConsultantProfile]) -> None:
    """The webhook receiver reads the secrets from here (re-read whenever the file changes)."""
    secrets = {
        p.id: p.notification.webhook_secret.get_secret_value()
        for p in profiles
        if Channel.WEBHOOK in p.notification.channels and p.notification.webhook_secret
    }
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    (STATE_DIR / "webhook_secrets.json").write_text(json.dumps(secrets, indent=0))


def report(
    args: argparse.Namespace,
    profiles: Sequence[ConsultantProfile],
    jobs: Sequence[Assignment],
    run: Run,
    console: Console,
) -> int:
    summary = summarise(
        profiles=profiles,
        jobs=jobs,
        consultants_loaded=run.consultants,
        assignments_loaded=run.assignments,
        tally=run.tally,
        load_seconds=run.load_seconds,
        wait_seconds=run.wait_seconds,
        mail_dir=MAIL_DIR,
        webhook_log=WEBHOOK_LOG,
        started_at=run.started_at,
        assignment_rate=args.assignment_rate,
    )
    if run.answers is not None:
        summary["answers"] = answers.outcome(
            run.answers, run.tally.updated[run.updates_before_answers :]
        )
    (STATE_DIR / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    render(summary, console, inbox_url=args.inbox_url)
    if not run.assignments.accepted_at:
        console.print("[red]intake accepted no assignments; see the refusals above[/]")
        return 1
    if not summary["matches"]["found"]:
        console.print(
            "[yellow]No matches about the demo data were seen. If it was loaded before, "
            "unchanged content is not matched or notified again (DOMAIN.md §3): try another "
            "--seed. Otherwise the matcher may still be busy: see .local/logs/matcher.log.[/]"
        )
    return 0


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    console = Console()
    profiles = consultants(args.consultants, args.seed, webhook_base_url=args.webhook_base_url)
    jobs = assignments(args.assignments, args.seed)
    _write_secrets(profiles)
    try:
        run = asyncio.run(drive(args, profiles, jobs, console))
        sys.exit(report(args, profiles, jobs, run, console))
    except KeyboardInterrupt:
        console.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
