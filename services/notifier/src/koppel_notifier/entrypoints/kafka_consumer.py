"""Consumes matches, profiles and answers; delivery rows are committed before the offsets are.

Thin: each record is translated into a command (`record_translation`) and handled by
`service_layer.inbox`, a whole batch in one transaction of the `Inbox`.

aiokafka directly rather than FastStream: a whole `getmany` batch is written to PostgreSQL
in one transaction and only then are its offsets committed, which needs manual commits at
batch granularity. A crash in between replays the batch, and the unique keys in the
database turn the replay into a no-op.

A record PostgreSQL refuses (a NUL in a text, a number out of range, a violated
constraint) must not hold the batch back forever: the batch is then written again with
each record in a savepoint of its own, the refused ones rolled back alone and dead-lettered
with the reason, and the rest committed. What says nothing about the record (the
connection lost, PostgreSQL down or restarting, a deadlock) rewinds the batch instead.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import asyncpg
import structlog
from aiokafka import (
    AIOKafkaConsumer,
    ConsumerRebalanceListener,
    ConsumerRecord,
    TopicPartition,
)
from aiokafka.errors import KafkaError
from aiokafka.structs import OffsetAndMetadata

from koppel import kafka_clients
from koppel.consumer_lag import ConsumerLag
from koppel.dead_letters import DeadLetterCode
from koppel.kafka_clients import KafkaConnection
from koppel.record_order import in_written_order
from koppel.secret_sealing import SecretKeyring
from koppel.topics import CONSULTANTS, MATCHES, RESPONSES, dlq
from koppel_notifier.domain.commands import Command
from koppel_notifier.entrypoints.record_translation import Unusable, translate
from koppel_notifier.metrics import NotifierMetrics
from koppel_notifier.service_layer import inbox
from koppel_notifier.service_layer.ports import DeadLetterPublisher, Inbox

log = structlog.get_logger(__name__)

COMMIT_INTERVAL_S = 1.0

REFUSED_RECORD = (
    asyncpg.DataError,
    asyncpg.IntegrityConstraintViolationError,
    asyncpg.ProgramLimitExceededError,
)
"""Errors about the record written, not about the database: SQLSTATE classes 22 (data
exception: NUL in text, out of range, bad encoding; asyncpg raises it too for an argument
it cannot encode), 23 (integrity constraint violation) and 54 (program limit exceeded:
an index row too large). Writing the same record again fails the same way. Connection
errors (class 08, `OSError`, `InterfaceError`), PostgreSQL shutting down or starting
(57P), resources (53) and conflicts (40) are not among them: the batch is retried."""

_Written = tuple[ConsumerRecord, str | asyncpg.PostgresError]


def make_consumer(
    kafka: KafkaConnection | str,
    group_id: str,
    *,
    fetch_max_wait_ms: int,
    fetch_min_bytes: int,
) -> AIOKafkaConsumer:
    return kafka_clients.consumer(
        kafka,
        group_id=group_id,
        client_id="koppel-notifier",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        max_poll_records=500,
        fetch_max_wait_ms=fetch_max_wait_ms,
        fetch_min_bytes=fetch_min_bytes,
        # A crashed notifier's partitions wait for its session to expire before a restarted
        # or surviving one gets them: 6 s (the broker's minimum) rather than aiokafka's 10 s.
        session_timeout_ms=6000,
        heartbeat_interval_ms=1500,
    )


class InboxConsumer:
    """The inbox loop. A consumer aiokafka has stopped cannot start again, so each `run`
    after the first (a restart after a crash) reads through a fresh one from `new_consumer`."""

    def __init__(
        self,
        new_consumer: Callable[[], AIOKafkaConsumer],
        inbox: Inbox,
        dead_letters: DeadLetterPublisher,
        metrics: NotifierMetrics,
        on_new_work: Callable[[], None],
        *,
        group_id: str,
        keyring: SecretKeyring,
    ) -> None:
        self._new_consumer = new_consumer
        self._consumer = new_consumer()
        self._runs = 0
        self._keyring = keyring
        self._inbox = inbox
        self._dead_letters = dead_letters
        self._metrics = metrics
        self._on_new_work = on_new_work
        self._lag = ConsumerLag(metrics.consumer_lag, group_id)
        self._uncommitted: dict[TopicPartition, OffsetAndMetadata] = {}
        self._last_commit = time.monotonic()
        self.started = False
        """True once the consumer has joined its group (ready to read)."""

    async def run(self) -> None:
        if self._runs:
            self._consumer = self._new_consumer()
            self._uncommitted.clear()
        self._runs += 1
        self._consumer.subscribe([MATCHES, CONSULTANTS, RESPONSES], listener=_JoinedListener(self))
        try:
            await self._consumer.start()
            while True:
                batches = await self._consumer.getmany(timeout_ms=500, max_records=500)
                await self._lag.observe(self._consumer)
                if not batches:
                    if self._uncommitted:
                        await self.commit_offsets()
                    continue
                try:
                    await self.apply(batches)
                except (
                    asyncpg.PostgresError,
                    asyncpg.InterfaceError,
                    asyncpg.InternalClientError,
                    OSError,
                    KafkaError,
                ) as exc:
                    # Nothing was committed: rewind and try the same records again shortly.
                    # The type only: a connection error's text names the database host.
                    log.warning("batch failed; retrying", error=type(exc).__name__)
                    for partition, records in batches.items():
                        self._consumer.seek(partition, records[0].offset)
                    await asyncio.sleep(1.0)
                    continue
                self._on_new_work()
                for partition, records in batches.items():
                    self._uncommitted[partition] = OffsetAndMetadata(records[-1].offset + 1, "")
                if time.monotonic() - self._last_commit >= COMMIT_INTERVAL_S:
                    await self.commit_offsets()
        finally:
            self.started = False
            self._lag.forget()
            await self.commit_offsets()
            await self._consumer.stop()

    async def commit_offsets(self) -> None:
        """Commit the offsets of what is already in the database.

        The consumer loop calls this at most once a second while records flow, and at once
        when it goes idle, loses partitions or stops.

        Committing lags the database on purpose: a record read again after a crash or a
        rebalance is a no-op (unique keys), and a commit per batch cost the broker a request
        and a log append per match at low rates.
        """
        self._last_commit = time.monotonic()
        offsets, self._uncommitted = self._uncommitted, {}
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
        except KafkaError as exc:
            # E.g. a rebalance took the partitions away: whoever reads them next
            # replays these records, which the unique keys make harmless.
            log.warning("offset commit failed", error=str(exc))

    async def apply(self, batches: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        """Write one polled batch; dead-letter what cannot be read or what PostgreSQL refuses.

        Raises what says nothing about a record (the database away): nothing is committed.
        """
        commands: list[tuple[ConsumerRecord, Command]] = []
        for record in in_written_order(batches):
            try:
                command = translate(
                    record.topic,
                    record.key,
                    record.value,
                    list(record.headers),
                    record.timestamp,
                    keyring=self._keyring,
                )
            except Unusable as exc:
                await self._dead_letter(record, exc.code, str(exc), logged=str(exc))
                continue
            commands.append((record, command))
        try:
            written = await self._write(commands, isolated=False)
        except REFUSED_RECORD as exc:
            log.warning(
                "a record was refused; writing the batch record by record",
                sqlstate=exc.sqlstate,
                error=type(exc).__name__,
            )
            written = await self._write(commands, isolated=True)
        # Dead letters after the commit: a crash before they are out replays the batch,
        # in which the written records are no-ops and the refused ones are refused again.
        for record, result in written:
            if isinstance(result, str):
                self._metrics.events.labels(record.topic, result).inc()
                continue
            refused = f"SQLSTATE {result.sqlstate} {type(result).__name__}"
            await self._dead_letter(
                record,
                DeadLetterCode.PROCESSING_FAILED,
                f"PostgreSQL refused the record ({refused}): {result}",
                logged=refused,
            )

    async def _write(
        self, commands: list[tuple[ConsumerRecord, Command]], *, isolated: bool
    ) -> list[_Written]:
        """Apply `commands` in one transaction; `isolated` gives each record a savepoint.

        Savepoints cost two round trips a record, so only a batch that was refused as a
        whole pays them. Raises what is not `REFUSED_RECORD` (nothing is then committed).
        """
        written: list[_Written] = []
        async with self._inbox.transaction() as store:
            for record, command in commands:
                if not isolated:
                    written.append((record, await inbox.handle(store, command)))
                    continue
                try:
                    async with store.savepoint():
                        written.append((record, await inbox.handle(store, command)))
                except REFUSED_RECORD as exc:
                    written.append((record, exc))
        return written

    async def _dead_letter(
        self, record: ConsumerRecord, code: DeadLetterCode, reason: str, *, logged: str
    ) -> None:
        """Copy `record` to its dead-letter topic with `reason`; the log gets only `logged`."""
        log.warning(
            "record dead-lettered",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            code=code.value,
            error=logged,
        )
        await self._dead_letters.dead_letter(
            dlq(record.topic),
            key=record.key,
            value=record.value,
            headers=list(record.headers),
            error_code=code,
            error=reason,
            source_topic=record.topic,
            partition=record.partition,
            offset=record.offset,
        )
        self._metrics.events.labels(record.topic, "dead_lettered").inc()
        self._metrics.events_produced.labels(dlq(record.topic)).inc()


class _JoinedListener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Marks the consumer started when the group has given it its (possibly empty) share."""

    def __init__(self, consumer: InboxConsumer) -> None:
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        # Hand the partitions over with their offsets, so the next owner replays little.
        await self._consumer.commit_offsets()

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self._consumer.started = True
