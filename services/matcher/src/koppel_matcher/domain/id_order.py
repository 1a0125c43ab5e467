"""Integer labels that sort like ids, so a ranking sorts integers instead of strings.

Ties in score are ranked by id. Sorting the ids' bytes costs about 0.3 µs a match (more
than the rest of the ranking together at a few thousand matches, when slots are in
arrival order); one int64 key per match, score and label together, sorts some 30 times
faster. Labels are kept lazily: a new id is labelled at the next query, between its
neighbours' labels in id order (order-maintenance), and everything is relabelled from
scratch, evenly spaced, only when a gap runs out, many ids arrive at once, or released
ids pile up.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

LABEL_BITS = 44
"""Labels are below 2**44: a 4-decimal score (14 bits) fits above them in an int64."""
_LABEL_END = 1 << LABEL_BITS

Labels = npt.NDArray[np.int64]


class IdOrder:
    """Per slot a label; the labels of live slots ascend with their ids' bytes."""

    def __init__(self, capacity: int) -> None:
        self.labels: Labels = np.zeros(capacity, dtype=np.int64)
        self._keys: npt.NDArray[Any] = np.zeros(0, dtype="S1")
        """Ids labelled so far, sorted (released ones linger until a full relabel)."""
        self._key_labels: Labels = np.zeros(0, dtype=np.int64)
        self._pending: list[int] = []

    def grow(self, capacity: int) -> None:
        grown = np.zeros(capacity, dtype=np.int64)
        grown[: self.labels.size] = self.labels
        self.labels = grown

    def arrays(self) -> list[npt.NDArray[Any]]:
        """What it holds, for memory accounting."""
        return [self.labels, self._keys, self._key_labels]

    def added(self, slot: int) -> None:
        """`slot` holds a new id: label it before the next query."""
        self._pending.append(slot)

    def current(self, id_keys: npt.NDArray[Any], alive: npt.NDArray[np.bool_]) -> Labels:
        """The labels, every live slot's up to date (`id_keys` as `SlotColumns` keeps them)."""
        if self._pending:
            slots = np.unique(np.array(self._pending, dtype=np.intp))
            self._pending.clear()
            slots = slots[alive[slots]]
            if slots.size and not self._insert_few(slots, id_keys, alive):
                self._relabel(id_keys, alive)
        return self.labels

    def _insert_few(
        self, slots: npt.NDArray[np.intp], id_keys: npt.NDArray[Any], alive: npt.NDArray[np.bool_]
    ) -> bool:
        """Label a few new slots in place; False when relabelling everything is due."""
        many_new = slots.size * 8 > self._keys.size
        many_released = self._keys.size > 2 * int(np.count_nonzero(alive))
        return not (many_new or many_released) and self._insert(slots, id_keys)

    def _insert(self, slots: npt.NDArray[np.intp], id_keys: npt.NDArray[Any]) -> bool:
        """Label `slots` between their neighbours; False when some gap is too narrow."""
        keys = id_keys[slots]
        by_key = np.argsort(keys, kind="stable")
        keys, slots = keys[by_key], slots[by_key]
        known = self._keys.astype(id_keys.dtype)
        at = np.searchsorted(known, keys, side="left")
        lower = np.where(at > 0, self._key_labels[at - 1], 0)
        upper = np.where(
            at < known.size, self._key_labels[np.minimum(at, known.size - 1)], _LABEL_END
        )
        # New ids that land in the same gap share it: the j-th of k takes step j + 1.
        starts = np.concatenate(([True], at[1:] != at[:-1]))
        first = np.flatnonzero(starts)
        run = np.cumsum(starts) - 1
        within = np.arange(at.size) - first[run]
        count = np.diff(np.concatenate((first, [at.size])))[run]
        gap = upper - lower
        if np.any(gap <= count):
            return False
        labels = lower + gap // (count + 1) * (within + 1)
        self.labels[slots] = labels
        self._keys = np.insert(known, at, keys)
        self._key_labels = np.insert(self._key_labels, at, labels)
        return True

    def _relabel(self, id_keys: npt.NDArray[Any], alive: npt.NDArray[np.bool_]) -> None:
        live = np.flatnonzero(alive)
        by_key = np.argsort(id_keys[live], kind="stable")
        spacing = _LABEL_END // (live.size + 1)
        labels = np.arange(1, live.size + 1, dtype=np.int64) * spacing
        self.labels[live[by_key]] = labels
        self._keys = id_keys[live[by_key]]
        self._key_labels = labels
