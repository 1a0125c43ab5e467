"""How the matcher partitions its work and publishes every match event exactly once.

Partitioning (scale-out)
------------------------
A *shard* is one partition of `koppel.consultants.v1`. Replicas join one consumer group
(`MATCHER_GROUP_ID`) on that topic only to learn which shards they own; they do not read
through that group. For each owned shard a replica runs one shard consumer that

* reads the shard's consultants partition and ALL partitions of `koppel.assignments.v1`
  and `koppel.responses.v1` (manual assignment: assignments are broadcast to every shard;
  answers are keyed by match id, so each shard keeps those of its own consultants),
* keeps an in-memory `MatchIndex` of the shard's profiles and all open assignments, loaded
  from PostgreSQL when the shard is taken over and kept current from the topics,
* publishes match events only for its own consultants.

So every (consultant, assignment) pair belongs to exactly one shard, hence to exactly one
replica at a time, and two replicas publish the same events as one. PostgreSQL rows carry
their shard; each shard keeps its own view of the assignments (`matcher_assignments` is keyed
by (shard, id)) because each shard reads the assignment topic at its own pace and its state
must be exactly the state at its own offsets.

Exactly once
------------
Each shard has its own transactional producer, `transactional.id = <group>.shard-<n>`.
Ids are per shard, not per replica, because that is what fences a zombie: whoever takes
shard n over initialises the producer with the same id, which aborts the previous owner's
open transaction and makes its later commits fail (aiokafka does not implement KIP-447, so
this is the classic one-producer-per-input-partition pattern). A shard consumer, through
its unit of work (`unit_of_work.KafkaPostgresUnitOfWork`), then:

1. `begin_transaction()`; handles a batch of records; produces the match events (and any
   dead letters) into the transaction;
2. in ONE PostgreSQL transaction: checks the shard's `epoch` (fencing in the database,
   see below), writes the new state and ledger rows, stores the before-image of every row it
   touches in `matcher_undo`, and sets the shard's sequence number `seq` to s + 1; commits;
3. `send_offsets_to_transaction()` with the positions of all its partitions under the
   consumer group `<group>.shard-<n>`, each offset carrying the metadata `seq=<s + 1>`;
   `commit_transaction()`; then deletes the undo rows (best effort; also done in step 2).

The Kafka transaction is the source of truth. The database can be ahead of it by at most
one transaction (a crash between steps 2 and 3 leaves the database at s + 1 and Kafka at s),
never behind (the database commits first). When a replica takes a shard over it first
initialises the shard's producer (fencing the previous owner in Kafka), reads the `seq` of
the shard's committed offsets, then bumps the shard's `epoch` in PostgreSQL (fencing the
previous owner's database writes: step 2 refuses to run under a stale epoch) and compares:

* Kafka seq == database seq: consistent; drop leftover undo rows;
* Kafka seq == database seq − 1: the last transaction's events were never committed;
  restore the before-images from `matcher_undo` and set `seq` back. The records are read
  again from the committed offsets and the events produced again, against a ledger that does
  not contain them: no loss, no duplicate;
* no committed offsets but database seq > 1: the offsets expired (the group was idle longer
  than the broker's `offsets.retention.minutes`): keep the database, read from the start
  (the ledger de-duplicates what was published already) and log a warning.

The expiry sweep and the very first commit of a shard go through the same three steps, so
every change of the ledger is tied to one Kafka transaction. Dead letters are produced in
the same transaction too; since every shard reads every assignment and every answer, a bad
record of those topics is dead-lettered only by the shard whose number is its partition
modulo the shard count.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

SEQ_METADATA_PREFIX = "seq="


class Recovery(Enum):
    CONSISTENT = "consistent"
    UNDO_LAST = "undo_last"
    OFFSETS_LOST = "offsets_lost"
    DIVERGED = "diverged"


@dataclass(frozen=True, slots=True)
class RecoveryPlan:
    action: Recovery
    seq: int
    """The shard's sequence number once the plan is applied."""


def plan_recovery(database_seq: int, kafka_seq: int | None) -> RecoveryPlan:
    """What to do with the database state of a shard being taken over (see module docstring)."""
    committed = 0 if kafka_seq is None else kafka_seq
    if committed == database_seq:
        return RecoveryPlan(Recovery.CONSISTENT, database_seq)
    if committed == database_seq - 1:
        return RecoveryPlan(Recovery.UNDO_LAST, committed)
    if kafka_seq is None:
        return RecoveryPlan(Recovery.OFFSETS_LOST, database_seq)
    # Kafka ahead of the database, or more than one step apart: the database was restored
    # or the topics were recreated. Keep the data and continue from Kafka's position.
    return RecoveryPlan(Recovery.DIVERGED, max(database_seq, committed))


def seq_metadata(seq: int) -> str:
    return f"{SEQ_METADATA_PREFIX}{seq}"


def parse_seq_metadata(metadata: str | None) -> int | None:
    """The seq carried by a committed offset's metadata, or None when absent or foreign."""
    if not metadata or not metadata.startswith(SEQ_METADATA_PREFIX):
        return None
    try:
        return int(metadata.removeprefix(SEQ_METADATA_PREFIX))
    except ValueError:
        return None
