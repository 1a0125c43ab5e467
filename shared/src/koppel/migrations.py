"""Versioned SQL migrations for the services that keep state in PostgreSQL.

Each service ships `NNN_description.sql` files in its own `migrations` package; they are
applied in order, each in a transaction, and recorded in `koppel_schema_migrations` per
service. An advisory lock serialises concurrent replicas starting at once. This is a few
lines on top of asyncpg rather than Alembic because the services use no ORM.
"""

from __future__ import annotations

import re
from importlib.resources import files
from importlib.resources.abc import Traversable

import asyncpg

_FILE = re.compile(r"^(\d{3,})_[a-z0-9_]+\.sql$")
_LOCK_KEY = 0x6B6F7070656C  # "koppel"


def pending_files(package: str) -> list[tuple[int, str, Traversable]]:
    """The migration files of `package`, ordered by version."""
    found = []
    for entry in files(package).iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry))
    return sorted(found, key=lambda item: item[0])


async def migrate(dsn: str, *, service: str, package: str) -> list[str]:
    """Apply the not yet applied migrations of `package`; return the names applied."""
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        try:
            await connection.execute(
                """
                CREATE TABLE IF NOT EXISTS koppel_schema_migrations (
                    service TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    name TEXT NOT NULL,
                    applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    PRIMARY KEY (service, version)
                )
                """
            )
            rows = await connection.fetch(
                "SELECT version FROM koppel_schema_migrations WHERE service = $1", service
            )
            done = {row["version"] for row in rows}
            applied = []
            for version, name, entry in pending_files(package):
                if version in done:
                    continue
                async with connection.transaction():
                    await connection.execute(entry.read_text(encoding="utf-8"))
                    await connection.execute(
                        "INSERT INTO koppel_schema_migrations (service, version, name)"
                        " VALUES ($1, $2, $3)",
                        service,
                        version,
                        name,
                    )
                applied.append(name)
            return applied
        finally:
            await connection.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    finally:
        await connection.close()
