"""The commitments running on a pair's capacity day: what hard filters 4 and 10 count.

A pair's capacity day is `max(start_date, today)`: the first day the consultant would work
on the assignment. A commitment runs on a day up to and including its `until`. The columns
hold a profile's commitments in two parts (`entity_columns.py`): those without an end run
on every day, so they are summed once (`endless_hours`, `endless_office`); those with one
are wide fields (`c_until`, `c_hours`, `c_office`), one entry per commitment, padded with
entries that never run. Most profiles hold none or one or two of them, so a scan pays a
compare and a select per entry of the shard's widest profile, whatever its size.

Each function works on columns of both sides as the filters do: `day` is one number (one
assignment against every profile) or one per row (one profile against every assignment).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from koppel_matcher.domain.columns import Columns

NO_DAY = int(np.iinfo(np.int32).min)
"""`c_until` of a padding entry: a commitment that never runs."""


def capacity_day(a: Columns, today: int) -> Any:
    """The first day the consultant would work on the assignment: its start, or today."""
    return np.maximum(a["start"], today)


def committed_on(p: Columns, day: Any) -> Any:
    """Σ weekly hours of the commitments running on `day`."""
    hours = p["endless_hours"]
    until, each = p["c_until"], p["c_hours"]
    for k in range(until.shape[-1]):
        hours = hours + np.where(until[..., k] >= day, each[..., k], 0)
    return hours


def office_on(p: Columns, day: Any) -> Any:
    """The weekday mask of the office days of the commitments running on `day`."""
    days = p["endless_office"]
    until, each = p["c_until"], p["c_office"]
    for k in range(until.shape[-1]):
        days = days | np.where(until[..., k] >= day, each[..., k], 0)
    return days


def free_hours(p: Columns, day: Any) -> tuple[Any, Any]:
    """Free weekly capacity on `day`: `[max(0, min − committed), max − committed]`."""
    committed = committed_on(p, day)
    return np.maximum(p["hours_min"] - committed, 0), p["hours_max"] - committed


def last_ending_before(p: Columns, today: int, day: Any) -> Any:
    """Per pair, 1 + the entry of the commitment running today that ends latest before
    `day` (the first such entry on a tie); 0 when none ends in between."""
    until = p["c_until"]
    best: Any = np.int64(0)
    best_until: Any = np.int64(NO_DAY)
    for k in range(until.shape[-1]):
        ends = until[..., k]
        later = (ends >= today) & (ends < day) & (ends > best_until)
        best = np.where(later, k + 1, best)
        best_until = np.where(later, ends, best_until)
    return best
