"""Full collections freeze their survivors; a thaw lets the next one walk everything."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from koppel_matcher.entrypoints import garbage_collection


@pytest.fixture
def collector() -> Iterator[None]:
    """The process-wide collector as it was: the callback removed, nothing left frozen.

    Automatic collections are off meanwhile, so only the test's own ones run."""
    enabled = gc.isenabled()
    gc.disable()
    yield
    if enabled:
        gc.enable()
    while garbage_collection._freeze_survivors in gc.callbacks:
        gc.callbacks.remove(garbage_collection._freeze_survivors)
    gc.unfreeze()


def test_survivors_of_a_full_collection_are_frozen(collector: None) -> None:
    gc.unfreeze()
    garbage_collection.freeze_after_full_collections()
    state = [[index] for index in range(10_000)]
    gc.collect()
    assert gc.get_freeze_count() >= len(state)


def test_younger_collections_freeze_nothing(collector: None) -> None:
    gc.unfreeze()
    garbage_collection.freeze_after_full_collections()
    gc.collect(0)
    gc.collect(1)
    assert gc.get_freeze_count() == 0


def test_installing_twice_adds_one_callback(collector: None) -> None:
    garbage_collection.freeze_after_full_collections()
    garbage_collection.freeze_after_full_collections()
    assert gc.callbacks.count(garbage_collection._freeze_survivors) == 1


def test_a_thaw_unfreezes_and_the_next_full_collection_frees_a_frozen_cycle(
    collector: None,
) -> None:
    garbage_collection.freeze_after_full_collections()

    class Node:
        partner: object = None

    first, second = Node(), Node()
    first.partner, second.partner = second, first
    gc.collect()  # the cycle survives (still referenced) and is frozen
    assert gc.get_freeze_count() > 0
    del first, second  # now garbage, but frozen: no collection would see it
    garbage_collection.thaw()
    assert gc.get_freeze_count() == 0
    assert gc.collect() >= 2
