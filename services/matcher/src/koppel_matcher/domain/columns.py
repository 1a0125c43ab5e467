"""Growable columnar storage: one numpy array per field, rows addressed by slot.

Slots of removed entities go on a free list and are re-used; an `alive` mask tells scans
which slots hold something. Arrays double in size when full, so upserts are amortised O(1).
A wide field holds several values per slot (a 2-d array, values on the last axis: the
certification mask words, one entry per commitment); it is as wide as its widest slot needs,
the others padded with the field's fill.

The matching rules read a side through `Columns`, a mapping from field name to values:
the arrays of every slot, a `Taken` subset of them, or one entity's values as numpy
scalars (`entity_columns.py`), which broadcast against the other side's arrays.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from koppel_matcher.domain.id_order import IdOrder

Array = npt.NDArray[Any]
Columns = Mapping[str, Any]
"""A side's values by field name; a wide field's values lie on the last axis."""
Fields = dict[str, tuple[npt.DTypeLike, object]]
"""Field name → (dtype, what an empty slot or a padding entry holds)."""


class Taken(Mapping[str, Any]):
    """The rows `rows` of some columns, each column taken on first use and kept."""

    __slots__ = ("_columns", "_taken", "rows")

    def __init__(self, columns: Columns, rows: npt.NDArray[np.intp]) -> None:
        self._columns = columns
        self._taken: dict[str, Any] = {}
        self.rows = rows

    def __getitem__(self, name: str) -> Any:
        taken = self._taken.get(name)
        if taken is None:
            taken = self._taken[name] = self._columns[name][self.rows]
        return taken

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)


class SlotColumns:
    """Named columns over slots (plain and wide), plus ids and their order."""

    def __init__(self, fields: Fields, wide: Fields | None = None, capacity: int = 64):
        self._fields = dict(fields)
        self._wide = dict(wide or {})
        self._capacity = max(1, capacity)
        self.arrays: dict[str, Array] = {
            name: np.full(self._capacity, fill, dtype=dtype)
            for name, (dtype, fill) in self._fields.items()
        }
        self.wide: dict[str, Array] = {
            name: np.full((self._capacity, 1), fill, dtype=dtype)
            for name, (dtype, fill) in self._wide.items()
        }
        self.alive: npt.NDArray[np.bool_] = np.zeros(self._capacity, dtype=bool)
        self.id_keys: Array = np.zeros(self._capacity, dtype="S1")
        self._order = IdOrder(self._capacity)
        self.ids: npt.NDArray[np.object_] = np.full(self._capacity, "", dtype=object)
        self._slot: dict[str, int] = {}
        self._free: list[int] = []
        self._high = 0

    def __len__(self) -> int:
        return len(self._slot)

    def slot_of(self, entity_id: str) -> int | None:
        return self._slot.get(entity_id)

    def acquire(self, entity_id: str) -> int:
        """The slot holding `entity_id`, allocating one (and growing) when it is new."""
        slot = self._slot.get(entity_id)
        if slot is not None:
            return slot
        if self._free:
            slot = self._free.pop()
        else:
            if self._high == self._capacity:
                self._grow()
            slot = self._high
            self._high += 1
        self._slot[entity_id] = slot
        self.ids[slot] = entity_id
        key = entity_id.encode()
        if len(key) > self.id_keys.dtype.itemsize:
            self.id_keys = self.id_keys.astype(f"S{len(key)}")
        self.id_keys[slot] = key
        self.alive[slot] = True
        self._order.added(slot)
        return slot

    def release(self, entity_id: str) -> int | None:
        """Free the slot of `entity_id`; returns it, or None when the id was not held."""
        slot = self._slot.pop(entity_id, None)
        if slot is None:
            return None
        self.alive[slot] = False
        self.ids[slot] = ""
        self.id_keys[slot] = b""
        for name, (_, fill) in self._fields.items():
            self.arrays[name][slot] = fill
        for name, (_, fill) in self._wide.items():
            self.wide[name][slot] = fill
        self._free.append(slot)
        return slot

    def columns(self) -> Columns:
        """Every slot's values by field name, plain and wide."""
        return {**self.arrays, **self.wide}

    def order_labels(self) -> npt.NDArray[np.int64]:
        """Per slot an integer that sorts the live slots like their ids (`id_order`)."""
        return self._order.current(self.id_keys, self.alive)

    def set_wide(self, name: str, slot: int, values: list[Any]) -> None:
        """The slot's values of a wide field (the rest of its width padded)."""
        dtype, fill = self._wide[name]
        held = self.wide[name]
        if len(values) > held.shape[1]:
            wider = np.full((self._capacity, len(values)), fill, dtype=dtype)
            wider[:, : held.shape[1]] = held
            self.wide[name] = held = wider
        held[slot] = fill
        held[slot, : len(values)] = np.array(values, dtype=dtype)

    def nbytes(self) -> int:
        arrays = [
            *self.arrays.values(),
            *self.wide.values(),
            self.alive,
            self.id_keys,
            *self._order.arrays(),
        ]
        return sum(a.nbytes for a in arrays)

    def _grow(self) -> None:
        old, self._capacity = self._capacity, self._capacity * 2
        for name, (dtype, fill) in self._fields.items():
            grown = np.full(self._capacity, fill, dtype=dtype)
            grown[:old] = self.arrays[name]
            self.arrays[name] = grown
        for name, (dtype, fill) in self._wide.items():
            held = self.wide[name]
            grown = np.full((self._capacity, held.shape[1]), fill, dtype=dtype)
            grown[:old] = held
            self.wide[name] = grown
        self.alive = np.concatenate([self.alive, np.zeros(old, dtype=bool)])
        self.id_keys = np.concatenate([self.id_keys, np.zeros(old, dtype=self.id_keys.dtype)])
        self._order.grow(self._capacity)
        self.ids = np.concatenate([self.ids, np.full(old, "", dtype=object)])
