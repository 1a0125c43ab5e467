"""How long to wait before trying an unavailable dependency again (PostgreSQL, mostly)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Waits that double from `initial_s` up to `cap_s`, each shortened by a random share.

    The cap keeps a service that was down for an hour retrying every `cap_s`, not hourly;
    the jitter (up to `jitter` of each wait) keeps replicas that failed together from
    retrying together. `reset()` after a success starts again from `initial_s`.
    """

    initial_s: float = 0.5
    cap_s: float = 30.0
    jitter: float = 0.5
    rng: random.Random = field(default_factory=random.Random)
    _failures: int = 0

    def next_delay(self) -> float:
        """The wait after one more failure in a row."""
        base = min(self.cap_s, self.initial_s * 2.0 ** min(self._failures, 32))
        self._failures += 1
        return base * (1 - self.jitter * self.rng.random())

    def reset(self) -> None:
        self._failures = 0
