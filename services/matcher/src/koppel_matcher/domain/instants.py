"""Moments as whole microseconds since the Unix epoch, so scalar and array code compare alike;
and days as the Dutch calendar has them.

The contract's dates are Dutch: "today" is the date of a moment in Europe/Amsterdam, and a
commitment that runs until day D ends at D + 1, 00:00 Europe/Amsterdam (its end moment).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

import numpy as np

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def epoch_us(moment: datetime) -> int:
    """Microseconds since the epoch; a naive datetime is taken to be UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MICROSECOND


def dutch_today(moment: datetime) -> date:
    """The date of `moment` in Europe/Amsterdam; a naive datetime is taken to be UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(AMSTERDAM).date()


def end_moment(until: date) -> datetime:
    """When something that runs through `until` ends: the next day, 00:00 Europe/Amsterdam."""
    return datetime.combine(until + timedelta(days=1), time(), tzinfo=AMSTERDAM)


class When(NamedTuple):
    """The moment the rules judge at, in the two forms they read it."""

    us: np.int64
    """Microseconds since the epoch (`closes_at` is compared with it)."""
    today: int
    """The Dutch date, as `date.toordinal()` (capacity days and urgency count from it)."""


def when(moment: datetime) -> When:
    return When(np.int64(epoch_us(moment)), dutch_today(moment).toordinal())
