"""Dead letters as Koppel's tools read them: the records of a `<topic>.dlq`, selected.

Every consumer copies a record it cannot use to `<topic>.dlq` with the original key, value
and headers plus the error headers of `koppel.dead_letters`. Reading never joins a
consumer group, so it never moves a service's offsets; `koppel.dead_letter_replay` produces
what is read here again, and `python -m koppel.dlq` is the command on top of both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition

from koppel import dead_letters, kafka_clients
from koppel.kafka_clients import KafkaConnection

REPLAYED_FROM = "koppel-replayed-from"
"""Added by a replay (`koppel.dead_letter_replay`): the dead letter it came from."""
_ERROR_PREFIX = "koppel-error-"
_DLQ_SUFFIX = ".dlq"


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
