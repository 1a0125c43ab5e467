"""PostgreSQL persistence of the shards' state: assignments, profiles (with their capacity
wake-ups), the match ledger, the consultants' answers.

Every write inside a `ShardTransaction` first copies the row's before-image into
`matcher_undo`, so that a shard whose last transaction never reached Kafka can be put back
exactly (see `adapters.exactly_once`).

The module is longer than most: every write of the shard's state and its undo, and the
restore that reverses them, must be read together to see that they cover each other.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg
import structlog
from asyncpg.pool import PoolConnectionProxy

from koppel import postgres_pools
from koppel.contract import Assignment
from koppel.erasure import erasure_key
from koppel.vocabulary import Answer
from koppel_matcher.adapters.exactly_once import Recovery, RecoveryPlan, plan_recovery
from koppel_matcher.adapters.identity_memo import IdentityMemo
from koppel_matcher.domain.answers import StoredAnswer
from koppel_matcher.domain.dedup import LedgerEntry, MatchState

log = structlog.get_logger(__name__)

Connection = asyncpg.Connection | PoolConnectionProxy


class ShardFencedError(RuntimeError):
    """Another owner took the shard over; this worker must stop writing."""


async def _init_connection(connection: asyncpg.Connection) -> None:
    await connection.set_type_codec(
        "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
    )


async def create_pool(dsn: str, *, max_size: int = 10) -> asyncpg.Pool:
    """A pool whose connections read and write JSONB as Python objects."""
    return await postgres_pools.open_pool(dsn, min_size=1, max_size=max_size, init=_init_connection)


def _entry(row: asyncpg.Record) -> LedgerEntry:
    return LedgerEntry(
        consultant_id=row["consultant_id"],
        assignment_id=row["assignment_id"],
        match_id=row["match_id"],
        state=MatchState(row["state"]),
        revision=row["revision"],
        score=row["score"],
        reasons=tuple(row["reasons"]),
        language=row["language"],
        fingerprint=row["fingerprint"],
        announced=row["announced"],
    )


_LEDGER_COLUMNS = (
    "consultant_id, assignment_id, match_id, state, revision, score, reasons, language,"
    " fingerprint, announced"
)

# Each write below is one statement that also records the before-image: the sub-statements
# of a data-modifying WITH all see the rows as they were before the statement, so the undo
# row holds exactly what the write replaces, for one round trip instead of two.
_PUT_ENTRY = """
WITH undo AS (
    INSERT INTO matcher_undo (shard, relation, key, before)
    SELECT $3, 'matches', jsonb_build_object('consultant_id', $1::text, 'assignment_id', $2::text),
           (SELECT to_jsonb(m) FROM matcher_matches m
            WHERE consultant_id = $1 AND assignment_id = $2)
)
INSERT INTO matcher_matches (consultant_id, assignment_id, shard, match_id, state,
    revision, score, reasons, language, fingerprint, withdrawal_reason, announced, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, now())
ON CONFLICT (consultant_id, assignment_id) DO UPDATE SET
    shard = EXCLUDED.shard, match_id = EXCLUDED.match_id, state = EXCLUDED.state,
    revision = EXCLUDED.revision, score = EXCLUDED.score,
    reasons = EXCLUDED.reasons, language = EXCLUDED.language,
    fingerprint = EXCLUDED.fingerprint,
    withdrawal_reason = EXCLUDED.withdrawal_reason, announced = EXCLUDED.announced,
    updated_at = now()
"""
_UNDO_PROFILE = """
WITH undo AS (
    INSERT INTO matcher_undo (shard, relation, key, before)
    SELECT $1, 'profiles', jsonb_build_object('consultant_id', $2::text),
           (SELECT to_jsonb(p) FROM matcher_profiles p WHERE consultant_id = $2)
)
"""
_PUT_PROFILE = (
    _UNDO_PROFILE
    + """
INSERT INTO matcher_profiles (consultant_id, shard, language, document, wakeup_at, updated_at)
VALUES ($2, $1, $3, $4, $5, now())
ON CONFLICT (consultant_id) DO UPDATE SET shard = EXCLUDED.shard,
    language = EXCLUDED.language, document = EXCLUDED.document,
    wakeup_at = EXCLUDED.wakeup_at, updated_at = now()
