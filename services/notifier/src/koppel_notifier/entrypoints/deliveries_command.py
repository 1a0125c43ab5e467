"""`koppel-notifier deliveries list|retry|discard|backlog`: the operator's hand on deliveries
given up on.

    koppel-notifier deliveries backlog
    koppel-notifier deliveries list --channel webhook --since 24h
    koppel-notifier deliveries retry --all --consultant dora-4 --dry-run
    koppel-notifier deliveries retry 1f0c…-…  msg_1f0c…
    koppel-notifier deliveries discard --all --since 2026-12-01 --reason "receiver retired"

It reads the notifier's settings (DATABASE_URL), prints a table, or one JSON object a line
with `--json`, on stdout and a summary on stderr; it shows ids, channel, kind, attempts and
error codes, never an address, URL or name. Exit status: 0 done, 1 nothing matched (or
nothing could be retried), 2 usage or configuration, 3 PostgreSQL unreachable or refusing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import asyncpg
from pydantic import ValidationError

from koppel.contract.common import NO_CONTROL_CHARACTERS_PATTERN
from koppel.logging import configure_logging
from koppel.settings import describe_settings_error
from koppel_notifier.bootstrap import dead_deliveries
from koppel_notifier.domain.dead_deliveries import (
    BacklogCount,
    DeadDelivery,
    Refusal,
    Selection,
)
from koppel_notifier.domain.model import ChannelName, Status
from koppel_notifier.domain.webhook_body import webhook_id
from koppel_notifier.service_layer import dead_deliveries as use_cases
from koppel_notifier.settings import Settings

PROGRAM = "koppel-notifier deliveries"
DONE, NOTHING, USAGE, DATABASE = 0, 1, 2, 3
LIST_LIMIT = 100
REASON_MAX = 200

_RELATIVE = re.compile(r"^(\d+)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}

REFUSALS = {
    Refusal.ERASED: "the consultant was erased; nothing is sent to them again",
    Refusal.UNSUBSCRIBED: "the consultant unsubscribed this email address",
    Refusal.SUPERSEDED: "the match changed, was withdrawn or found again since; the later"
    " event has its own delivery",
    Refusal.CHANNEL_CLOSED: "the profile no longer takes this channel (channel removed,"
    " consent withdrawn, inactive, address bounced or URL gone)",
}
"""What an operator is told about each refusal, once per run."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command in {"retry", "discard"} and bool(args.ids) == args.all:
        parser.error("name the deliveries by id, or select them with --all and filters")
    try:
        settings = Settings()
    except ValidationError as error:
        print(
            f"{PROGRAM}: invalid configuration: {describe_settings_error(error)}", file=sys.stderr
        )
        return USAGE
    configure_logging("notifier", level=settings.log_level, json=settings.log_json)
    try:
        return asyncio.run(_run(args, settings))
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        # The type and SQLSTATE only: a server message can quote row values.
        state = getattr(exc, "sqlstate", None)
        said = f"{PROGRAM}: PostgreSQL: {type(exc).__name__} {state or ''}"
        print(said.rstrip(), file=sys.stderr)
        return DATABASE


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "backlog":
        async with dead_deliveries(settings) as store:
            counts = await use_cases.backlog(store)
        _print_backlog(args.json, counts)
        return DONE
    statuses = {Status.DEAD, Status.FAILED} if args.include_failed else {Status.DEAD}
    selection = Selection(
        statuses=frozenset(statuses),
        ids=tuple(args.ids),
        consultant_id=args.consultant,
        channel=args.channel,
        since=args.since,
        limit=args.limit,
    )
    async with dead_deliveries(settings) as store:
        if args.command == "list":
            found = await use_cases.given_up(store, selection)
            _show(args.json, [(delivery, None) for delivery in found])
            print(f"{len(found)} listed", file=sys.stderr)
            return DONE if found else NOTHING
        if args.command == "retry":
            return _retried(
                args.json, await use_cases.retry(store, selection, dry_run=args.dry_run)
            )
        report = await use_cases.discard(store, selection, args.reason, dry_run=args.dry_run)
        verb = "would discard" if report.dry_run else "discarded"
        _show(
            args.json,
            [(delivery, verb) for delivery in report.discarded]
            + [(delivery, "no longer given up") for delivery in report.moved_on],
        )
        total = len(report.discarded) + len(report.moved_on)
        print(f"{total} selected: {len(report.discarded)} {verb}", file=sys.stderr)
        return DONE if report.discarded else NOTHING


def _retried(as_json: bool, report: use_cases.RetryReport) -> int:
    verb = "would retry" if report.dry_run else "retried"
    _show(
        as_json,
        [(delivery, verb) for delivery in report.requeued]
        + [(delivery, f"refused: {refusal.value}") for delivery, refusal in report.refused]
        + [(delivery, "no longer dead") for delivery in report.moved_on],
    )
    total = len(report.requeued) + len(report.refused) + len(report.moved_on)
    print(
        f"{total} selected: {len(report.requeued)} {verb}, {len(report.refused)} refused",
        file=sys.stderr,
    )
    for refusal in sorted({refusal for _, refusal in report.refused}):
        print(f"  refused {refusal.value}: {REFUSALS[refusal]}", file=sys.stderr)
    return DONE if report.requeued else NOTHING


