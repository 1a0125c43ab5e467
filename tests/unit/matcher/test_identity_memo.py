"""Values derived once per shared object."""

from __future__ import annotations

from koppel_matcher.adapters.identity_memo import IdentityMemo


def test_derived_once_per_object_not_per_equal_value() -> None:
    calls: list[list[int]] = []

    def derive(source: list[int]) -> int:
        calls.append(source)
        return sum(source)

    memo = IdentityMemo(derive)
    first, equal = [1, 2], [1, 2]
    assert memo(first) == 3
    assert memo(first) == 3
    assert memo(equal) == 3
    assert calls == [first, equal]
    assert calls[0] is first
    assert calls[1] is equal


def test_bounded_oldest_first() -> None:
    calls: list[int] = []

    def derive(source: list[int]) -> int:
        calls.append(source[0])
        return source[0]

    memo = IdentityMemo(derive, capacity=2)
    a, b, c = [1], [2], [3]
    for source in (a, b, c, b, a):
        memo(source)
    assert calls == [1, 2, 3, 1]
