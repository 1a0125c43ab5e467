"""Read Koppel's dead-letter topics and replay what they hold: `python -m koppel.dlq`.

Every consumer copies a record it cannot use to `<topic>.dlq` with the original key, value
and headers plus the error headers of `koppel.dead_letters` (`koppel-error-code`,
`-reason`, `-source-topic`, `-source-partition`, `-source-offset`, `-at`).

    python -m koppel.dlq show koppel.intake.raw.v1.dlq --code invalid_payload
    python -m koppel.dlq replay koppel.consultants.v1.dlq --from-offset 12 --dry-run

`replay` produces the original key, value and headers (error headers removed, a
`koppel-replayed-from` header added) to the source topic, or to `--to`, with the dead
letter's record timestamp rather than now: a replayed record keeps its CloudEvents `time`
(in the value), and a raw record without one is dated by intake from that timestamp, so
the services can tell a record written before a consultant's erasure from a new one.

On topics keyed by the entity id (all but matches and notifications) a dead letter whose
source partition already holds a later record with the same key is *superseded* and
skipped: replaying it would put an older state of the entity back. A replayed copy
supersedes its dead letter, so running the same replay twice produces nothing the second
time. Two dead letters of one source record (the matcher and the notifier both read
`koppel.consultants.v1`) are replayed once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition

from koppel import dead_letters, kafka_clients
from koppel.kafka_clients import KafkaConnection
from koppel.settings import kafka_from_environment
from koppel.topics import MATCHES, NOTIFICATIONS

REPLAYED_FROM = "koppel-replayed-from"
_ERROR_PREFIX = "koppel-error-"
_DLQ_SUFFIX = ".dlq"
# Keyed by consultant id, many events per key: a later record does not replace an earlier.
_NOT_ENTITY_KEYED = frozenset({MATCHES, NOTIFICATIONS})


@dataclass(frozen=True)
class DeadLetter:
    """One record of a dead-letter topic, with the error headers read in either spelling."""

    dlq_topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    timestamp_ms: int | None = None
    """The dead letter's Kafka timestamp: about when the original record was read."""

    def header(self, *names: str) -> str | None:
        """The first of `names` present, decoded (last occurrence wins, as it was appended)."""
        found: dict[str, bytes] = dict(self.headers)
        for name in names:
            if name in found:
                return found[name].decode(errors="replace")
        return None

    @property
    def code(self) -> str | None:
        return self.header(dead_letters.CODE)

    @property
    def reason(self) -> str | None:
        return self.header(dead_letters.REASON)

    @property
    def source_topic(self) -> str:
        named = self.header(dead_letters.SOURCE_TOPIC)
        return named or self.dlq_topic.removesuffix(_DLQ_SUFFIX)

    @property
    def source_partition(self) -> int | None:
        return _int(self.header(dead_letters.SOURCE_PARTITION))

    @property
    def source_offset(self) -> int | None:
        return _int(self.header(dead_letters.SOURCE_OFFSET))

    @property
    def original_headers(self) -> list[tuple[str, bytes]]:
        """The headers the record had before it was dead-lettered (and before any replay)."""
        return [
            (name, value)
            for name, value in self.headers
            if not name.startswith(_ERROR_PREFIX) and name != REPLAYED_FROM
        ]

    @property
    def origin(self) -> str:
        return f"{self.dlq_topic}:{self.partition}:{self.offset}"

    def describe(self, *, value_chars: int = 0) -> dict[str, object]:
        """A JSON-able summary; the value is included (truncated) only when asked for."""
        summary: dict[str, object] = {
            "dlq": self.origin,
            "key": None if self.key is None else self.key.decode(errors="replace"),
            "code": self.code,
            "reason": self.reason,
            "source": f"{self.source_topic}:{self.source_partition}:{self.source_offset}",
            "at": self.header(dead_letters.AT),
        }
        if value_chars > 0:
            text = None if self.value is None else self.value.decode(errors="replace")
            summary["value"] = None if text is None else text[:value_chars]
        return summary


