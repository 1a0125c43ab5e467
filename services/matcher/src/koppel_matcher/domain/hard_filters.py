"""The hard filters of the contract's section 3: a pair failing any of them is never a match.

Each filter is one function over the columns of both sides (`columns.Columns`) at a
moment `when` (`instants.When`: epoch microseconds and the Dutch date). Whichever side is
the query's own entity holds numpy scalars and broadcasts against the other side's rows,
so the same function decides one assignment against every profile, one profile against
every assignment, and one pair. A filter that reads only scalars answers for all rows at
once. Filter 9 (travel) shares its distance computation with the travel component and
lives in `travel.py`; it runs after these, on the pairs that pass them.

Filters 4 and 10 count the commitments running on the pair's capacity day
(`commitments.py`); `hours_on` and `office_weekdays_on` take the day, so the same rules
also tell whether a pair would fit on another day (the reason naming a commitment that
ends before the start, `freed_capacity.freed_state`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import numpy as np

from koppel_matcher.domain.columns import Columns
from koppel_matcher.domain.commitments import capacity_day, free_hours, office_clash
from koppel_matcher.domain.instants import When

AVAILABILITY_GRACE = timedelta(days=14)
"""Filter 3: a consultant may become available up to two weeks after the start date."""
_GRACE_DAYS = AVAILABILITY_GRACE.days

Filter = Callable[[Columns, Columns, When], Any]
"""(assignment columns, profile columns, when) → pass mask, or one bool for all rows."""


def profile_active(a: Columns, p: Columns, when: When) -> Any:
    """Filter 1, profile side: active."""
    return p["active"]


def consent(a: Columns, p: Columns, when: When) -> Any:
    """Filter 1, profile side: consent given (GDPR/AVG)."""
    return p["consent"]


def assignment_open(a: Columns, p: Columns, when: When) -> Any:
    """Filter 1, assignment side: status open and `now` strictly before `closes_at`."""
    return a["open"] & (a["closes"] > when.us)


def level(a: Columns, p: Columns, when: When) -> Any:
    """Filter 2: same level, one step down, or one step up for those open to it."""
    step = a["level"] - p["level"]
    return (step == 0) | (step == -1) | ((step == 1) & p["open_next"])


def availability(a: Columns, p: Columns, when: When) -> Any:
    """Filter 3: available at most two weeks after the start date."""
    return p["available"] <= a["start"] + _GRACE_DAYS


def hours_on(a: Columns, p: Columns, day: Any) -> Any:
    """Filter 4 on `day`: free capacity has a positive upper end and overlaps the asked
    [min, max] (closed intervals)."""
    free_min, free_max = free_hours(p, day)
    return (free_max > 0) & (free_min <= a["hours_max"]) & (a["hours_min"] <= free_max)


def hours(a: Columns, p: Columns, when: When) -> Any:
    """Filter 4: on the capacity day, counting the commitments running then."""
    return hours_on(a, p, capacity_day(a, when.today))


def office_days(a: Columns, p: Columns, when: When) -> Any:
    """Filter 5: no more office days than the consultant's maximum."""
    return a["office"] <= p["max_office"]


def disciplines(a: Columns, p: Columns, when: When) -> Any:
    """Filter 6: at least one required discipline among the consultant's."""
    return (a["required"] & p["disciplines"]) != 0


def certifications(a: Columns, p: Columns, when: When) -> Any:
    """Filter 7: every required certification held (masks over 64-bit words)."""
    required, held = a["certs"], p["certs"]
    fits: Any = np.True_
    for word in range(required.shape[-1]):
        wanted = required[..., word]
        if np.ndim(wanted) == 0 and not wanted:
            continue  # one assignment asking nothing in this word: every row passes it
        have = held[..., word] if word < held.shape[-1] else np.uint64(0)
        fits = fits & ((have & wanted) == wanted)
    return fits


def experience(a: Columns, p: Columns, when: When) -> Any:
    """Filter 7: enough years of experience (no minimum is the smallest int32)."""
    return p["years"] >= a["min_years"]


def rate(a: Columns, p: Columns, when: When) -> Any:
    """Filter 8: the consultant's minimum rate within the maximum, when both are given."""
    return ~(p["min_rate"] > a["max_rate"])  # NaN marks a missing rate: never fails


def office_weekdays_on(a: Columns, p: Columns, day: Any) -> Any:
    """Filter 10 on `day`: no office weekday of the assignment is one of a commitment
    running then (an assignment or commitment naming none shares none)."""
    return ~office_clash(p, day, a["weekdays"])


def office_weekdays(a: Columns, p: Columns, when: When) -> Any:
    """Filter 10: on the capacity day, against the commitments running then."""
    asked = a["weekdays"]
    if np.ndim(asked) == 0 and not asked:
        return np.True_  # one assignment naming no weekdays: every row passes
    return office_weekdays_on(a, p, capacity_day(a, when.today))


FILTERS: tuple[tuple[str, Filter], ...] = (
    ("profile_active", profile_active),
    ("consent", consent),
    ("assignment_open", assignment_open),
    ("level", level),
    ("availability", availability),
    ("hours", hours),
    ("office_days", office_days),
    ("disciplines", disciplines),
    ("certifications", certifications),
    ("experience", experience),
    ("rate", rate),
    ("office_weekdays", office_weekdays),
)
"""Filters 1–8 and 10 of the contract in order; filters 1 and 7 are split in their parts.
Filter 9 (travel, `travel.py`) belongs between the last two."""

TRAVEL = "travel"
"""Filter 9's name, in `evaluate.filter_outcomes` and the filter labels."""
TRAVEL_AT = [name for name, _ in FILTERS].index("office_weekdays")
"""Where filter 9 stands among `FILTERS` in the contract's order."""
