"""Order labels sort the live slots exactly like their ids, through every upkeep path."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from koppel_matcher.domain.columns import SlotColumns

_ID_CHARS = "ab1:.-é"


def _ranked_by_labels(columns: SlotColumns) -> list[str]:
    labels = columns.order_labels()
    live = np.flatnonzero(columns.alive)
    assert len(set(labels[live].tolist())) == live.size  # no two live slots share a label
    return [str(columns.ids[slot]) for slot in live[np.argsort(labels[live])]]


def _counting_relabels(columns: SlotColumns, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    order = columns._order
    relabel = order._relabel

    def counted(id_keys: npt.NDArray[Any], alive: npt.NDArray[np.bool_]) -> None:
        calls.append(1)
        relabel(id_keys, alive)

    monkeypatch.setattr(order, "_relabel", counted)
    return calls


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["add", "add", "remove", "look"]), st.text(_ID_CHARS, max_size=5)
        ),
        max_size=120,
    )
)
def test_labels_sort_like_the_ids_through_adds_removals_and_looks(
    steps: list[tuple[str, str]],
) -> None:
    columns = SlotColumns({}, capacity=1)
    live: set[str] = set()
    for action, entity_id in steps:
        if action == "add":
            columns.acquire(entity_id)
            live.add(entity_id)
        elif action == "remove":
            columns.release(entity_id)
            live.discard(entity_id)
        else:
            assert _ranked_by_labels(columns) == sorted(live)
    assert _ranked_by_labels(columns) == sorted(live)


def test_a_few_new_ids_are_labelled_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    columns = SlotColumns({}, capacity=4)
    for i in range(0, 200, 2):
        columns.acquire(f"c-{i:03d}")
    columns.order_labels()
    relabels = _counting_relabels(columns, monkeypatch)
    for i in (1, 199, 57, 58 + 1, 3):
        columns.acquire(f"c-{i:03d}")
        columns.release("c-100")
        assert _ranked_by_labels(columns) == sorted(str(x) for x in columns.ids if x)
    columns.acquire("a-before-all")
    columns.acquire("z-after-all")
    assert _ranked_by_labels(columns)[0] == "a-before-all"
    assert _ranked_by_labels(columns)[-1] == "z-after-all"
    assert relabels == []


def test_an_exhausted_gap_relabels_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each new id lands just above the same neighbour: the gap halves until it runs out."""
    columns = SlotColumns({}, capacity=4)
    for name in ("a", "n", "o", "p", "q", "r", "s", "t", "u", "v"):
        columns.acquire(name)
    columns.order_labels()
    relabels = _counting_relabels(columns, monkeypatch)
    for k in range(80):
        columns.acquire(f"m{999 - k:03d}")
        assert _ranked_by_labels(columns) == sorted(str(x) for x in columns.ids if x)
    assert relabels  # the gap ran out at least once, and the order stayed exact
