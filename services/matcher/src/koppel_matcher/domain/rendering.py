"""Turning many rows of component states into `Evaluation` objects, fast.

A broad assignment matches thousands of profiles, and building that many small Python
objects is what a scan spends most of its time on; so nothing here runs Python code per
row. Parts are looked up once per *distinct* state and spread to rows with numpy object
arrays; rows are grouped by which components moved, so each group's `components` and
`reasons` tuples come out of a C-level `zip` over per-component columns; and the frozen
`Evaluation` fields are filled through their slot descriptors with `map`, which skips the
Python-level `__init__` (measured: a query with a few thousand matches takes about 10 %
less). Per-row Python code cost about 2 µs a match; this costs about 1 µs, most of it the
allocation of the four objects each match needs. `reasons()` builds only the one object
a publisher needs per match, the tuple of reason texts (about 0.25 µs a match). Texts and
contributions are the ones `scoring.PART_TABLES` renders for the scalar path, and the
property tests compare the two.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain, islice, repeat
from typing import Any

import numpy as np
import numpy.typing as npt

from koppel_matcher.domain.model import Evaluation
from koppel_matcher.domain.scoring import LANGUAGES, PART_TABLES
from koppel_matcher.domain.vector_scoring import SMALL_STATE_COUNTS

Objects = npt.NDArray[np.object_]
_N_LANGUAGES = len(LANGUAGES)

# Member descriptors of the slotted dataclass: setting through them bypasses the frozen
# __setattr__, which is fine for objects nobody else has seen yet.
_new = object.__new__
_set_score = Evaluation.__dict__["score"].__set__
_set_components = Evaluation.__dict__["components"].__set__
_set_reasons = Evaluation.__dict__["reasons"].__set__


Pattern = npt.NDArray[np.uint16]
"""Per row, a bit per component that moved the score (bit i for `COMPONENTS[i]`)."""


@dataclass(frozen=True, slots=True)
class Lookup:
    """One component's parts for a list of keys: contributions, reasons, and moved bits."""

    named: Objects
    texts: Objects
    bits: Pattern


def _lookup(component: int, keys: list[int]) -> Lookup:
    parts = [PART_TABLES[component][key] for key in keys]
    named = np.empty(len(parts), dtype=object)
    texts = np.empty(len(parts), dtype=object)
    for i, part in enumerate(parts):
        if part is not None:
            named[i], texts[i] = part
    bit = 1 << component
    bits = np.array([bit if part is not None else 0 for part in parts], dtype=np.uint16)
    return Lookup(named, texts, bits)


# Components whose states are few get their whole lookup built up front, indexed by key.
_FULL: dict[int, Lookup] = {
    i: _lookup(i, list(range(count * _N_LANGUAGES))) for i, count in SMALL_STATE_COUNTS.items()
}


def _column(i: int, keys: npt.NDArray[np.int64]) -> tuple[Lookup, npt.NDArray[np.intp]]:
    """Component `i`'s lookup, and each row's position in it."""
    full = _FULL.get(i)
    if full is not None:
        return full, keys
    distinct, inverse = np.unique(keys, return_inverse=True)
    return _lookup(i, distinct.tolist()), inverse


def _consume(iterator: Any) -> None:
    deque(iterator, maxlen=0)


Columns = list[tuple[Lookup, npt.NDArray[np.intp]]]


def _columns(states: list[Any], languages: Any, n: int) -> tuple[Columns, Pattern]:
    """Each component's lookup and row positions, and each row's pattern."""
    columns = []
    pattern = np.zeros(n, dtype=np.uint16)
    for i, state in enumerate(states):
        keys = np.broadcast_to(state * _N_LANGUAGES + languages, (n,))
        lookup, positions = _column(i, keys)
        columns.append((lookup, positions))
        pattern |= lookup.bits[positions]
    return columns, pattern


Group = tuple[int, int, int]
"""(start, end, pattern) of a run of rows with one pattern, once sorted by pattern."""


def _groups(pattern: Pattern) -> tuple[npt.NDArray[np.intp], Pattern, list[Group]]:
    """Rows sorted by pattern (stable, so in row order within a group) and the groups."""
    by_pattern = np.argsort(pattern, kind="stable")  # a radix sort for 16-bit keys
    patterns = pattern[by_pattern]
    cuts = (np.flatnonzero(patterns[1:] != patterns[:-1]) + 1).tolist()
    starts = [0, *cuts]
    ends = [*cuts, pattern.size]
    return by_pattern, patterns, list(zip(starts, ends, patterns[starts].tolist(), strict=True))


def reasons(states: list[Any], languages: Any, n: int) -> list[tuple[str, ...]]:
    """Each row's reasons, in row order (states and languages broadcast to `n` rows).

    The texts `evaluations()` gives, without the objects around them: one tuple a row
    (of shared strings). Rows are grouped by pattern for the C-level `zip`, then put back.
    """
    if n == 0:
        return []
    columns, pattern = _columns(states, languages, n)
    by_pattern, patterns, groups = _groups(pattern)
    used = int(np.bitwise_or.reduce(patterns))
    texts: list[Iterator[Any]] = []
    for i, (lookup, positions) in enumerate(columns):
        if used >> i & 1:
            rows = by_pattern[(patterns & (1 << i)).astype(bool)]
            texts.append(iter(lookup.texts[positions[rows]].tolist()))
        else:
            texts.append(iter(()))
    grouped: list[Iterable[tuple[str, ...]]] = []
    for start, end, moved in groups:
        size = end - start
        parts = [islice(texts[i], size) for i in range(len(columns)) if moved >> i & 1]
        grouped.append(zip(*parts, strict=True) if parts else repeat((), size))
    in_groups = np.fromiter(chain.from_iterable(grouped), dtype=object, count=n)
    in_rows = np.empty(n, dtype=object)
    in_rows[by_pattern] = in_groups
    result: list[tuple[str, ...]] = in_rows.tolist()
    return result


def evaluations(scores: npt.NDArray[np.float64], states: list[Any], languages: Any) -> list[Any]:
    """One `Evaluation` per row, in row order (states and languages broadcast to the rows)."""
    n = scores.size
    if n == 0:
        return []
    columns, pattern = _columns(states, languages, n)

    result: list[Evaluation] = list(map(_new, repeat(Evaluation, n)))
    _consume(map(_set_score, result, scores.tolist()))

    by_pattern, _, groups = _groups(pattern)
    used = int(np.bitwise_or.reduce(pattern))
    named_rows: list[list[Any]] = []
    text_rows: list[list[Any]] = []
    for i, (lookup, positions) in enumerate(columns):
        if used >> i & 1:
            in_order = positions[by_pattern]
            named_rows.append(lookup.named[in_order].tolist())
            text_rows.append(lookup.texts[in_order].tolist())
        else:
            named_rows.append([])
            text_rows.append([])
    members = list(map(result.__getitem__, by_pattern.tolist()))
    for start, end, moved in groups:
        moved_here = [i for i in range(len(columns)) if moved >> i & 1]
        group = members[start:end]
        if moved_here:
            components: Any = zip(*[named_rows[i][start:end] for i in moved_here], strict=True)
            reasons: Any = zip(*[text_rows[i][start:end] for i in moved_here], strict=True)
        else:
            components = reasons = repeat(())
        _consume(map(_set_components, group, components))
        _consume(map(_set_reasons, group, reasons))
    return result
