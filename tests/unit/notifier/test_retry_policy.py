from __future__ import annotations

import random

import pytest

from koppel_notifier.domain.retry_policy import DEFAULT_SCHEDULE, RetryPolicy, parse_schedule


def test_default_schedule_follows_standard_webhooks() -> None:
    assert parse_schedule(DEFAULT_SCHEDULE) == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)


def test_units_and_bare_seconds() -> None:
    assert parse_schedule("0, 250ms, 2, 1.5m, 1h") == (0, 0.25, 2, 90, 3600)


@pytest.mark.parametrize("text", ["", "5x", "soon", "1,,2", "-1s"])
def test_bad_schedules_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="retry schedule"):
        parse_schedule(text)


def test_each_failure_waits_the_next_step_until_exhausted() -> None:
    policy = RetryPolicy((0, 5, 300), jitter=0)
    assert policy.next_delay(1) == 5
    assert policy.next_delay(2) == 300
    assert policy.next_delay(3) is None
    assert policy.max_attempts == 3


def test_jitter_stays_within_its_band() -> None:
    policy = RetryPolicy((0, 100), jitter=0.2)
    rng = random.Random(7)
    delays = {policy.next_delay(1, rng=rng) for _ in range(200)}
    assert all(delay is not None and 80 <= delay <= 120 for delay in delays)
    assert len(delays) > 100


def test_throttling_waits_longer_and_honours_retry_after() -> None:
    policy = RetryPolicy((0, 5, 300), jitter=0, slow_factor=2)
    assert policy.next_delay(1, throttled=True) == 10
    assert policy.next_delay(1, throttled=True, retry_after=120) == 120
    assert policy.next_delay(1, throttled=True, retry_after=3) == 10


def test_retry_after_is_capped() -> None:
    policy = RetryPolicy((0, 5), jitter=0, max_delay=3600)
    assert policy.next_delay(1, retry_after=10**9) == 3600
