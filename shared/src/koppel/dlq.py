"""Read Koppel's dead-letter topics and replay what they hold: `python -m koppel.dlq`.

Every consumer copies a record it cannot use to `<topic>.dlq` with the original key, value
and headers plus the error headers of `koppel.dead_letters` (`koppel-error-code`,
`-reason`, `-source-topic`, `-source-partition`, `-source-offset`, `-at`).

    python -m koppel.dlq show koppel.intake.raw.v1.dlq --code invalid_payload
    python -m koppel.dlq replay koppel.consultants.v1.dlq --from-offset 12 --dry-run

`show` prints one JSON line per selected dead letter (`koppel.dead_letter_reading`);
`replay` produces their original records to the source topic, or to `--to`, skipping
superseded ones (`koppel.dead_letter_replay` says which and why), and prints what it did
with each.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence

from koppel.dead_letter_reading import Selection, read_dead_letters
from koppel.dead_letter_replay import replay
from koppel.settings import kafka_from_environment


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m koppel.dlq", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--bootstrap-servers", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    )
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("show", help="print the dead letters as JSON lines")
    again = commands.add_parser("replay", help="produce the dead letters to their source topic")
    for command in (show, again):
        command.add_argument("dlq_topic", help="e.g. koppel.intake.raw.v1.dlq")
        command.add_argument("--from-offset", type=int, default=0)
        command.add_argument("--until-offset", type=int, help="exclusive")
        command.add_argument("--code", action="append", default=[], help="repeatable")
        command.add_argument("--key", help="only this record key (entity id)")
    show.add_argument("--value-chars", type=int, default=300, help="0 leaves the value out")
    again.add_argument("--to", help="produce here instead of the source topic")
    again.add_argument("--include-superseded", action="store_true")
    again.add_argument("--dry-run", action="store_true", help="say what would be replayed")
    return parser.parse_args(argv)


async def _run(args: argparse.Namespace) -> None:
    selection = Selection(args.from_offset, args.until_offset, frozenset(args.code), args.key)
    kafka = kafka_from_environment("koppel.dlq", args.bootstrap_servers)
    dead_letters = await read_dead_letters(kafka, args.dlq_topic, selection)
    if args.command == "show":
        for dead in dead_letters:
            _print(dead.describe(value_chars=args.value_chars))
        print(f"{len(dead_letters)} dead letters", file=sys.stderr)
        return
    produced = await replay(
        kafka,
        dead_letters,
        to=args.to,
        include_superseded=args.include_superseded,
        dry_run=args.dry_run,
        report=_print,
    )
    verb = "would replay" if args.dry_run else "replayed"
    print(f"{len(dead_letters)} selected, {produced} {verb}", file=sys.stderr)


def _print(line: dict[str, object]) -> None:
    print(json.dumps(line, ensure_ascii=False), flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    asyncio.run(_run(_arguments(argv)))


if __name__ == "__main__":
    main()
