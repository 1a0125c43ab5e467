"""Which of a consultant's commitments, ending before a pair's capacity day, leaves the room
the pair needs, and the reason that names it (contract §8.4).

This is no score component: it moves no score. Its reason is rendered from the profile (the
commitment's label and end date are the consultant's own), not from a state table, so it
is added after the components' reasons.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np

from koppel.labels import day_and_month
from koppel.vocabulary import Language
from koppel_matcher.domain.columns import Columns, Taken
from koppel_matcher.domain.commitments import capacity_day, free_hours, last_ending_before
from koppel_matcher.domain.components import Pair
from koppel_matcher.domain.hard_filters import hours_on, office_weekdays_on
from koppel_matcher.domain.model import CommitmentSpec

NL, EN = Language.NL, Language.EN

FREED_SHIFT = 4
"""`freed_state` holds 1 + the commitment's entry in its low bits (ten fit), free hours above."""


def freed_state(pair: Pair) -> Any:
    """Per pair: 0, or the commitment ending latest before the capacity day (1 + its entry
    among the profile's ending commitments) with the free hours from then, when the pair
    fits on the capacity day (filters 4 and 10) but would not today.

    Only pairs whose profile has commitments ending before the capacity day and running
    today can be freed: the rest are 0 without further work (most pairs, as most
    commitments run for months or have ended already).
    """
    a, p, today = pair.a, pair.p, pair.today
    day = capacity_day(a, today)
    maybe = (p["ends_after"] <= day) & (p["last_until"] >= today)
    maybe = np.broadcast_to(maybe, np.shape(pair.travel))
    rows = np.flatnonzero(maybe)
    freed = np.zeros(maybe.shape, dtype=np.int64)
    if rows.size:
        a, p = _rows_of(a, rows), _rows_of(p, rows)
        freed[rows] = _freed(a, p, today, day[rows] if np.ndim(day) else day)
    return freed


def _rows_of(side: Columns, rows: Any) -> Columns:
    """The pairs' `rows` of a side: taken when it has one value per pair, else itself."""
    return Taken(side, rows) if np.ndim(side["level"]) else side


def _freed(a: Columns, p: Columns, today: int, day: Any) -> Any:
    fits_then = hours_on(a, p, day) & office_weekdays_on(a, p, day)
    fits_today = hours_on(a, p, today) & office_weekdays_on(a, p, today)
    entry = _int64(np.asarray(last_ending_before(p, today, day)))
    _, free_max = free_hours(p, day)
    freed = entry | _int64(np.maximum(free_max, 0)) << FREED_SHIFT
    return np.where(fits_then & ~fits_today & (entry != 0), freed, 0)


def freed_parts(state: Any) -> tuple[Any, Any]:
    """(entry among the profile's ending commitments, free hours from its end) of a state,
    or of an array of them."""
    return (state & ((1 << FREED_SHIFT) - 1)) - 1, state >> FREED_SHIFT


def _int64(values: Any) -> Any:
    return values.astype(np.int64)


def freed_reason(commitment: CommitmentSpec, hours_free: int, language: Language) -> str:
    """The commitment whose end (`until`, set) leaves the hours free, with those hours."""
    assert commitment.until is not None, "only a commitment with an end frees anything"
    ends = day_and_month(date.fromordinal(commitment.until), language)
    label = commitment.label
    if language is NL:
        who = f"Je opdracht bij {label}" if label else "Een opdracht van je"
        return f"{who} loopt af op {ends}: {hours_free} uur vrij vanaf dan"
    who = f"Your assignment at {label}" if label else "One of your assignments"
    return f"{who} ends on {ends}: {hours_free} hours free from then"