"""
)
_SET_WAKEUP = (
    _UNDO_PROFILE + "UPDATE matcher_profiles SET wakeup_at = $3 WHERE consultant_id = $2"  # noqa: S608 - constant SQL
)
_DELETE_PROFILE = _UNDO_PROFILE + "DELETE FROM matcher_profiles WHERE consultant_id = $2"  # noqa: S608 - constant SQL
_PUT_ASSIGNMENT = """
WITH undo AS (
    INSERT INTO matcher_undo (shard, relation, key, before)
    SELECT $1, 'assignments', jsonb_build_object('assignment_id', $2::text),
           (SELECT to_jsonb(a) FROM matcher_assignments a
            WHERE shard = $1 AND assignment_id = $2)
)
INSERT INTO matcher_assignments (shard, assignment_id, status, closes_at, document, updated_at)
VALUES ($1, $2, $3, $4, $5, now())
ON CONFLICT (shard, assignment_id) DO UPDATE SET status = EXCLUDED.status,
    closes_at = EXCLUDED.closes_at, document = EXCLUDED.document, updated_at = now()
"""

_PUT_ERASURE = """
WITH undo AS (
    INSERT INTO matcher_undo (shard, relation, key, before)
    SELECT $1, 'erasures', jsonb_build_object('consultant_key', $2::text),
           (SELECT to_jsonb(e) FROM matcher_erasures e WHERE consultant_key = $2)
)
INSERT INTO matcher_erasures (consultant_key, shard, erased_at) VALUES ($2, $1, $3)
ON CONFLICT (consultant_key) DO UPDATE SET shard = EXCLUDED.shard,
    erased_at = greatest(matcher_erasures.erased_at, EXCLUDED.erased_at)
"""
_UNDO_ANSWER = """
WITH undo AS (
    INSERT INTO matcher_undo (shard, relation, key, before)
    SELECT $1, 'responses',
           jsonb_build_object('consultant_id', $2::text, 'assignment_id', $3::text),
           (SELECT to_jsonb(r) FROM matcher_responses r
            WHERE consultant_id = $2 AND assignment_id = $3)
)
"""
_PUT_ANSWER = (
    _UNDO_ANSWER
    + """
INSERT INTO matcher_responses (consultant_id, assignment_id, shard, match_id, response,
    reason, responded_at)
VALUES ($2, $3, $1, $4, $5, $6, $7)
ON CONFLICT (consultant_id, assignment_id) DO UPDATE SET shard = EXCLUDED.shard,
    match_id = EXCLUDED.match_id, response = EXCLUDED.response, reason = EXCLUDED.reason,
    responded_at = EXCLUDED.responded_at
