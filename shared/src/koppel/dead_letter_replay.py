"""Replaying dead letters: their original records produced again, unless superseded.

`replay` produces the original key, value and headers (error headers removed, a
`koppel-replayed-from` header added) to the source topic, or to `to`, with the dead
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

from collections.abc import Callable, Sequence

from koppel import kafka_clients
from koppel.dead_letter_reading import REPLAYED_FROM, DeadLetter, latest_offsets
from koppel.kafka_clients import KafkaConnection
from koppel.topics import MATCHES, NOTIFICATIONS

# Keyed by consultant id, many events per key: a later record does not replace an earlier.
_NOT_ENTITY_KEYED = frozenset({MATCHES, NOTIFICATIONS})


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
