"""Values derived from one shared object, computed once however many shards ask.

A replica's shard consumers share each decoded assignment (`DecodedRecords`), and each of
them would derive the same things from it: its domain spec, its JSON document. The memo
is keyed by object identity and holds the object itself, so an id cannot be reused while
its entry lives; it is bounded, oldest entry first out.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

Source = TypeVar("Source")
Derived = TypeVar("Derived")


class IdentityMemo(Generic[Source, Derived]):
    def __init__(self, derive: Callable[[Source], Derived], capacity: int = 4096) -> None:
        self._derive = derive
        self._capacity = capacity
        self._entries: OrderedDict[int, tuple[Source, Derived]] = OrderedDict()

    def __call__(self, source: Source) -> Derived:
        entry = self._entries.get(id(source))
        if entry is not None and entry[0] is source:
            return entry[1]
        derived = self._derive(source)
        self._entries[id(source)] = (source, derived)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)
        return derived
