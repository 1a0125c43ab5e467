"""An in-memory `MatchDirectory` (intake's port to the matcher's read API) for unit tests."""

from __future__ import annotations

from koppel.contract.match import match_id_for
from koppel_intake.service_layer.ports import DirectoryUnavailableError, KnownMatch


class InMemoryMatchDirectory:
    """Knows the matches `add`ed to it; set `unavailable` to act like an unreachable matcher."""

    def __init__(self) -> None:
        self.matches: dict[str, KnownMatch] = {}
        self.unavailable = False
        self.asked: list[str] = []

    def add(self, consultant_id: str, assignment_id: str, status: str = "found") -> str:
        """Record the pair's match; return its id."""
        match_id = match_id_for(assignment_id, consultant_id)
        self.matches[match_id] = KnownMatch(match_id, consultant_id, assignment_id, status)
        return match_id

    async def find(self, match_id: str) -> KnownMatch | None:
        self.asked.append(match_id)
        if self.unavailable:
            raise DirectoryUnavailableError("matcher unavailable (in-memory directory set to fail)")
        return self.matches.get(match_id)