def _print_backlog(as_json: bool, counts: Sequence[BacklogCount]) -> None:
    if as_json:
        for count in counts:
            line = {"channel": count.channel.value, "status": count.status.value}
            print(json.dumps({**line, "count": count.count}))
        return
    rows = [(count.channel.value, count.status.value, str(count.count)) for count in counts]
    _print_table(("CHANNEL", "STATUS", "COUNT"), rows)


def _print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    table = [header, *rows]
    widths = [max(len(row[column]) for row in table) for column in range(len(header))]
    for row in table:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


def _show(as_json: bool, lines: Sequence[tuple[DeadDelivery, str | None]]) -> None:
    if as_json:
        for delivery, action in lines:
            described = _described(delivery)
            if action is not None:
                described["action"] = action
            print(json.dumps(described, ensure_ascii=False), flush=True)
        return
    if not lines:
        return
    header = ["DELIVERY", "CONSULTANT", "CHANNEL", "KIND", "STATUS", "ATTEMPTS", "GIVEN UP"]
    header += ["ERROR"] + (["ACTION"] if lines[0][1] is not None else [])
    _print_table(
        header, [_cells(delivery) + ([action] if action else []) for delivery, action in lines]
    )


def _cells(delivery: DeadDelivery) -> list[str]:
    given_up = delivery.given_up_at
    return [
        delivery.id,
        delivery.consultant_id,
        delivery.channel.value,
        delivery.kind.value,
        delivery.status.value,
        str(delivery.attempts),
        "-" if given_up is None else given_up.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
        delivery.error or "-",
    ]


def _described(delivery: DeadDelivery) -> dict[str, object]:
    given_up = delivery.given_up_at
    return {
        "delivery_id": delivery.id,
        "webhook_id": webhook_id(delivery.id) if delivery.channel is ChannelName.WEBHOOK else None,
        "consultant_id": delivery.consultant_id,
        "channel": delivery.channel.value,
        "kind": delivery.kind.value,
        "status": delivery.status.value,
        "attempts": delivery.attempts,
        "error": delivery.error,
        "given_up_at": None if given_up is None else given_up.isoformat(),
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    counting = commands.add_parser("backlog", help="how many deliveries are in each status")
    counting.add_argument("--json", action="store_true", help="one JSON object a line")
    listing = commands.add_parser("list", help="show dead (and failed) deliveries, latest first")
    again = commands.add_parser("retry", help="make dead deliveries due again, same webhook-id")
    ending = commands.add_parser("discard", help="end dead deliveries as discarded, with a reason")
    for command in (listing, again, ending):
        command.add_argument("--consultant", help="only this consultant id")
        command.add_argument("--channel", type=ChannelName, choices=list(ChannelName))
        command.add_argument(
            "--since", type=_since, help="given up since: 30m, 24h, 7d or an ISO date/time (UTC)"
        )
        command.add_argument("--json", action="store_true", help="one JSON object a line")
    listing.add_argument("--limit", type=_positive, default=LIST_LIMIT)
    listing.add_argument("--include-failed", action="store_true", help="failed ones too")
    listing.set_defaults(ids=[], all=True)
    for command in (again, ending):
        command.add_argument(
            "ids", nargs="*", type=_delivery_id, help="delivery ids (or webhook-ids, msg_…)"
        )
        command.add_argument("--all", action="store_true", help="every delivery the filters select")
        command.add_argument("--limit", type=_positive, help="at most this many, latest first")
        command.add_argument("--dry-run", action="store_true", help="say what would be done")
    again.set_defaults(include_failed=False)
    ending.add_argument("--include-failed", action="store_true", help="failed ones too")
    ending.add_argument("--reason", type=_reason, required=True, help="why (kept on the row)")
    return parser


def _delivery_id(text: str) -> str:
    try:
        return str(uuid.UUID(text.removeprefix("msg_")))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a delivery id or webhook-id: {text!r}") from None


def _since(text: str) -> datetime:
    relative = _RELATIVE.match(text)
    if relative is not None:
        amount, unit = relative.groups()
        return datetime.now(UTC) - timedelta(**{_UNITS[unit]: int(amount)})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not 30m, 24h, 7d or an ISO date: {text!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"not a positive number: {text!r}")
    return int(text)


def _reason(text: str) -> str:
    reason = text.strip()
    one_line = re.match(NO_CONTROL_CHARACTERS_PATTERN, reason) is not None
    if not reason or len(reason) > REASON_MAX or not one_line:
        raise argparse.ArgumentTypeError(
            f"1 to {REASON_MAX} characters on one line, no control characters"
        )
    return reason
