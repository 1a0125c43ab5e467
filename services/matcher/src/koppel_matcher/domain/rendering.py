"""Turning many rows of component states into reasons or `Evaluation` objects, fast.

A broad assignment matches thousands of profiles, and building that many small Python
objects is what a scan spends most of its time on; so nothing here runs Python code per
row. Every part (a component's contribution and reason for one state and language) is
rendered once and kept in one flat table (`_Parts`): the parts of the components with few
states up front, the others as they first occur. A query maps each row's states to
positions in that table with a handful of array operations over all components at once,
groups the rows by which components moved, and builds each group's `reasons` (and
`components`) tuples with a C-level `zip` over per-component columns.

`reasons()` builds only what a publisher needs per match, the tuple of reason texts (well
under a microsecond a match); `evaluations()` builds the full `Evaluation` objects, filling
their frozen fields through the slot descriptors with `map`, which skips the Python-level
`__init__`. Texts and contributions are the ones `scoring.PART_TABLES` renders: this is
the one place that turns component states into reasons, for a scan and a single pair.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from itertools import chain, repeat
from typing import Any

import numpy as np
import numpy.typing as npt

from koppel_matcher.domain import components as c
from koppel_matcher.domain.model import Evaluation
from koppel_matcher.domain.scoring import LANGUAGES, PART_TABLES, SMALL_STATE_COUNTS, Part

Objects = npt.NDArray[np.object_]
States = npt.NDArray[np.int64]
"""One row per component (in `scoring.COMPONENTS` order), one column per match."""
Pattern = npt.NDArray[np.uint16]
"""Per match, a bit per component that moved the score (bit i for component i)."""

_N_LANGUAGES = len(LANGUAGES)
_N_COMPONENTS = len(PART_TABLES)

# Member descriptors of the slotted dataclass: setting through them bypasses the frozen
# __setattr__, which is fine for objects nobody else has seen yet.
_new = object.__new__
_set_score = Evaluation.__dict__["score"].__set__
_set_components = Evaluation.__dict__["components"].__set__
_set_reasons = Evaluation.__dict__["reasons"].__set__


class _Parts:
    """Rendered parts in flat arrays: contribution, reason text and moved bit by position."""

    def __init__(self) -> None:
        self.named: Objects = np.empty(0, dtype=object)
        self.texts: Objects = np.empty(0, dtype=object)
        self.bits: Pattern = np.zeros(0, dtype=np.uint16)
        self.size = 0

    def append(self, parts: list[tuple[int, Part]]) -> None:
        """Add (component, part) entries at positions `size`, `size + 1`, ..."""
        needed = self.size + len(parts)
        if needed > self.named.size:
            capacity = max(needed, 2 * self.named.size)
            for name in ("named", "texts", "bits"):
                old = getattr(self, name)
                grown = np.zeros(capacity, dtype=old.dtype)
                grown[: self.size] = old[: self.size]
                setattr(self, name, grown)
        for offset, (component, part) in enumerate(parts):
            if part is not None:
                at = self.size + offset
                self.named[at], self.texts[at] = part
                self.bits[at] = 1 << component
        self.size = needed


_PARTS = _Parts()

# The components with few states: all their parts up front, from a base position per
# component, so a part's position is base + key (key = state * languages + language).
_FULL_ROWS = np.array(sorted(SMALL_STATE_COUNTS), dtype=np.intp)
_FULL_BASES = np.zeros((_FULL_ROWS.size, 1), dtype=np.int64)
for _row, _component in enumerate(_FULL_ROWS.tolist()):
    _FULL_BASES[_row] = _PARTS.size
    _keys = range(SMALL_STATE_COUNTS[_component] * _N_LANGUAGES)
    _PARTS.append([(_component, PART_TABLES[_component][key]) for key in _keys])

# The others (discipline coverage, hours) have too many states: their parts are added as
# they occur, found by key tagged with the component (the keys stay below 2**_TAG_SHIFT).
_OTHER_ROWS = np.array(
    [i for i in range(_N_COMPONENTS) if i not in SMALL_STATE_COUNTS], dtype=np.intp
)
_TAG_SHIFT = 58
assert 3 * c.COVERAGE_SHIFT + 1 < _TAG_SHIFT
assert 4 * c.HOURS_FIELD_BITS + 1 < _TAG_SHIFT
assert _OTHER_ROWS.size < 1 << (63 - _TAG_SHIFT)
_OTHER_TAGS = (np.arange(_OTHER_ROWS.size, dtype=np.int64) << _TAG_SHIFT).reshape(-1, 1)
_KEY_MASK = (1 << _TAG_SHIFT) - 1


class _Found:
    """Tagged key → position in `_PARTS`, for the components not rendered up front.

    Kept as sorted arrays, so a query looks up all its keys with one `searchsorted` (no
    sort of its own: a key seen before is most keys); a key seen for the first time is
    rendered and merged in.
    """

    def __init__(self) -> None:
        self.keys = np.zeros(0, dtype=np.int64)
        self.positions = np.zeros(0, dtype=np.intp)

    def positions_of(self, tagged: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
        """Positions of the tagged keys `tagged`."""
        at = np.searchsorted(self.keys, tagged)
        known = at < self.keys.size
        known[known] = self.keys[at[known]] == tagged[known]
        if not known.all():
            self._add(np.unique(tagged[~known]).tolist())
            at = np.searchsorted(self.keys, tagged)
        result: npt.NDArray[np.intp] = self.positions[at]
        return result

    def _add(self, tagged: list[int]) -> None:
        first = _PARTS.size
        parts = []
        for key in tagged:
            component = int(_OTHER_ROWS[key >> _TAG_SHIFT])
            parts.append((component, PART_TABLES[component][key & _KEY_MASK]))
        _PARTS.append(parts)
        keys = np.concatenate([self.keys, np.array(tagged, dtype=np.int64)])
        positions = np.concatenate([self.positions, np.arange(first, _PARTS.size)])
        order = np.argsort(keys, kind="stable")
        self.keys, self.positions = keys[order], positions[order]


_FOUND = _Found()


def _positions(states: States, languages: Any) -> tuple[npt.NDArray[np.intp], Pattern]:
    """Each component's part position per row, and each row's pattern."""
    n = states.shape[1]
    keys = states * _N_LANGUAGES + languages
    positions = np.empty((_N_COMPONENTS, n), dtype=np.intp)
    positions[_FULL_ROWS] = keys[_FULL_ROWS] + _FULL_BASES
    tagged = (keys[_OTHER_ROWS] + _OTHER_TAGS).ravel()
    positions[_OTHER_ROWS] = _FOUND.positions_of(tagged).reshape(-1, n)
    pattern: Pattern = np.bitwise_or.reduce(_PARTS.bits[positions], axis=0)
    return positions, pattern


def _consume(iterator: Any) -> None:
    deque(iterator, maxlen=0)


Group = tuple[int, int, list[int]]
"""(start, end, components that moved) of a run of rows with one pattern, sorted by it."""


def _groups(pattern: Pattern) -> tuple[npt.NDArray[np.intp], list[Group]]:
    """Rows sorted by pattern (stable, so in row order within a group) and the groups."""
    by_pattern = np.argsort(pattern, kind="stable")  # a radix sort for 16-bit keys
    patterns = pattern[by_pattern]
    starts = [0, *(np.flatnonzero(patterns[1:] != patterns[:-1]) + 1).tolist()]
    ends = [*starts[1:], pattern.size]
    groups = []
    for start, end, moved in zip(starts, ends, patterns[starts].tolist(), strict=True):
        groups.append((start, end, [i for i in range(_N_COMPONENTS) if moved >> i & 1]))
    return by_pattern, groups


def _columns(
    table: Objects, positions: npt.NDArray[np.intp], by_pattern: Any, pattern: Pattern
) -> list[list[Any]]:
    """Per component, its entries of `table` for the rows in pattern order; empty for the
    components no row moved (an assignment's urgency when it is not urgent, say)."""
    used = int(np.bitwise_or.reduce(pattern))
    moved = [i for i in range(_N_COMPONENTS) if used >> i & 1]
    columns: list[list[Any]] = [[] for _ in range(_N_COMPONENTS)]
    for i, column in zip(moved, table[positions[moved][:, by_pattern]].tolist(), strict=True):
        columns[i] = column
    return columns


def _tuples(columns: list[list[Any]], groups: list[Group]) -> Iterable[tuple[Any, ...]]:
    """Per row in pattern order, the tuple of its moved components' entries."""
    per_group: list[Iterable[tuple[Any, ...]]] = []
    for start, end, moved in groups:
        if moved:
            per_group.append(zip(*[columns[i][start:end] for i in moved], strict=True))
        else:
            per_group.append(repeat((), end - start))
    return chain.from_iterable(per_group)


def reasons(states: States, languages: Any) -> list[tuple[str, ...]]:
    """Each row's reasons, in row order (`languages` broadcasts to the rows).

    The texts `evaluations()` gives, without the objects around them: one tuple a row
    (of shared strings). Rows are grouped by pattern for the `zip`, then put back.
    """
    n = states.shape[1]
    if n == 0:
        return []
    positions, pattern = _positions(states, languages)
    by_pattern, groups = _groups(pattern)
    texts = _columns(_PARTS.texts, positions, by_pattern, pattern)
    in_groups = np.fromiter(_tuples(texts, groups), dtype=object, count=n)
    in_rows = np.empty(n, dtype=object)
    in_rows[by_pattern] = in_groups
    result: list[tuple[str, ...]] = in_rows.tolist()
    return result


def evaluations(scores: npt.NDArray[np.float64], states: States, languages: Any) -> list[Any]:
    """One `Evaluation` per row, in row order (`languages` broadcasts to the rows)."""
    n = scores.size
    if n == 0:
        return []
    positions, pattern = _positions(states, languages)
    result: list[Evaluation] = list(map(_new, repeat(Evaluation, n)))
    _consume(map(_set_score, result, scores.tolist()))
    by_pattern, groups = _groups(pattern)
    members = list(map(result.__getitem__, by_pattern.tolist()))
    named = _columns(_PARTS.named, positions, by_pattern, pattern)
    texts = _columns(_PARTS.texts, positions, by_pattern, pattern)
    _consume(map(_set_components, members, _tuples(named, groups)))
    _consume(map(_set_reasons, members, _tuples(texts, groups)))
    return result
