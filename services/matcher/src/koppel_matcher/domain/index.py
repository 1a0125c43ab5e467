"""The in-memory columnar index of profiles and assignments, built for scanning.

Each side is a set of numpy columns (`columns.py`) holding the rows `entity_columns.py`
encodes. A query encodes its own entity the same way and runs `scan.scan`: the one set of
rules, with the entity's values broadcast against the other side's columns; then it ranks
the pairs that pass (score, then id through integer labels: `id_order.py`). `rank_for_*`
return a `Ranking`: ids and scores at once, reasons or full evaluations rendered in bulk
on demand (`rendering.py`); the service publishes ids, scores and reasons;
`matches_for_*` build the full evaluations.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import numpy as np

from koppel_matcher.domain.columns import SlotColumns
from koppel_matcher.domain.entity_columns import (
    ASSIGNMENT_FIELDS,
    ASSIGNMENT_WIDE,
    PROFILE_FIELDS,
    PROFILE_WIDE,
    assignment_columns,
    assignment_row,
    assignment_wide,
    profile_columns,
    profile_row,
    profile_wide,
)
from koppel_matcher.domain.id_order import LABEL_BITS
from koppel_matcher.domain.instants import when
from koppel_matcher.domain.masks import CertificationVocabulary
from koppel_matcher.domain.model import AssignmentSpec, ProfileSpec
from koppel_matcher.domain.ranking import Match, Ranking, freed_matches
from koppel_matcher.domain.scan import Scanned, scan


class MatchIndex:
    """Active profiles and open assignments, matched against each other by vectorised scans."""

    def __init__(self, capacity: int = 1024) -> None:
        self._vocabulary = CertificationVocabulary()
        self._p = SlotColumns(PROFILE_FIELDS, PROFILE_WIDE, capacity)
        self._a = SlotColumns(ASSIGNMENT_FIELDS, ASSIGNMENT_WIDE, capacity)
        self._profiles: dict[str, ProfileSpec] = {}
        self._assignments: dict[str, AssignmentSpec] = {}

    # --- upkeep ---

    def upsert_profile(self, p: ProfileSpec) -> None:
        self._vocabulary.intern(p.certifications)
        slot = self._p.acquire(p.id)
        for name, value in profile_row(p).items():
            self._p.arrays[name][slot] = value
        for name, values in profile_wide(p, self._vocabulary).items():
            self._p.set_wide(name, slot, values)
        self._profiles[p.id] = p

    def remove_profile(self, profile_id: str) -> None:
        self._p.release(profile_id)
        self._profiles.pop(profile_id, None)

    def upsert_assignment(self, a: AssignmentSpec) -> None:
        self._vocabulary.intern(a.required_certifications)
        slot = self._a.acquire(a.id)
        for name, value in assignment_row(a).items():
            self._a.arrays[name][slot] = value
        for name, values in assignment_wide(a, self._vocabulary).items():
            self._a.set_wide(name, slot, values)
        self._assignments[a.id] = a

    def remove_assignment(self, assignment_id: str) -> None:
        self._a.release(assignment_id)
        self._assignments.pop(assignment_id, None)

    # --- lookups ---

    def profile(self, profile_id: str) -> ProfileSpec | None:
        return self._profiles.get(profile_id)

    def assignment(self, assignment_id: str) -> AssignmentSpec | None:
        return self._assignments.get(assignment_id)

    @property
    def profile_count(self) -> int:
        return len(self._p)

    @property
    def assignment_count(self) -> int:
        return len(self._a)

    def memory_bytes(self) -> int:
        """Bytes held by the numpy columns (not the spec objects kept for `profile()`)."""
        return self._p.nbytes() + self._a.nbytes()

    # --- scans ---

    def matches_for_assignment(self, a: AssignmentSpec, now: datetime) -> list[Match]:
        """Every indexed profile that passes the hard filters with `a`, best first, then by id."""
        return self.rank_for_assignment(a, now).matches()

    def matches_for_profile(self, p: ProfileSpec, now: datetime) -> list[Match]:
        """Every indexed open assignment that passes the hard filters with `p`, best first."""
        return self.rank_for_profile(p, now).matches()

    def rank_for_assignment(self, a: AssignmentSpec, now: datetime) -> Ranking:
        """Like `matches_for_assignment`, with evaluations rendered only when asked for."""
        one = assignment_columns(a, self._vocabulary)
        found = scan(one, self._p.columns(), when(now), "profiles", self._p.alive)
        return _ranked(self._p, found, self._profiles.__getitem__)

    def rank_for_profile(self, p: ProfileSpec, now: datetime) -> Ranking:
        """Like `matches_for_profile`, with evaluations rendered only when asked for."""
        one = profile_columns(p, self._vocabulary)
        found = scan(self._a.columns(), one, when(now), "assignments", self._a.alive)
        return _ranked(self._a, found, lambda _: p)


def _ranked(
    side: SlotColumns, found: Scanned | None, profile_of: Callable[[str], ProfileSpec]
) -> Ranking:
    """The passing pairs in rank order; `profile_of` gives the profile of a row's id."""
    if found is None:
        return Ranking.empty()
    rows = found.rows
    scores = np.broadcast_to(found.scores, (rows.size,))
    # Best score first, then by id: one integer sort (scores have 4 decimals).
    worse = np.rint((1.0 - scores) * 10_000.0).astype(np.int64)
    order = np.argsort(worse << LABEL_BITS | side.order_labels()[rows])
    languages = np.asarray(found.languages, dtype=np.int64)
    if languages.ndim:
        languages = languages[order]
    ids: list[str] = side.ids[rows[order]].tolist()
    freed = freed_matches(np.broadcast_to(found.freed, (rows.size,))[order], ids, profile_of)
    return Ranking(ids, scores[order], found.state_matrix()[:, order], languages, freed)
