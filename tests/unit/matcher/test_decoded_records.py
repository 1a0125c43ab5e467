"""The replica-wide memo of decoded assignment records."""

from __future__ import annotations

import pytest

from koppel_matcher.entrypoints.decoded_records import DecodedRecords


def test_a_record_is_decoded_once_per_position_and_content() -> None:
    memo = DecodedRecords(capacity=2)
    calls: list[str] = []

    def decoder(name: str):  # type: ignore[no-untyped-def]
        def decode():  # type: ignore[no-untyped-def]
            calls.append(name)
            return (name, name)

        return decode

    assert memo.get_or_decode(("t", 0, 1), b"a", decoder("a")) == ("a", "a")
    assert memo.get_or_decode(("t", 0, 1), b"a", decoder("again")) == ("a", "a")
    # Same position, other bytes (a recreated topic): decoded afresh, never the stale one.
    assert memo.get_or_decode(("t", 0, 1), b"b", decoder("b")) == ("b", "b")
    assert calls == ["a", "b"]


def test_the_least_recently_used_entry_goes_first() -> None:
    memo = DecodedRecords(capacity=2)
    calls: list[int] = []

    def decode(offset: int):  # type: ignore[no-untyped-def]
        calls.append(offset)
        return (offset, offset)

    for offset in (1, 2):
        memo.get_or_decode(("t", 0, offset), b"x", lambda o=offset: decode(o))
    memo.get_or_decode(("t", 0, 1), b"x", lambda: decode(99))  # hit: 1 is now the newest
    memo.get_or_decode(("t", 0, 3), b"x", lambda: decode(3))  # evicts 2
    memo.get_or_decode(("t", 0, 1), b"x", lambda: decode(98))  # still cached
    memo.get_or_decode(("t", 0, 2), b"x", lambda: decode(2))  # decoded again
    assert calls == [1, 2, 3, 2]


def test_a_failed_decode_is_not_remembered() -> None:
    memo = DecodedRecords()

    def broken():  # type: ignore[no-untyped-def]
        raise ValueError("bad record")

    with pytest.raises(ValueError, match="bad record"):
        memo.get_or_decode(("t", 0, 1), b"x", broken)
    assert memo.get_or_decode(("t", 0, 1), b"x", lambda: ("ok", "ok")) == ("ok", "ok")