@dataclass(frozen=True)
class Selection:
    """Which dead letters to act on; every given criterion must hold."""

    from_offset: int = 0
    until_offset: int | None = None
    codes: frozenset[str] = frozenset()
    key: str | None = None

    def __call__(self, dead: DeadLetter) -> bool:
        if dead.offset < self.from_offset:
            return False
        if self.until_offset is not None and dead.offset >= self.until_offset:
            return False
        if self.codes and dead.code not in self.codes:
            return False
        return self.key is None or (
            dead.key is not None and dead.key.decode(errors="replace") == self.key
        )


def checks_supersession(topic: str) -> bool:
    """Whether a later record with the same key on `topic` replaces an earlier one."""
    return topic not in _NOT_ENTITY_KEYED


def superseded(dead: DeadLetter, latest: dict[tuple[str, int, bytes], int]) -> bool | None:
    """Whether a later record with the dead letter's key is on its source partition.

    `latest` maps (topic, partition, key) to the highest offset seen there. None when the
    dead letter does not say where it came from, so nobody can tell.
    """
    partition, offset = dead.source_partition, dead.source_offset
    if partition is None or offset is None or dead.key is None:
        return None
    return latest.get((dead.source_topic, partition, dead.key), -1) > offset


async def read_dead_letters(
    kafka: KafkaConnection | str, dlq_topic: str, selection: Selection
) -> list[DeadLetter]:
    """The selected records of `dlq_topic`, up to its end when called (committed only)."""
    partitions = await _partitions(kafka, dlq_topic)
    if not partitions:
        raise SystemExit(f"koppel.dlq: topic {dlq_topic!r} does not exist")
    tps = [TopicPartition(dlq_topic, partition) for partition in partitions]
    consumer = _consumer(kafka)
    await consumer.start()
    try:
        found: list[DeadLetter] = []

        def keep(record: DeadLetter) -> None:
            if selection(record):
                found.append(record)

        starts = dict.fromkeys(tps, selection.from_offset)
        await _read_to_end(consumer, starts, lambda tp, rec: keep(_dead_letter(tp, rec)))
        return found
    finally:
        await consumer.stop()


async def latest_offsets(
    kafka: KafkaConnection | str, dead_letters: Iterable[DeadLetter]
) -> dict[tuple[str, int, bytes], int]:
    """For each dead letter's source partition: the last offset of each key of interest."""
    wanted: dict[TopicPartition, set[bytes]] = {}
    starts: dict[TopicPartition, int] = {}
    for dead in dead_letters:
        partition, offset = dead.source_partition, dead.source_offset
        if partition is None or offset is None or dead.key is None:
            continue
        tp = TopicPartition(dead.source_topic, partition)
        wanted.setdefault(tp, set()).add(dead.key)
        starts[tp] = min(starts.get(tp, offset + 1), offset + 1)
    latest: dict[tuple[str, int, bytes], int] = {}
    if not starts:
        return latest

    def note(tp: TopicPartition, record: _Record) -> None:
        if record.key in wanted[tp]:
            latest[(tp.topic, tp.partition, record.key)] = record.offset

    consumer = _consumer(kafka)
    await consumer.start()
    try:
        await _read_to_end(consumer, starts, note)
    finally:
        await consumer.stop()
    return latest


