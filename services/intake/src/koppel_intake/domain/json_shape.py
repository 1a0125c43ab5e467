"""Limits on the shape of incoming JSON that the contract models cannot express.

- No NUL character in any string or key: PostgreSQL cannot store `\\u0000` in text or
  JSONB, so one accepted NUL would break the stores downstream (the matcher's state).
- No array longer than `MAX_ITEMS`: the contract's longest list has 20 items, and a
  1 MiB body of 100,000 invalid items costs seconds of validation.
- No nesting deeper than `MAX_DEPTH`.

The walk is iterative, so hostile depth cannot exhaust the stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_ITEMS = 1000
MAX_DEPTH = 32


@dataclass(frozen=True)
class ShapeProblem:
    location: tuple[str | int, ...]
    message: str
    type: str


def shape_problem(document: Any) -> ShapeProblem | None:
    """The first limit `document` breaks (depth-first, in document order), or None."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), document)]
    while stack:
        location, value = stack.pop()
        if len(location) > MAX_DEPTH:
            return ShapeProblem(location, f"nested deeper than {MAX_DEPTH} levels", "too_deep")
        if isinstance(value, str):
            if "\x00" in value:
                return ShapeProblem(location, "must not contain a NUL character", "nul_character")
        elif isinstance(value, list):
            if len(value) > MAX_ITEMS:
                return ShapeProblem(
                    location, f"must not have more than {MAX_ITEMS} items", "too_long"
                )
            items = reversed(list(enumerate(value)))
            stack.extend(((*location, index), item) for index, item in items)
        elif isinstance(value, dict):
            for key in value:
                if "\x00" in key:
                    return ShapeProblem(
                        location, "a key must not contain a NUL character", "nul_character"
                    )
            stack.extend(((*location, key), item) for key, item in reversed(list(value.items())))
    return None