"""
)
_DELETE_ANSWER = (
    _UNDO_ANSWER + "DELETE FROM matcher_responses WHERE consultant_id = $2 AND assignment_id = $3"  # noqa: S608 - constant SQL
)


def _answer(row: asyncpg.Record) -> StoredAnswer:
    return StoredAnswer(
        consultant_id=row["consultant_id"],
        assignment_id=row["assignment_id"],
        match_id=row["match_id"],
        response=Answer(row["response"]),
        reason=row["reason"],
        responded_at=row["responded_at"],
    )


def _dump_assignment(assignment: Assignment) -> dict[str, Any]:
    return assignment.model_dump(mode="json")


_assignment_document: IdentityMemo[Assignment, dict[str, Any]] = IdentityMemo(_dump_assignment)
"""Every shard stores every assignment: the JSON document is made once per decoded record."""


class ShardTransaction:
    """The writes of one shard transaction, on one connection inside a DB transaction."""

    def __init__(self, connection: Connection, shard: int) -> None:
        self._db = connection
        self.shard = shard
        self.holds_erased_data = False
        """A profile was deleted: its before-image in `matcher_undo` should go soon."""
        self.forgotten_matches: list[str] = []
        """Match ids of an erased consultant: their answers are tombstoned on
        `koppel.responses.v1` in the same Kafka transaction (see `unit_of_work`)."""
        self._assignments: dict[str, Assignment] = {}

    async def ledger_for_assignment(self, assignment_id: str) -> dict[str, LedgerEntry]:
        rows = await self._db.fetch(
            f"SELECT {_LEDGER_COLUMNS} FROM matcher_matches"  # noqa: S608 - constant columns
            " WHERE shard = $1 AND assignment_id = $2",
            self.shard,
            assignment_id,
        )
        return {row["consultant_id"]: _entry(row) for row in rows}

    async def ledger_for_consultant(self, consultant_id: str) -> dict[str, LedgerEntry]:
        rows = await self._db.fetch(
            f"SELECT {_LEDGER_COLUMNS} FROM matcher_matches"  # noqa: S608 - constant columns
            " WHERE consultant_id = $1",
            consultant_id,
        )
        return {row["assignment_id"]: _entry(row) for row in rows}

    async def put_entries(self, entries: Sequence[tuple[LedgerEntry, str | None]]) -> None:
        """Record the events published: each entry with its withdrawal reason (or None)."""
        if not entries:
            return
        await self._db.executemany(
            _PUT_ENTRY,
            [
                (
                    e.consultant_id,
                    e.assignment_id,
                    self.shard,
                    e.match_id,
                    e.state.value,
                    e.revision,
                    e.score,
                    list(e.reasons),
                    e.language,
                    e.fingerprint,
                    reason,
                    None if e.announced is None else dict(e.announced),
                )
                for e, reason in entries
            ],
        )

    async def put_profile(
        self, consultant_id: str, language: str, document: Any, wakeup_at: datetime | None = None
    ) -> None:
        await self._db.execute(
            _PUT_PROFILE, self.shard, consultant_id, language, document, wakeup_at
        )

    async def due_wakeups(self, now: datetime, limit: int) -> list[str]:
        rows = await self._db.fetch(
            "SELECT consultant_id FROM matcher_profiles"
            " WHERE shard = $1 AND wakeup_at <= $2 ORDER BY wakeup_at, consultant_id LIMIT $3",
            self.shard,
            now,
            limit,
        )
        return [row["consultant_id"] for row in rows]

    async def set_wakeup(self, consultant_id: str, wakeup_at: datetime | None) -> None:
        await self._db.execute(_SET_WAKEUP, self.shard, consultant_id, wakeup_at)

    async def delete_profile(self, consultant_id: str) -> None:
        self.holds_erased_data = True
        await self._db.execute(_DELETE_PROFILE, self.shard, consultant_id)

    async def erased_at(self, consultant_id: str) -> datetime | None:
        """When the consultant was last erased, or None."""
        value: datetime | None = await self._db.fetchval(
            "SELECT erased_at FROM matcher_erasures WHERE consultant_key = $1",
            erasure_key(consultant_id),
        )
        return value

    async def answer_for(self, consultant_id: str, assignment_id: str) -> StoredAnswer | None:
        row = await self._db.fetchrow(
            "SELECT consultant_id, assignment_id, match_id, response, reason, responded_at"
            " FROM matcher_responses WHERE consultant_id = $1 AND assignment_id = $2",
            consultant_id,
            assignment_id,
        )
        return None if row is None else _answer(row)

    async def put_answer(self, answer: StoredAnswer) -> None:
        await self._db.execute(
            _PUT_ANSWER,
            self.shard,
            answer.consultant_id,
            answer.assignment_id,
            answer.match_id,
            answer.response.value,
            answer.reason,
            answer.responded_at,
        )

    async def delete_answer(self, consultant_id: str, assignment_id: str) -> None:
        await self._db.execute(_DELETE_ANSWER, self.shard, consultant_id, assignment_id)

    async def erase_consultant(self, consultant_id: str, erased_at: datetime) -> None:
        """Delete the consultant's profile, answers and every ledger row about them; keep
        the erasure record (the later time when erased twice). Every match id of theirs
        lands in `forgotten_matches`: an answer may be on the topic for any of them."""
        await self._db.execute(_PUT_ERASURE, self.shard, erasure_key(consultant_id), erased_at)
        await self.delete_profile(consultant_id)
        await self._db.execute(
            """
            INSERT INTO matcher_undo (shard, relation, key, before)
            SELECT $1, 'matches',
                   jsonb_build_object('consultant_id', consultant_id,
                                      'assignment_id', assignment_id),
                   to_jsonb(m)
            FROM matcher_matches m WHERE consultant_id = $2
            """,
            self.shard,
            consultant_id,
        )
        ledger = await self._db.fetch(
            "DELETE FROM matcher_matches WHERE consultant_id = $1 RETURNING match_id",
            consultant_id,
        )
        await self._db.execute(
            """
            INSERT INTO matcher_undo (shard, relation, key, before)
            SELECT $1, 'responses',
                   jsonb_build_object('consultant_id', consultant_id,
                                      'assignment_id', assignment_id),
                   to_jsonb(r)
            FROM matcher_responses r WHERE consultant_id = $2
            """,
            self.shard,
            consultant_id,
        )
        answered = await self._db.fetch(
            "DELETE FROM matcher_responses WHERE consultant_id = $1 RETURNING match_id",
            consultant_id,
        )
        self.forgotten_matches += sorted({row["match_id"] for row in [*ledger, *answered]})

    async def put_assignment(self, assignment: Assignment) -> None:
        """Store the assignment's new state when the transaction ends (see `flush`).

        Nothing in a transaction reads `matcher_assignments` back, so its writes wait for one
        `executemany` at the end, the last state of each assignment only: every shard stores
        every assignment, and a row per record was a round trip per record per shard.
        """
        self._assignments.pop(assignment.id, None)
        self._assignments[assignment.id] = assignment

    async def flush(self) -> None:
        """Write what waits to be written; called once before the transaction commits."""
        if not self._assignments:
            return
        await self._db.executemany(
            _PUT_ASSIGNMENT,
            [
                (
                    self.shard,
                    assignment.id,
                    assignment.status.value,
                    assignment.closes_at,
                    _assignment_document(assignment),
                )
                for assignment in self._assignments.values()
            ],
        )
        self._assignments.clear()


class StateStore:
    """Shard-level operations on the matcher's database."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def take_over(self, shard: int, kafka_seq: int | None) -> tuple[int, RecoveryPlan]:
        """Bump the shard's epoch (fencing older owners) and repair it against Kafka's seq."""
        async with postgres_pools.transaction(self._pool) as connection:
            row = await connection.fetchrow(
                """
                INSERT INTO matcher_shards (shard, epoch, seq) VALUES ($1, 1, 0)
                ON CONFLICT (shard) DO UPDATE SET epoch = matcher_shards.epoch + 1,
                    updated_at = now()
                RETURNING epoch, seq
                """,
                shard,
            )
            assert row is not None
            plan = plan_recovery(row["seq"], kafka_seq)
            if plan.action is Recovery.UNDO_LAST:
                restored = await _restore_undo(connection, shard)
                log.warning("shard_rolled_back", shard=shard, rows=restored, seq=plan.seq)
            elif plan.action is not Recovery.CONSISTENT:
                log.warning(
                    "shard_offsets_unexpected",
                    shard=shard,
                    action=plan.action.value,
                    database_seq=row["seq"],
                    kafka_seq=kafka_seq,
                )
            await connection.execute("DELETE FROM matcher_undo WHERE shard = $1", shard)
            await connection.execute(
                "UPDATE matcher_shards SET seq = $2 WHERE shard = $1", shard, plan.seq
            )
            return int(row["epoch"]), plan

    async def load_assignments(self, shard: int) -> list[dict[str, Any]]:
        rows = await self._pool.fetch(
            "SELECT document FROM matcher_assignments WHERE shard = $1", shard
        )
        return [row["document"] for row in rows]

    async def load_profiles(self, shard: int) -> list[dict[str, Any]]:
        rows = await self._pool.fetch(
            "SELECT document FROM matcher_profiles WHERE shard = $1", shard
        )
        return [row["document"] for row in rows]

    async def load_declined(self, shard: int) -> list[tuple[str, str]]:
        """The (consultant id, assignment id) pairs of the shard answered `not_interested`."""
        rows = await self._pool.fetch(
            "SELECT consultant_id, assignment_id FROM matcher_responses"
            " WHERE shard = $1 AND response = $2",
            shard,
            Answer.NOT_INTERESTED.value,
        )
        return [(row["consultant_id"], row["assignment_id"]) for row in rows]

    async def next_wakeup(self, shard: int) -> datetime | None:
        """The earliest wake-up among the shard's profiles (from the partial index)."""
        value: datetime | None = await self._pool.fetchval(
            "SELECT min(wakeup_at) FROM matcher_profiles"
            " WHERE shard = $1 AND wakeup_at IS NOT NULL",
            shard,
        )
        return value

    async def has_found(self, shard: int, assignment_ids: Sequence[str]) -> bool:
        """Any published, not withdrawn match of these assignments in the shard."""
        found = await self._pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM matcher_matches WHERE shard = $1"
            " AND assignment_id = ANY($2::text[]) AND state = 'found')",
            shard,
            list(assignment_ids),
        )
        return bool(found)

    async def clear_undo(self, shard: int) -> None:
        await self._pool.execute("DELETE FROM matcher_undo WHERE shard = $1", shard)

    @asynccontextmanager
    async def transaction(
        self, shard: int, *, epoch: int, seq: int
    ) -> AsyncIterator[ShardTransaction]:
        """One shard transaction that moves the shard to `seq`; `ShardFencedError` if it lost it."""
        async with postgres_pools.transaction(self._pool) as connection:
            # One round trip: move the shard to `seq` under its epoch and drop the previous
            # transaction's undo rows (only if the epoch still holds).
            moved = await connection.fetchval(
                """
                WITH moved AS (
                    UPDATE matcher_shards SET seq = $3, updated_at = now()
                    WHERE shard = $1 AND epoch = $2 RETURNING shard
                ), cleared AS (
                    DELETE FROM matcher_undo WHERE shard IN (SELECT shard FROM moved)
                )
                SELECT count(*) FROM moved
                """,
                shard,
                epoch,
                seq,
            )
            if moved != 1:
                raise ShardFencedError(f"shard {shard} was taken over (epoch {epoch} is stale)")
            tx = ShardTransaction(connection, shard)
            yield tx
            await tx.flush()

    async def ping(self) -> None:
        await self._pool.fetchval("SELECT 1")


