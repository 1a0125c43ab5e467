from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from koppel_notifier.domain.digest_schedule import digest_day


def test_before_the_hour_nothing_is_due() -> None:
    # 06:59 UTC is 07:59 in Amsterdam in winter.
    assert digest_day(datetime(2026, 1, 15, 6, 59, tzinfo=UTC), hour=8) is None
    assert digest_day(datetime(2026, 1, 15, 7, 0, tzinfo=UTC), hour=8) == date(2026, 1, 15)


def test_summer_time_moves_the_utc_moment() -> None:
    # 06:00 UTC is 08:00 in Amsterdam in summer (CEST, UTC+2).
    assert digest_day(datetime(2026, 7, 1, 5, 59, tzinfo=UTC), hour=8) is None
    assert digest_day(datetime(2026, 7, 1, 6, 0, tzinfo=UTC), hour=8) == date(2026, 7, 1)


def test_the_local_date_counts_not_the_utc_date() -> None:
    # 23:30 UTC on 31 December is already New Year's Day in Amsterdam.
    assert digest_day(datetime(2026, 12, 31, 23, 30, tzinfo=UTC), hour=0) == date(2027, 1, 1)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        digest_day(datetime(2026, 1, 1, 9), hour=8)
