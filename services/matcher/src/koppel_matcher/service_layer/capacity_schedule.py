"""The shard's capacity schedule: when it next matches a consultant again because one of
their commitments ends (contract §8.4; docs/decisions/0004-capacity-schedule.md).

The durable schedule is each stored profile's `wakeup_at`, the next end moment of its
commitments, written by the shard's transaction together with the profile: a wake-up is
exactly once like the ledger it writes (undone with its transaction when the Kafka commit
never happened, then run again by the next owner of the shard). `WakeUps` keeps only the
shard's earliest due time in memory, never later than the stored one, so the poll loop
pays one comparison with the clock per turn and reads the due consultants (from an index)
only once that time has passed. The loop turns at least every `IDLE_POLL_MS`, so a clock
that jumps (a test clock, an NTP step) is noticed within a quarter of a second.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime

from koppel_matcher import metrics

WAKEUPS_PER_TRANSACTION = 100
"""Consultants matched again in one transaction. Many commitments end at the same midnight
(a month's end) and each wake-up may publish a match per open assignment: the rest follow
in the next turns of the poll loop, between the records."""


class WakeUps:
    """The shard's next wake-up as this process knows it (see the module docstring)."""

    def __init__(self, shard: int, clock: Callable[[], datetime]) -> None:
        self._shard = str(shard)
        self._clock = clock
        self.next_due: datetime | None = None

    def restart_from(self, earliest: datetime | None) -> None:
        """The earliest stored wake-up, read at take-over and after each wake-up."""
        self.next_due = earliest
        self.publish_gauge()

    def scheduled(self, due: datetime | None) -> None:
        """A transaction stores `due`: wake up by then (should it abort, only a wake-up
        that finds nothing due follows)."""
        if due is not None and (self.next_due is None or due < self.next_due):
            self.next_due = due
            self.publish_gauge()

    def is_due(self) -> bool:
        return self.next_due is not None and self.next_due <= self._clock()

    def publish_gauge(self) -> None:
        due = 0.0 if self.next_due is None else self.next_due.timestamp()
        metrics.NEXT_WAKEUP.labels(self._shard).set(due)

    def forget_gauge(self) -> None:
        """The shard leaves this replica: stop reporting its schedule here."""
        with contextlib.suppress(KeyError):
            metrics.NEXT_WAKEUP.remove(self._shard)
