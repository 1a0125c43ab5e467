"""One shard's Kafka and PostgreSQL transactions: the exactly-once protocol of `exactly_once`.

A transaction begins in Kafka and in PostgreSQL; the handlers write the shard's state
through its `ShardTransaction` while the events and dead letters they produce wait here. At
commit the waiting records are produced, PostgreSQL commits first, then the offsets (whose
metadata carries the new seq) and the Kafka transaction. A crash between the two commits
leaves the database one transaction ahead, which the next owner's `take_over` undoes.

An erasure's transaction also tombstones (null value, key match id) every match of the
consultant on the compacted `koppel.responses.v1`, so that the topic forgets their answers
in the same transaction that deletes them from `matcher_responses`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from koppel.cloudevents import CloudEvent, encode
from koppel.kafka_clients import KafkaConnection
from koppel.topics import ASSIGNMENTS, CONSULTANTS, MATCHES, RESPONSES
from koppel_matcher.adapters.exactly_once import seq_metadata
from koppel_matcher.adapters.kafka_admin import committed_offsets, partitions_of
from koppel_matcher.adapters.kafka_producer import transactional_producer
from koppel_matcher.adapters.state_store import ShardTransaction, StateStore
from koppel_matcher.service_layer.ports import DeadLetter, Partition, TakeOver


@dataclass
class OpenTransaction:
    """A Kafka and a PostgreSQL transaction in progress, moving the shard to `seq`."""

    seq: int
    tx: ShardTransaction
    scope: contextlib.AsyncExitStack
    events: list[tuple[str, CloudEvent]] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)


class KafkaPostgresUnitOfWork:
    """The transactions of one shard while this replica owns it (`ports.ShardUnitOfWork`)."""

    def __init__(
        self,
        shard: int,
        *,
        kafka: KafkaConnection | str,
        group_id: str,
        instance_id: str,
        store: StateStore,
        admin: AIOKafkaAdminClient,
    ) -> None:
        self.shard = shard
        self._kafka = kafka
        self._transactional_id = f"{group_id}.shard-{shard}"
        self._offsets_group = self._transactional_id
        self._client_id = f"{instance_id}.shard-{shard}"
        self._store = store
        self._admin = admin
        self._producer: AIOKafkaProducer | None = None
        self._partitions: list[TopicPartition] = []
        self._epoch = 0
        self._seq = 0
        self._open: OpenTransaction | None = None

    async def take_over(self) -> TakeOver:
        """Fence the previous owner in Kafka and PostgreSQL, repair, read the stored state."""
        self._producer = transactional_producer(
            self._kafka, transactional_id=self._transactional_id, client_id=self._client_id
        )
        await self._producer.start()  # InitProducerId: fences the previous owner in Kafka
        assignment_partitions = await partitions_of(self._admin, ASSIGNMENTS)
        response_partitions = await partitions_of(self._admin, RESPONSES)
        shard_count = len(await partitions_of(self._admin, CONSULTANTS))
        broadcast = {ASSIGNMENTS: assignment_partitions, RESPONSES: response_partitions}
        for topic, partitions in broadcast.items():
            if not partitions:
                raise RuntimeError(f"topic {topic} has no partitions (not created?)")
        self._partitions = [
            TopicPartition(CONSULTANTS, self.shard),
            *(TopicPartition(ASSIGNMENTS, p) for p in assignment_partitions),
            *(TopicPartition(RESPONSES, p) for p in response_partitions),
        ]
        offsets, kafka_seq = await committed_offsets(
            self._admin, self._offsets_group, self._partitions
        )
        self._epoch, plan = await self._store.take_over(self.shard, kafka_seq)
        self._seq = plan.seq
        return TakeOver(
            partitions=tuple((tp.topic, tp.partition) for tp in self._partitions),
            committed={(tp.topic, tp.partition): offset for tp, offset in offsets.items()},
            shard_count=shard_count,
            epoch=self._epoch,
            seq=self._seq,
            recovery=plan.action.value,
            assignments=await self._store.load_assignments(self.shard),
            profiles=await self._store.load_profiles(self.shard),
            declined=await self._store.load_declined(self.shard),
            next_wakeup=await self._store.next_wakeup(self.shard),
        )

    async def has_found(self, assignment_ids: Sequence[str]) -> bool:
        return await self._store.has_found(self.shard, assignment_ids)

    async def next_wakeup(self) -> datetime | None:
        return await self._store.next_wakeup(self.shard)

    async def begin(self) -> ShardTransaction:
        assert self._producer is not None
        seq = self._seq + 1
        await self._producer.begin_transaction()
        scope = contextlib.AsyncExitStack()
        try:
            tx = await scope.enter_async_context(
                self._store.transaction(self.shard, epoch=self._epoch, seq=seq)
            )
        except BaseException:
            await scope.aclose()
            raise
        self._open = OpenTransaction(seq=seq, tx=tx, scope=scope)
        return tx

    def publish(self, key: str, event: CloudEvent) -> None:
        assert self._open is not None
        self._open.events.append((key, event))

    def dead_letter(self, letter: DeadLetter) -> None:
        assert self._open is not None
        self._open.dead_letters.append(letter)

    async def commit(self, offsets: Mapping[Partition, int]) -> None:
        """Produce, commit PostgreSQL, then the offsets and the Kafka transaction."""
        txn = self._open
        assert txn is not None
        await self.commit_database(txn)
        await self.commit_kafka(txn, offsets)

    async def commit_database(self, txn: OpenTransaction) -> None:
        """Steps 1 and 2 of `exactly_once`: the records into the Kafka transaction, then the
        PostgreSQL commit (the database commits first)."""
        producer = self._producer
        assert producer is not None
        sends = []
        for key, event in txn.events:
            value, headers = encode(event)
            sends.append(
                await producer.send(MATCHES, value=value, key=key.encode(), headers=headers)
            )
        for match_id in txn.tx.forgotten_matches:
            sends.append(await producer.send(RESPONSES, value=None, key=match_id.encode()))
        for topic, dead_key, dead_value, dead_headers in txn.dead_letters:
            sends.append(
                await producer.send(topic, value=dead_value, key=dead_key, headers=dead_headers)
            )
        await asyncio.gather(*sends)
        # From here a failure is the database's own: its transaction rolls itself back.
        self._open = None
        await txn.scope.aclose()
        self._seq = txn.seq

    async def commit_kafka(self, txn: OpenTransaction, offsets: Mapping[Partition, int]) -> None:
        """Step 3 of `exactly_once`: the offsets, tagged with the seq, and the Kafka commit."""
        producer = self._producer
        assert producer is not None
        positions = {
            tp: (offsets[(tp.topic, tp.partition)], seq_metadata(txn.seq))
            for tp in self._partitions
        }
        await producer.send_offsets_to_transaction(positions, self._offsets_group)
        await producer.commit_transaction()
        if txn.tx.holds_erased_data:
            with contextlib.suppress(Exception):
                # Undo rows may hold an erased consultant's data: drop them as soon as possible.
                await self._store.clear_undo(self.shard)

    async def abort(self, exc: BaseException) -> None:
        """Roll the open database transaction back (Kafka's is aborted by the next owner)."""
        txn, self._open = self._open, None
        if txn is not None:
            with contextlib.suppress(Exception):
                await txn.scope.__aexit__(type(exc), exc, exc.__traceback__)

    async def close(self) -> None:
        if self._producer is not None:
            with contextlib.suppress(Exception):
                await self._producer.stop()
