"""Every rule, in order, for the pairs of one entity and the rows of the other side.

The query's own entity is a side of numpy scalars; the other side is columns over rows
(every slot of the index, or one row for a single pair). The hard filters run over all
rows, travel (filter 9) and the component states over the rows that passed them, and
every rule is the one function both directions share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from koppel_matcher.domain.columns import Columns, Taken
from koppel_matcher.domain.components import Pair
from koppel_matcher.domain.freed_capacity import freed_state
from koppel_matcher.domain.hard_filters import FILTERS
from koppel_matcher.domain.instants import When
from koppel_matcher.domain.scoring import component_states, scores
from koppel_matcher.domain.travel import travel

Rows = Literal["assignments", "profiles"]
"""Which side holds the rows (the other is the query's one entity)."""


@dataclass(frozen=True, slots=True)
class Scanned:
    """The pairs that pass every hard filter, with their component states and scores."""

    rows: npt.NDArray[np.intp]
    """The rows of the pairs, ascending."""
    states: list[Any]
    """Per component (`scoring.COMPONENTS` order), its states; each broadcasts to `rows`."""
    scores: npt.NDArray[np.float64]
    languages: Any
    """The consultant's language index (`scoring.LANGUAGES`) per pair, or one for all."""
    freed: Any
    """`freed_capacity.freed_state` per pair (broadcasts to `rows`); 0 for most."""

    def state_matrix(self) -> npt.NDArray[np.int64]:
        return state_matrix(self.states, self.rows.size)


def state_matrix(states: list[Any], pairs: int) -> npt.NDArray[np.int64]:
    """One row per component, one column per pair (as `rendering` takes them)."""
    matrix = np.empty((len(states), pairs), dtype=np.int64)
    for i, state in enumerate(states):
        matrix[i] = state
    return matrix


def scan(a: Columns, p: Columns, when: When, rows: Rows, alive: Any) -> Scanned | None:
    """The pairs between the one entity and the `alive` rows of the `rows` side that pass."""
    keep = np.array(alive, dtype=bool)
    for _, passes in FILTERS:
        result = passes(a, p, when)
        if np.ndim(result) == 0:
            if not result:
                return None  # the one entity fails it: no pair can pass
        else:
            keep &= result
    found = np.flatnonzero(keep)
    if not found.size:
        return None  # the common case in a shard: no candidate at all
    fits, travel_states = travel(*_taken(a, p, found, rows))
    if not fits.all():
        found, travel_states = found[fits], travel_states[fits]
        if not found.size:
            return None
    taken_a, taken_p = _taken(a, p, found, rows)
    pair = Pair(taken_a, taken_p, travel_states, when.today)
    states = component_states(pair)
    return Scanned(found, states, scores(states), taken_p["language"], freed_state(pair))


def _taken(
    a: Columns, p: Columns, found: npt.NDArray[np.intp], rows: Rows
) -> tuple[Columns, Columns]:
    if rows == "profiles":
        return a, Taken(p, found)
    return Taken(a, found), p
