"""When a consultant's next commitment ends: the moment capacity frees itself (§8.4).

A commitment running through day D ends at D + 1, 00:00 Europe/Amsterdam, its end moment
(`instants.end_moment`). From then on the filters no longer count it, so an open
assignment it blocked can match without any event about either side; the shard matches
the consultant again at that moment (`service_layer.capacity_schedule`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from koppel_matcher.domain.instants import end_moment


def next_end_moment(untils: Iterable[int | None], now: datetime) -> datetime | None:
    """The first end moment after `now` of commitments running through `untils` (days as
    `date.toordinal()`; None: without an end), or None when none ends after `now`."""
    ends = (end_moment(date.fromordinal(until)) for until in untils if until is not None)
    return min((moment for moment in ends if moment > now), default=None)
