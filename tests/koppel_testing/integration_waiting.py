"""The type of the `wait` fixture (tests/conftest.py), for test signatures."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol


class Wait(Protocol):
    """`await wait(check, within=..., what=...)`: until `check()` (or its awaited result)
    is truthy; fails naming `what` after `within` seconds."""

    def __call__(
        self,
        check: Callable[[], Awaitable[object]] | Callable[[], object],
        *,
        within: float = ...,
        interval: float = ...,
        what: str = ...,
    ) -> Awaitable[None]: ...
