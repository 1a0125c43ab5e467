"""PostgreSQL connection pools, opened the same way by every service that keeps state."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import asyncpg


async def open_pool(
    dsn: str,
    *,
    min_size: int,
    max_size: int,
    init: Callable[[asyncpg.Connection], Coroutine[Any, Any, None]] | None = None,
) -> asyncpg.Pool:
    """A pool whose connections go back without asyncpg's reset query.

    No Koppel service changes session state, and asyncpg rolls back a transaction left
    open by itself, so the reset would only cost a round trip on every release.
    """
    pool = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=init, reset=_keep_session
    )
    assert pool is not None
    return pool


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Release as is (see `open_pool`)."""


@asynccontextmanager
async def transaction(
    pool: asyncpg.Pool, *, readonly: bool = False
) -> AsyncIterator[asyncpg.pool.PoolConnectionProxy]:
    """A pooled connection inside a transaction, closed instead of returned when broken.

    When the server ends a session during a query, asyncpg can leave the connection in a
    state that fails every later command with `InternalClientError` ("another operation
    is in progress", asyncpg issue 784); back in the pool it would poison each transaction
    begun on it. Closed, it is replaced by a fresh one.
    """
    async with pool.acquire() as connection:
        try:
            async with connection.transaction(readonly=readonly):
                yield connection
        except asyncpg.InternalClientError:
            connection.terminate()
            raise
