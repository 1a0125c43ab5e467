"""When to try a failed delivery again, and when to give up."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

# Standard Webhooks guidance: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
DEFAULT_SCHEDULE = "0s,5s,5m,30m,2h,5h,10h,10h"

_STEP = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_schedule(text: str) -> tuple[float, ...]:
    """`"0s,5s,5m,2h"` (bare numbers are seconds) → delays in seconds, one per attempt."""
    delays = []
    for part in text.split(","):
        match = _STEP.match(part)
        if match is None:
            raise ValueError(f"retry schedule step {part!r} is not like '5s', '5m' or '2h'")
        delays.append(float(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    if not delays:
        raise ValueError("retry schedule must have at least one step")
    return tuple(delays)


@dataclass(frozen=True)
class RetryPolicy:
    """`delays[i]` is the wait before attempt i+1; attempts beyond the list are not made.

    `jitter` spreads each wait by ±that fraction so that a receiver recovering from an
    outage is not hit by every retry at once. Throttling answers (429, 502, 504, timeouts)
    wait `slow_factor` times longer, and at least what `Retry-After` asked, up to `max_delay`.
    """

    delays: tuple[float, ...]
    jitter: float = 0.2
    slow_factor: float = 2.0
    max_delay: float = 24 * 3600.0

    @property
    def max_attempts(self) -> int:
        return len(self.delays)

    def next_delay(
        self,
        attempts_made: int,
        *,
        throttled: bool = False,
        retry_after: float | None = None,
        rng: random.Random | None = None,
    ) -> float | None:
        """Seconds to wait before the next attempt, or None when attempts are exhausted."""
        if attempts_made >= self.max_attempts:
            return None
        base = self.delays[attempts_made]
        if throttled:
            base *= self.slow_factor
        spread = (rng or random).uniform(-self.jitter, self.jitter)
        delay = max(0.0, base * (1 + spread))
        if retry_after is not None:
            delay = max(delay, retry_after)
        return min(delay, self.max_delay)
