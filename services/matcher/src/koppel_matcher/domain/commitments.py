"""The commitments running on a pair's capacity day: what hard filters 4 and 10 count.

A pair's capacity day is `max(start_date, today)`: the first day the consultant would work
on the assignment. A commitment runs on a day up to and including its `until`. The columns
hold a profile's commitments twice (`entity_columns.py`):

* as they are: those without an end run on every day, so they are summed once
  (`endless_hours`, `endless_office`); those with one are wide fields (`c_until`,
  `c_hours`, `c_office`), one entry per commitment, padded with entries that never run;
* as they stand while none has ended: the free capacity and office days with every
  commitment counted (`free_min_all`, `free_max_all`, `office_all`), and the first day a
  commitment no longer runs on (`ends_after`, the earliest `until` + 1);
* as they stand from then until the next end: what the free capacity gains then
  (`free_min_gain`, `free_max_gain`), and the first day after that on which another
  commitment has ended (`ends_after_2`); and the last day any commitment runs on
  (`last_until`).

One assignment against every profile reads the precomputed forms and works the first one
out only for the rows where commitments ending on two different days have both ended by
the day (`ends_after_2` ≤ day): a few, as most consultants hold none, or one or two running
for months. One profile against every assignment, or one pair, loops over its own few
entries. Masks select by multiplying (`values * mask`): far cheaper than `np.where` over
the rows of a shard.

Each function works on columns of both sides as the filters do: `day` is one number (one
assignment against every profile) or one per row (one profile against every assignment).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from koppel_matcher.domain.columns import Columns, Taken

NO_DAY = int(np.iinfo(np.int32).min)
"""`c_until` of a padding entry: a commitment that never runs."""
NEVER_ENDS = int(np.iinfo(np.int32).max)
"""`ends_after` of a profile none of whose commitments has an end."""


def capacity_day(a: Columns, today: int) -> Any:
    """The first day the consultant would work on the assignment: its start, or today."""
    return np.maximum(a["start"], today)


def committed_on(p: Columns, day: Any) -> Any:
    """Σ weekly hours of the commitments running on `day`, entry by entry."""
    hours = p["endless_hours"]
    until, each = p["c_until"], p["c_hours"]
    for k in range(until.shape[-1]):
        hours = hours + each[..., k] * (until[..., k] >= day)
    return hours


def _office_running(p: Columns, day: Any) -> Any:
    days = p["endless_office"]
    until, each = p["c_until"], p["c_office"]
    for k in range(until.shape[-1]):
        days = days | each[..., k] * (until[..., k] >= day)
    return days


def _free_running(p: Columns, day: Any) -> tuple[Any, Any]:
    committed = committed_on(p, day)
    return np.maximum(p["hours_min"] - committed, 0), p["hours_max"] - committed


def _one_profile(p: Columns) -> bool:
    """`p` is one profile's values (it has no precomputed rows to read)."""
    return np.ndim(p["ends_after"]) == 0


def _at(values: Any, rows: npt.NDArray[np.intp]) -> Any:
    return values[rows] if np.ndim(values) else values


def free_hours(p: Columns, day: Any) -> tuple[Any, Any]:
    """Free weekly capacity on `day`: `[max(0, min − committed), max − committed]`."""
    if _one_profile(p):
        return _free_running(p, day)
    first_ended = p["ends_after"] <= day
    free_min = p["free_min_all"] + p["free_min_gain"] * first_ended
    free_max = p["free_max_all"] + p["free_max_gain"] * first_ended
    rows = np.flatnonzero(p["ends_after_2"] <= day)
    if rows.size:
        free_min[rows], free_max[rows] = _free_running(Taken(p, rows), _at(day, rows))
    return free_min, free_max


def office_on(p: Columns, day: Any) -> Any:
    """The weekday mask of the office days of the commitments running on `day`."""
    if _one_profile(p):
        return _office_running(p, day)
    office = p["office_all"]
    rows = np.flatnonzero(p["ends_after"] <= day)
    if rows.size:
        office = office.copy()
        office[rows] = _office_running(Taken(p, rows), _at(day, rows))
    return office


def office_clash(p: Columns, day: Any, asked: Any) -> Any:
    """Whether a commitment running on `day` is at its office on one of the weekdays of the
    mask `asked`. Where none clashes with every commitment counted, none running does: only
    the rows that clash so and have a commitment ended by `day` are worked out."""
    if _one_profile(p):
        return (_office_running(p, day) & asked) != 0
    clash = (p["office_all"] & asked) != 0
    rows = np.flatnonzero(clash & (p["ends_after"] <= day))
    if rows.size:
        running = _office_running(Taken(p, rows), _at(day, rows))
        clash[rows] = (running & _at(asked, rows)) != 0
    return clash


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
