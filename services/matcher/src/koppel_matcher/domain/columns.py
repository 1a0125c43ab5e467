"""Growable columnar storage: one numpy array per field, rows addressed by slot.

Slots of removed entities go on a free list and are re-used; an `alive` mask tells scans
which slots hold something. Arrays double in size when full, so upserts are amortised O(1).

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
"""A side's values by field name; `certs` holds certification mask words (last axis)."""


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
    """Named columns over slots, plus ids, their order and certification mask words."""

    def __init__(self, fields: Mapping[str, tuple[npt.DTypeLike, object]], capacity: int = 64):
        self._fields = dict(fields)
        self._capacity = max(1, capacity)
        self.arrays: dict[str, Array] = {
            name: np.full(self._capacity, fill, dtype=dtype)
            for name, (dtype, fill) in self._fields.items()
        }
        self.alive: npt.NDArray[np.bool_] = np.zeros(self._capacity, dtype=bool)
        self.certs: npt.NDArray[np.uint64] = np.zeros((self._capacity, 1), dtype=np.uint64)
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
        self.certs[slot] = 0
        for name, (_, fill) in self._fields.items():
            self.arrays[name][slot] = fill
        self._free.append(slot)
        return slot

    def columns(self) -> Columns:
        """Every slot's values by field name, certification words under `certs`."""
        return {**self.arrays, "certs": self.certs}

    def order_labels(self) -> npt.NDArray[np.int64]:
        """Per slot an integer that sorts the live slots like their ids (`id_order`)."""
        return self._order.current(self.id_keys, self.alive)

    def set_certs(self, slot: int, words: list[int]) -> None:
        if len(words) > self.certs.shape[1]:
            wider = np.zeros((self._capacity, len(words)), dtype=np.uint64)
            wider[:, : self.certs.shape[1]] = self.certs
            self.certs = wider
        self.certs[slot] = 0
        self.certs[slot, : len(words)] = np.array(words, dtype=np.uint64)

    def nbytes(self) -> int:
        arrays = [
            *self.arrays.values(),
            self.alive,
            self.certs,
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
        self.alive = np.concatenate([self.alive, np.zeros(old, dtype=bool)])
        self.certs = np.concatenate([self.certs, np.zeros_like(self.certs)])
        self.id_keys = np.concatenate([self.id_keys, np.zeros(old, dtype=self.id_keys.dtype)])
        self._order.grow(self._capacity)
        self.ids = np.concatenate([self.ids, np.full(old, "", dtype=object)])
