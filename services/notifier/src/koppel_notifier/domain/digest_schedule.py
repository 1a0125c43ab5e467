"""When the daily digest is due (a configured hour of the day, Amsterdam time)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def digest_day(now: datetime, *, hour: int, zone: ZoneInfo = AMSTERDAM) -> date | None:
    """The local date whose digest may go out at `now`, or None before `hour` that day.

    Each consultant gets at most one digest per returned date; matches queued after it went
    out wait for the next day's.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    local = now.astimezone(zone)
    return local.date() if local.hour >= hour else None
