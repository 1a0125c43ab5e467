"""Migration 006 on a real PostgreSQL: profiles stored with contract version 1's
`committed_hours_per_week` are read afterwards as the commitments intake now publishes."""

from __future__ import annotations

import json

import asyncpg
import pytest

from koppel.migrations import migrate

pytestmark = pytest.mark.integration

MIGRATIONS = "koppel_matcher.migrations"


async def test_version_1_committed_hours_become_one_endless_commitment(fresh_database: str) -> None:
    await migrate(fresh_database, service="matcher", package=MIGRATIONS)
    connection = await asyncpg.connect(fresh_database)
    try:
        stored = {
            "c-8": {"id": "c-8", "committed_hours_per_week": 8},
            "c-0": {"id": "c-0", "committed_hours_per_week": 0},
            "c-2": {"id": "c-2", "commitments": [{"hours_per_week": 16, "until": "2027-03-01"}]},
        }
        for consultant_id, document in stored.items():
            await connection.execute(
                "INSERT INTO matcher_profiles (consultant_id, shard, language, document)"
                " VALUES ($1, 0, 'nl', $2::jsonb)",
                consultant_id,
                json.dumps(document),
            )
        await connection.execute(
            "INSERT INTO matcher_undo (shard, relation, key, before) VALUES (0, 'profiles',"
            ' \'{"consultant_id": "c-8"}\', $1::jsonb)',
            json.dumps({"consultant_id": "c-8", "document": stored["c-8"]}),
        )
        await connection.execute(
            "DELETE FROM koppel_schema_migrations WHERE service = 'matcher' AND version = 6"
        )

        assert await migrate(fresh_database, service="matcher", package=MIGRATIONS) == [
            "006_commitments.sql"
        ]

        documents = {
            row["consultant_id"]: json.loads(row["document"])
            for row in await connection.fetch(
                "SELECT consultant_id, document FROM matcher_profiles"
            )
        }
        assert documents == {
            "c-8": {"id": "c-8", "commitments": [{"hours_per_week": 8}]},
            "c-0": {"id": "c-0", "commitments": []},
            "c-2": stored["c-2"],
        }
        before = json.loads(await connection.fetchval("SELECT before FROM matcher_undo"))
        assert before["document"] == {"id": "c-8", "commitments": [{"hours_per_week": 8}]}
    finally:
        await connection.close()
