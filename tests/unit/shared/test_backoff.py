"""Retry waits double up to a cap, are spread by jitter, and start over after a success."""

from __future__ import annotations

import random

from koppel.backoff import Backoff


def test_waits_double_up_to_the_cap_without_jitter() -> None:
    backoff = Backoff(initial_s=0.5, cap_s=4.0, jitter=0.0)
    assert [backoff.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_jitter_only_shortens_each_wait_by_up_to_its_share() -> None:
    backoff = Backoff(initial_s=1.0, cap_s=8.0, jitter=0.5, rng=random.Random(7))
    waits = [backoff.next_delay() for _ in range(200)]
    assert all(0.5 <= wait <= 1.0 for wait in waits[:1])
    assert all(4.0 <= wait <= 8.0 for wait in waits[3:])
    assert len({round(wait, 6) for wait in waits[3:]}) > 100  # spread, not one value


def test_a_success_starts_over() -> None:
    backoff = Backoff(initial_s=0.5, cap_s=30.0, jitter=0.0)
    for _ in range(5):
        backoff.next_delay()
    backoff.reset()
    assert backoff.next_delay() == 0.5


def test_a_long_outage_does_not_overflow() -> None:
    backoff = Backoff(initial_s=0.5, cap_s=30.0, jitter=0.0)
    for _ in range(10_000):
        wait = backoff.next_delay()
    assert wait == 30.0
