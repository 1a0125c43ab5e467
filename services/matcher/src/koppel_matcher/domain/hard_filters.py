"""The hard filters of DOMAIN.md section 3: a pair failing any of them is never a match.

Each filter is a named predicate over one (assignment, profile) pair at a moment `now`.
`index.py` applies the same rules to whole columns; the property tests hold the two equal.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from koppel_matcher.domain.geo import haversine_km
from koppel_matcher.domain.instants import epoch_us
from koppel_matcher.domain.model import AssignmentSpec, ProfileSpec

AVAILABILITY_GRACE = timedelta(days=14)
"""Filter 3: a consultant may become available up to two weeks after the start date."""

Filter = Callable[[AssignmentSpec, ProfileSpec, datetime], bool]


def is_open_at(a: AssignmentSpec, now: datetime) -> bool:
    """Filter 1, assignment side: status open and `now` strictly before `closes_at`."""
    return a.is_open and (a.closes_at is None or epoch_us(now) < epoch_us(a.closes_at))


def level_fits(a: AssignmentSpec, p: ProfileSpec) -> bool:
    """Filter 2: same level, one step down, or one step up for those open to it."""
    step = a.level.rank - p.level.rank
    return step in (0, -1) or (step == 1 and p.open_to_next_level)


def hours_fit(a: AssignmentSpec, p: ProfileSpec) -> bool:
    """Filter 4: free capacity has a positive upper end and overlaps [min, max] (closed)."""
    free_min, free_max = p.free_hours
    return free_max > 0 and free_min <= a.hours_max and a.hours_min <= free_max


def travel_fits(a: AssignmentSpec, p: ProfileSpec) -> bool:
    """Filter 9: only when there are office days, both coordinates and a travel limit."""
    if a.office_days_per_week <= 0 or p.max_travel_km is None:
        return True
    distance = distance_km(a, p)
    return distance is None or distance <= p.max_travel_km


def distance_km(a: AssignmentSpec, p: ProfileSpec) -> float | None:
    """Home-to-assignment distance, or None when either side lacks coordinates."""
    here, there = p.home, a.location
    if here.lat is None or here.lon is None or there.lat is None or there.lon is None:
        return None
    return haversine_km(here.lat, here.lon, there.lat, there.lon)


def _rate_fits(a: AssignmentSpec, p: ProfileSpec) -> bool:
    if a.max_hourly_rate_eur is None or p.min_hourly_rate_eur is None:
        return True
    return p.min_hourly_rate_eur <= a.max_hourly_rate_eur


def _experience_fits(a: AssignmentSpec, p: ProfileSpec) -> bool:
    return a.min_years_experience is None or p.years_experience >= a.min_years_experience


FILTERS: tuple[tuple[str, Filter], ...] = (
    ("profile_active", lambda a, p, now: p.active),
    ("consent", lambda a, p, now: p.consent),
    ("assignment_open", lambda a, p, now: is_open_at(a, now)),
    ("level", lambda a, p, now: level_fits(a, p)),
    ("availability", lambda a, p, now: p.available_from <= a.start_date + AVAILABILITY_GRACE),
    ("hours", lambda a, p, now: hours_fit(a, p)),
    ("office_days", lambda a, p, now: a.office_days_per_week <= p.max_office_days_per_week),
    ("disciplines", lambda a, p, now: not a.disciplines_required.isdisjoint(p.disciplines)),
    ("certifications", lambda a, p, now: a.required_certifications <= p.certifications),
    ("experience", lambda a, p, now: _experience_fits(a, p)),
    ("rate", lambda a, p, now: _rate_fits(a, p)),
    ("travel", lambda a, p, now: travel_fits(a, p)),
)
"""Filters 1–9 of DOMAIN.md in order; filters 1 and 7 are split in their parts."""


def failed_filters(a: AssignmentSpec, p: ProfileSpec, now: datetime) -> list[str]:
    """Names of the filters the pair fails, in `FILTERS` order (empty: it passes)."""
    return [name for name, passes in FILTERS if not passes(a, p, now)]


def passes_hard_filters(a: AssignmentSpec, p: ProfileSpec, now: datetime) -> bool:
    """True when the pair passes every hard filter."""
    return all(passes(a, p, now) for _, passes in FILTERS)
