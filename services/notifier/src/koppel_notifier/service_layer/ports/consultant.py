"""What the consultant's own requests need: their page, their answers given there, and the
one-click unsubscribe."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from koppel.contract.response import MatchResponded, MatchResponseWithdrawn
from koppel_notifier.domain.answers import CurrentMatch, PageContact


class Unsubscribes(Protocol):
    async def unsubscribe(self, consultant_id: str) -> bool:
        """Stop email to the consultant's current address at once; False if unknown."""
        ...


class AnswerBook(Protocol):
    """The consultant's open matches and answers inside one transaction."""

    async def current_match(self, consultant_id: str, match_id: str) -> CurrentMatch | None:
        """The match if it is the consultant's and still open (else None)."""
        ...

    async def answered(self, answer: MatchResponded) -> None:
        """Store the answer and queue its event on koppel.responses.v1, both or neither."""
        ...

    async def taken_back(self, withdrawal: MatchResponseWithdrawn) -> None:
        """Remove the answer and queue the withdrawal's event, both or neither."""
        ...


class Answers(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[AnswerBook]:
        """One transaction: the answer and its outbox row commit together, or neither."""
        ...


class MatchPages(Protocol):
    """What the consultant's page reads."""

    async def contact(self, consultant_id: str) -> PageContact | None:
        """The consultant's stored profile; None once erased (or never known)."""
        ...

    async def current_matches(self, consultant_id: str) -> list[CurrentMatch]:
        """The open matches the consultant was told about, newest first, with answers."""
        ...
