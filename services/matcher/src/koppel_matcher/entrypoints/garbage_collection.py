"""Keeps CPython's full garbage collections short while the shards' state grows.

The shards keep every assignment and profile they have seen in memory (pydantic models,
index columns): objects by the hundred thousand that live as long as the shard. A full
(generation 2) collection walks all of them and, finding nothing to free, still took
100-600 ms in the end-to-end benchmark, longer as the state grew: a pause that every event
in flight waited out, and most of the 200 events/s p99. After each full collection the
survivors are frozen (`gc.freeze`), so the next ones walk only what was allocated since.

Frozen objects are still freed by reference counting; only a reference cycle that became
garbage after it was frozen would stay. A closing shard consumer may leave such cycles (its
clients, tasks and index), so `thaw` lets the next full collection look at everything once
more, and the one after freezes again.
"""

from __future__ import annotations

import gc
from typing import Any


def freeze_after_full_collections() -> None:
    """From now on, freeze what survives each full collection (idempotent)."""
    if _freeze_survivors not in gc.callbacks:
        gc.callbacks.append(_freeze_survivors)


def thaw() -> None:
    """Let the next full collection walk every object again (after a shard consumer closes)."""
    gc.unfreeze()


def _freeze_survivors(phase: str, info: dict[str, Any]) -> None:
    if phase == "stop" and info["generation"] == 2:
        gc.freeze()
