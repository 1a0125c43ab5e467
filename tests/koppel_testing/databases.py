"""Fresh PostgreSQL databases for tests that need state of their own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from koppel_demo.sandbox import drop_database


@asynccontextmanager
async def new_database(server_dsn: str) -> AsyncIterator[str]:
    """The DSN of a new, empty database on the server of `server_dsn`; dropped on exit."""
    name = f"koppel_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base, _, _ = server_dsn.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        await drop_database(server_dsn, name)