async def replay(
    kafka: KafkaConnection | str,
    dead_letters: Sequence[DeadLetter],
    *,
    to: str | None = None,
    include_superseded: bool = False,
    dry_run: bool = False,
    report: Callable[[dict[str, object]], None] = lambda _line: None,
) -> int:
    """Produce the dead letters again (acks=all, in order); return how many (would) go out."""
    checked = [d for d in dead_letters if checks_supersession(d.source_topic)]
    latest = {} if include_superseded else await latest_offsets(kafka, checked)
    producer = kafka_clients.producer(
        kafka,
        client_id="koppel-dlq-replay",
        acks="all",
        enable_idempotence=True,
    )
    await producer.start()
    produced = 0
    replayed_sources: set[tuple[str, int | None, int | None]] = set()
    try:
        for dead in dead_letters:
            target = to or dead.source_topic
            action = _action(dead, latest, include_superseded=include_superseded)
            source = (dead.source_topic, dead.source_partition, dead.source_offset)
            if action == "replay" and source in replayed_sources:
                # The matcher and the notifier both read koppel.consultants.v1, so one bad
                # record there can have two dead letters: produce it once.
                action = "skipped_duplicate"
            if action == "replay" and source[2] is not None:
                replayed_sources.add(source)
            if action == "replay" and dry_run:
                produced += 1
                action = "would_replay"
            elif action == "replay":
                headers = [*dead.original_headers, (REPLAYED_FROM, dead.origin.encode())]
                await producer.send_and_wait(
                    target,
                    dead.value,
                    key=dead.key,
                    headers=headers,
                    timestamp_ms=dead.timestamp_ms,
                )
                produced += 1
                action = "replayed"
            report({**dead.describe(), "to": target, "action": action})
    finally:
        await producer.stop()
    return produced


def _action(
    dead: DeadLetter, latest: dict[tuple[str, int, bytes], int], *, include_superseded: bool
) -> str:
    if include_superseded or not checks_supersession(dead.source_topic):
        return "replay"
    verdict = superseded(dead, latest)
    if verdict is None:
        return "skipped_unknown_source"
    return "skipped_superseded" if verdict else "replay"


@dataclass(frozen=True)
class _Record:
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    timestamp_ms: int | None = None


async def _partitions(kafka: KafkaConnection | str, topic: str) -> list[int]:
    admin = kafka_clients.admin(kafka, client_id="koppel-dlq")
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(
        int(partition["partition"])
        for entry in described
        if entry["topic"] == topic and not entry["error_code"]
        for partition in entry["partitions"]
    )


def _consumer(kafka: KafkaConnection | str) -> AIOKafkaConsumer:
    # No group: nothing is committed, and reading never disturbs a service's offsets.
    # read_committed: the matcher writes its dead letters inside Kafka transactions.
    return kafka_clients.consumer(
        kafka,
        client_id="koppel-dlq",
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
    )


async def _read_to_end(
    consumer: AIOKafkaConsumer,
    starts: dict[TopicPartition, int],
    visit: Callable[[TopicPartition, _Record], None],
) -> None:
    """Read each partition from its start offset to its end as of now."""
    consumer.assign(list(starts))
    ends: dict[TopicPartition, int] = await consumer.end_offsets(list(starts))
    earliest: dict[TopicPartition, int] = await consumer.beginning_offsets(list(starts))
    pending = set()
    for tp, start in starts.items():
        begin = max(start, earliest[tp])
        if begin < ends[tp]:
            consumer.seek(tp, begin)
            pending.add(tp)
    while pending:
        batches = await consumer.getmany(*pending, timeout_ms=1000)
        for tp, records in batches.items():
            for record in records:
                if record.offset < ends[tp]:
                    visit(
                        tp,
                        _Record(
                            record.offset,
                            record.key,
                            record.value,
                            record.headers,
                            record.timestamp,
                        ),
                    )
        for tp in list(pending):
            if await consumer.position(tp) >= ends[tp]:
                pending.discard(tp)


def _dead_letter(tp: TopicPartition, record: _Record) -> DeadLetter:
    return DeadLetter(
        tp.topic,
        tp.partition,
        record.offset,
        record.key,
        record.value,
        tuple(record.headers),
        record.timestamp_ms,
    )


def _int(text: str | None) -> int | None:
    try:
        return None if text is None else int(text)
    except ValueError:
        return None


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
