"""Turning many rows of component states into `Evaluation` objects, fast.

A broad assignment matches thousands of profiles, and building that many small Python
objects is what a scan spends most of its time on; so nothing here runs Python code per
row. Parts are looked up once per *distinct* state and spread to rows with numpy object
arrays; rows are grouped by which components moved, so each group's `components` and
`reasons` tuples come out of a C-level `zip` over per-component columns; and the frozen
`Evaluation` fields are filled through their slot descriptors with `map`, which skips the
Python-level `__init__` (measured: a query with a few thousand matches takes about 10 %
less). Per-row Python code cost about 2 µs a match; this costs about 1 µs, most of it the
allocation of the four objects each match needs. Texts and contributions are the ones
`scoring.PART_TABLES` renders for the scalar path, and the property tests compare the two.
"""

from __future__ import annotations

from collections import deque
from itertools import repeat
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


Lookup = tuple[Objects, Objects, npt.NDArray[np.bool_]]


def _lookup(keys: list[int], table: Any) -> Lookup:
    """(components, reasons, moved) arrays for the parts of `keys`."""
    parts = [table[key] for key in keys]
    named = np.empty(len(parts), dtype=object)
    texts = np.empty(len(parts), dtype=object)
    for i, part in enumerate(parts):
        if part is not None:
            named[i], texts[i] = part
    return named, texts, np.array([part is not None for part in parts], dtype=bool)


# Components whose states are few get their whole lookup built up front, indexed by key.
_FULL: dict[int, Lookup] = {
    i: _lookup(list(range(count * _N_LANGUAGES)), PART_TABLES[i])
    for i, count in SMALL_STATE_COUNTS.items()
}


def _column(i: int, keys: npt.NDArray[np.int64]) -> tuple[Lookup, npt.NDArray[np.intp]]:
    """Component `i`'s lookup arrays, and each row's position in them."""
    full = _FULL.get(i)
    if full is not None:
        return full, keys.astype(np.intp)
    distinct, inverse = np.unique(keys, return_inverse=True)
    return _lookup(distinct.tolist(), PART_TABLES[i]), inverse


def _consume(iterator: Any) -> None:
    deque(iterator, maxlen=0)


def evaluations(scores: npt.NDArray[np.float64], states: list[Any], languages: Any) -> list[Any]:
    """One `Evaluation` per row, in row order (states and languages broadcast to the rows)."""
    n = scores.size
    if n == 0:
        return []
    columns = []
    pattern = np.zeros(n, dtype=np.int64)
    for i, state in enumerate(states):
        keys = np.broadcast_to(np.asarray(state * _N_LANGUAGES + languages, dtype=np.int64), (n,))
        lookup, positions = _column(i, keys)
        columns.append((lookup, positions))
        pattern |= lookup[2][positions].astype(np.int64) << i

    result: list[Evaluation] = list(map(_new, repeat(Evaluation, n)))
    _consume(map(_set_score, result, scores.tolist()))

    by_pattern = np.argsort(pattern, kind="stable")
    patterns = pattern[by_pattern]
    cuts = (np.flatnonzero(patterns[1:] != patterns[:-1]) + 1).tolist()
    used = int(np.bitwise_or.reduce(pattern))
    named_rows: list[list[Any]] = []
    text_rows: list[list[Any]] = []
    for i, ((named, texts, _), positions) in enumerate(columns):
        if used >> i & 1:
            in_order = positions[by_pattern]
            named_rows.append(named[in_order].tolist())
            text_rows.append(texts[in_order].tolist())
        else:
            named_rows.append([])
            text_rows.append([])
    members = list(map(result.__getitem__, by_pattern.tolist()))
    for start, end in zip([0, *cuts], [*cuts, n], strict=True):
        moved_here = [i for i in range(len(columns)) if int(patterns[start]) >> i & 1]
        group = members[start:end]
        if moved_here:
            components: Any = zip(*[named_rows[i][start:end] for i in moved_here], strict=True)
            reasons: Any = zip(*[text_rows[i][start:end] for i in moved_here], strict=True)
        else:
            components = reasons = repeat(())
        _consume(map(_set_components, group, components))
        _consume(map(_set_reasons, group, reasons))
    return result
