"""The port the matching logic writes through (a PostgreSQL transaction in production)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from koppel.contract import Assignment
from koppel_matcher.service_layer.dedup import LedgerEntry


class ShardUnitOfWork(Protocol):
    """The state changes of one shard transaction."""

    async def ledger_for_assignment(self, assignment_id: str) -> dict[str, LedgerEntry]: ...

    async def ledger_for_consultant(self, consultant_id: str) -> dict[str, LedgerEntry]: ...

    async def put_entries(self, entries: Sequence[tuple[LedgerEntry, str | None]]) -> None: ...

    async def put_profile(self, consultant_id: str, language: str, document: Any) -> None: ...

    async def delete_profile(self, consultant_id: str) -> None: ...

    async def erased_at(self, consultant_id: str) -> datetime | None: ...

    async def erase_consultant(self, consultant_id: str, erased_at: datetime) -> None: ...

    async def put_assignment(self, assignment: Assignment) -> None: ...