# The relations `matcher_undo` records, each with its table and the columns of its key (an
# assignment's key holds only its id: the shard is the one being restored).
_UNDONE_TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "matches": ("matcher_matches", ("consultant_id", "assignment_id")),
    "responses": ("matcher_responses", ("consultant_id", "assignment_id")),
    "erasures": ("matcher_erasures", ("consultant_key",)),
    "profiles": ("matcher_profiles", ("consultant_id",)),
    "assignments": ("matcher_assignments", ("shard", "assignment_id")),
}


async def _restore_undo(connection: Connection, shard: int) -> int:
    """Put every row the shard's last transaction wrote back to its before-image."""
    rows = await connection.fetch(
        """
        SELECT DISTINCT ON (relation, key) relation, key, before FROM matcher_undo
        WHERE shard = $1 ORDER BY relation, key, step
        """,
        shard,
    )
    for row in rows:
        table, columns = _UNDONE_TABLES[row["relation"]]
        key = {"shard": shard, **row["key"]}
        where = " AND ".join(f"{column} = ${n}" for n, column in enumerate(columns, start=1))
        await connection.execute(
            f"DELETE FROM {table} WHERE {where}",  # noqa: S608 - table and columns are constants
            *(key[column] for column in columns),
        )
        if row["before"] is not None:
            await connection.execute(
                f"INSERT INTO {table}"  # noqa: S608 - the table name is a constant
                f" SELECT * FROM jsonb_populate_record(NULL::{table}, $1::jsonb)",
                row["before"],
            )
    return len(rows)
