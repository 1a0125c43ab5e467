"""The replica-wide memo of decoded assignment records."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import cast

import pytest

from koppel_matcher.entrypoints.decoded_records import Decoded, DecodedRecords


def stand_in(label: object) -> Decoded:
    """A value to remember: the memo stores and hands it back without looking inside."""
    return cast("Decoded", (label, label))


def test_a_record_is_decoded_once_per_position_and_content() -> None:
    memo = DecodedRecords(capacity=2)
    calls: list[str] = []

    def decoder(name: str) -> Callable[[], Decoded]:
        def decode() -> Decoded:
            calls.append(name)
            return stand_in(name)

        return decode

    assert memo.get_or_decode(("t", 0, 1), b"a", decoder("a")) == stand_in("a")
    assert memo.get_or_decode(("t", 0, 1), b"a", decoder("again")) == stand_in("a")
    # Same position, other bytes (a recreated topic): decoded afresh, never the stale one.
    assert memo.get_or_decode(("t", 0, 1), b"b", decoder("b")) == stand_in("b")
    assert calls == ["a", "b"]


def test_the_least_recently_used_entry_goes_first() -> None:
    memo = DecodedRecords(capacity=2)
    calls: list[int] = []

    def decode(offset: int) -> Decoded:
        calls.append(offset)
        return stand_in(offset)

    for offset in (1, 2):
        memo.get_or_decode(("t", 0, offset), b"x", partial(decode, offset))
    memo.get_or_decode(("t", 0, 1), b"x", lambda: decode(99))  # hit: 1 is now the newest
    memo.get_or_decode(("t", 0, 3), b"x", lambda: decode(3))  # evicts 2
    memo.get_or_decode(("t", 0, 1), b"x", lambda: decode(98))  # still cached
    memo.get_or_decode(("t", 0, 2), b"x", lambda: decode(2))  # decoded again
    assert calls == [1, 2, 3, 2]


def test_a_failed_decode_is_not_remembered() -> None:
    memo = DecodedRecords()

    def broken() -> Decoded:
        raise ValueError("bad record")

    with pytest.raises(ValueError, match="bad record"):
        memo.get_or_decode(("t", 0, 1), b"x", broken)
    assert memo.get_or_decode(("t", 0, 1), b"x", lambda: stand_in("ok")) == stand_in("ok")
