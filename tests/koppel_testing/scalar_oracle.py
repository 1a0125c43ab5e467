"""The matching rules for one pair, written out with plain Python: the tests' oracle.

The package holds each rule once, as a function over columns (`hard_filters.py`,
`travel.py`, `components.py`). This module states the same rules the obvious way, from
the specs, so the property tests can hold the column code to them. It shares with the
package only what is not a rule about the pair: the value of each small component state
(the contract's table), the reason texts, and the masks and great-circle distance.
Imported by the property tests; not a test module itself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from koppel.vocabulary import OrganizationType, SizeClass
from koppel_matcher.domain import components as c
from koppel_matcher.domain import freed_capacity
from koppel_matcher.domain.geo import haversine_km
from koppel_matcher.domain.instants import epoch_us
from koppel_matcher.domain.masks import (
    ASSIGNMENT_TYPE_INDEX,
    ORGANIZATION_TYPE_INDEX,
    WORK_STYLE_INDEX,
    assignment_type_mask,
    discipline_mask,
    organization_type_mask,
)
from koppel_matcher.domain.model import AssignmentSpec, CommitmentSpec, Evaluation, ProfileSpec
from koppel_matcher.domain.scoring import COMPONENTS, LANGUAGES, PART_TABLES

Filter = Callable[[AssignmentSpec, ProfileSpec, datetime], bool]

# --- hard filters ---


def _is_open_at(a: AssignmentSpec, now: datetime) -> bool:
    return a.is_open and (a.closes_at is None or epoch_us(now) < epoch_us(a.closes_at))


def _level_fits(a: AssignmentSpec, p: ProfileSpec) -> bool:
    step = a.level.rank - p.level.rank
    return step in (0, -1) or (step == 1 and p.open_to_next_level)


def today(now: datetime) -> date:
    """The Dutch date of `now`."""
    return now.astimezone(ZoneInfo("Europe/Amsterdam")).date()


def capacity_day(a: AssignmentSpec, now: datetime) -> date:
    return max(a.start_date, today(now))


def running_on(p: ProfileSpec, day: date) -> list[CommitmentSpec]:
    """The commitments that have not ended by `day` (they run through `until`)."""
    return [c for c in p.commitments if c.until is None or date.fromordinal(c.until) >= day]


def free_hours(p: ProfileSpec, day: date) -> tuple[int, int]:
    committed = sum(c.hours_per_week for c in running_on(p, day))
    return max(0, p.hours_min - committed), p.hours_max - committed


def hours_fit_on(a: AssignmentSpec, p: ProfileSpec, day: date) -> bool:
    free_min, free_max = free_hours(p, day)
    return free_max > 0 and free_min <= a.hours_max and a.hours_min <= free_max


def office_weekdays_free_on(a: AssignmentSpec, p: ProfileSpec, day: date) -> bool:
    return all(c.office_weekdays & a.office_weekdays == 0 for c in running_on(p, day))


def distance_km(a: AssignmentSpec, p: ProfileSpec) -> float | None:
    here, there = p.home, a.location
    if here.lat is None or here.lon is None or there.lat is None or there.lon is None:
        return None
    return haversine_km(here.lat, here.lon, there.lat, there.lon)


def _travel_fits(a: AssignmentSpec, p: ProfileSpec) -> bool:
    if a.office_days_per_week <= 0 or p.max_travel_km is None:
        return True
    distance = distance_km(a, p)
    return distance is None or distance <= p.max_travel_km


def _rate_fits(a: AssignmentSpec, p: ProfileSpec) -> bool:
    if a.max_hourly_rate_eur is None or p.min_hourly_rate_eur is None:
        return True
    return p.min_hourly_rate_eur <= a.max_hourly_rate_eur


def _certification(name: str) -> str:
    """Case-insensitive, whitespace collapsed (contract §8.5)."""
    return " ".join(name.split()).casefold()


def _certifications_held(a: AssignmentSpec, p: ProfileSpec) -> bool:
    held = {_certification(name) for name in p.certifications}
    return all(_certification(name) in held for name in a.required_certifications)


def _experience_fits(a: AssignmentSpec, p: ProfileSpec) -> bool:
    return a.min_years_experience is None or p.years_experience >= a.min_years_experience


FILTERS: tuple[tuple[str, Filter], ...] = (
    ("profile_active", lambda a, p, now: p.active),
    ("consent", lambda a, p, now: p.consent),
    ("assignment_open", lambda a, p, now: _is_open_at(a, now)),
    ("level", lambda a, p, now: _level_fits(a, p)),
    ("availability", lambda a, p, now: p.available_from <= a.start_date + timedelta(days=14)),
    ("hours", lambda a, p, now: hours_fit_on(a, p, capacity_day(a, now))),
    ("office_days", lambda a, p, now: a.office_days_per_week <= p.max_office_days_per_week),
    ("disciplines", lambda a, p, now: not a.disciplines_required.isdisjoint(p.disciplines)),
    ("certifications", lambda a, p, now: _certifications_held(a, p)),
    ("experience", lambda a, p, now: _experience_fits(a, p)),
    ("rate", lambda a, p, now: _rate_fits(a, p)),
    ("travel", lambda a, p, now: _travel_fits(a, p)),
    ("office_weekdays", lambda a, p, now: office_weekdays_free_on(a, p, capacity_day(a, now))),
)


def failed_filters(a: AssignmentSpec, p: ProfileSpec, now: datetime) -> list[str]:
    return [name for name, passes in FILTERS if not passes(a, p, now)]


# --- component states ---


def _coverage_state(wanted: int, disciplines: int, specialisms: int) -> int:
    special = wanted & disciplines & specialisms
    plain = wanted & disciplines & ~specialisms
    return wanted | special << c.COVERAGE_SHIFT | plain << (2 * c.COVERAGE_SHIFT)


def _organization_kind(a: AssignmentSpec) -> int:
    if a.organization_type is OrganizationType.MUNICIPALITY:
        if a.size_class is SizeClass.SMALL:
            return c.KIND_SMALL_MUNICIPALITY
        return c.KIND_LARGE_MUNICIPALITY if a.size_class is SizeClass.LARGE else c.KIND_NONE
    return {
        OrganizationType.MINISTRY: c.KIND_MINISTRY,
        OrganizationType.EXECUTIVE_AGENCY: c.KIND_AGENCY,
        OrganizationType.PROVINCE: c.KIND_PROVINCE,
    }.get(a.organization_type, c.KIND_NONE)


def _preference_state(type_index: int, preferred_mask: int) -> int:
    if preferred_mask == 0:
        return type_index * 3 + c.NO_PREFERENCE
    held = preferred_mask >> type_index & 1
    return type_index * 3 + (c.PREFERRED if held else c.NOT_PREFERRED)


def _hours_state(a_min: int, a_max: int, free_min: int, free_max: int) -> int:
    state = 0
    for i, v in enumerate((a_min, a_max, free_min, free_max)):
        state |= min(max(v, 0), c.HOURS_FIELD_MAX) << (i * c.HOURS_FIELD_BITS)
    return state


def _travel_band(distance: float) -> int:
    for band, limit in enumerate(c.TRAVEL_BAND_LIMITS_KM, start=1):
        if distance <= limit:
            return band
    return c.TRAVEL_FAR


def _rate_state(max_rate: float | None, min_rate: float | None) -> int:
    if max_rate is None or min_rate is None:
        return c.RATE_MISSING
    headroom = (max_rate - min_rate) / max_rate
    if headroom >= c.RATE_AMPLE_HEADROOM:
        return c.RATE_AMPLE
    return c.RATE_SOME if headroom >= c.RATE_SOME_HEADROOM else c.RATE_TIGHT


def _public_sector_state(years: int) -> int:
    if years <= 0:
        return 0
    return 2 if years >= c.PUBLIC_AMPLE_YEARS else 1


def _size_class_state(a: AssignmentSpec, p: ProfileSpec) -> int:
    if a.size_class is None:
        return c.NO_PREFERENCE
    size = list(SizeClass).index(a.size_class) + 1
    if not p.preferred_size_classes:
        return size * 3 + c.NO_PREFERENCE
    return size * 3 + (c.PREFERRED if a.size_class in p.preferred_size_classes else c.NOT_PREFERRED)


def _growth_state(a: AssignmentSpec, p: ProfileSpec) -> int:
    offered = a.disciplines_required | a.disciplines_preferred
    return discipline_mask(offered & (p.growth_disciplines - p.disciplines))


def urgent(a: AssignmentSpec, now: datetime) -> bool:
    """The assignment starts within 21 days of the Dutch date of `now` (or has started)."""
    return a.start_date <= today(now) + timedelta(days=21)


def states(a: AssignmentSpec, p: ProfileSpec, now: datetime) -> tuple[int, ...]:
    """Every component's state for one pair judged at `now`, in `scoring.COMPONENTS` order."""
    disciplines = discipline_mask(p.disciplines)
    specialisms = discipline_mask(p.specialisms)
    free_min, free_max = free_hours(p, capacity_day(a, now))
    if a.office_days_per_week <= 0:
        travel = c.TRAVEL_REMOTE
    else:
        distance = distance_km(a, p)
        travel = c.TRAVEL_UNKNOWN if distance is None else _travel_band(distance)
    return (
        _coverage_state(discipline_mask(a.disciplines_required), disciplines, specialisms),
        _coverage_state(discipline_mask(a.disciplines_preferred), disciplines, specialisms),
        _growth_state(a, p),
        a.level.rank * 4 + p.level.rank,
        _organization_kind(a) * 3 + WORK_STYLE_INDEX[p.work_style],
        _preference_state(
            ORGANIZATION_TYPE_INDEX[a.organization_type],
            organization_type_mask(p.preferred_organization_types),
        ),
        _size_class_state(a, p),
        _preference_state(
            ASSIGNMENT_TYPE_INDEX[a.assignment_type],
            assignment_type_mask(p.preferred_assignment_types),
        ),
        _hours_state(a.hours_min, a.hours_max, free_min, free_max),
        min(max(a.office_days_per_week, 0), 7) * 8 + min(max(p.max_office_days_per_week, 0), 7),
        travel,
        _rate_state(a.max_hourly_rate_eur, p.min_hourly_rate_eur),
        _public_sector_state(p.public_sector_years),
        int(urgent(a, now)),
    )


def freed_reason(a: AssignmentSpec, p: ProfileSpec, now: datetime) -> str | None:
    """The reason naming the commitment whose end leaves the pair the room it needs on its
    capacity day (filters 4 and 10), when the pair would not fit today."""
    day, first = capacity_day(a, now), today(now)
    if not (hours_fit_on(a, p, day) and office_weekdays_free_on(a, p, day)):
        return None
    if hours_fit_on(a, p, first) and office_weekdays_free_on(a, p, first):
        return None
    ending = [
        commitment
        for commitment in p.commitments
        if commitment.until is not None and first <= date.fromordinal(commitment.until) < day
    ]
    if not ending:
        return None
    last = max(ending, key=lambda commitment: commitment.until or 0)  # the first on a tie
    return freed_capacity.freed_reason(last, free_hours(p, day)[1], p.language)


# --- values and the evaluation ---

_SMALL_VALUES: dict[str, Callable[[int], float]] = {
    "level": c.level_value,
    "work_style": c.work_style_value,
    "organization_type": c.preference_value,
    "size_class_preference": c.preference_value,
    "assignment_type": c.preference_value,
    "office_days": c.office_value,
    "travel": c.travel_value,
    "rate": c.rate_value,
    "public_sector": c.public_sector_value,
    "urgency": c.urgency_value,
}


def _value(name: str, state: int) -> float:
    if name in ("required_disciplines", "preferred_disciplines"):
        wanted, special, plain = (m.bit_count() for m in c.coverage_parts(state))
        neutral = 0.0 if name == "required_disciplines" else 0.5
        return c.coverage_value(wanted, special, plain, neutral)
    if name == "growth_discipline":
        return c.GROWTH_OFFERED if state else c.GROWTH_NEUTRAL
    if name == "hours":
        a_min, a_max, free_min, free_max = c.hours_fields(state)
        full = free_min <= a_min and a_max <= free_max
        return c.HOURS_FULL if full else c.HOURS_PARTIAL
    return _SMALL_VALUES[name](state)


def score(a: AssignmentSpec, p: ProfileSpec, now: datetime) -> Evaluation:
    """The pair's evaluation at `now` whatever the hard filters say."""
    pair_states = states(a, p, now)
    total = 0.0
    for component, state in zip(COMPONENTS, pair_states, strict=True):
        total += component.weight * _value(component.name, state)
    rounded = min(1.0, max(0.0, float(np.rint(total * 10_000.0)) / 10_000.0))
    language = LANGUAGES.index(p.language)
    parts = [
        table[state * len(LANGUAGES) + language]
        for table, state in zip(PART_TABLES, pair_states, strict=True)
    ]
    moved = [part for part in parts if part is not None]
    freed = freed_reason(a, p, now)
    return Evaluation(
        score=rounded,
        components=tuple(part[0] for part in moved),
        reasons=tuple(part[1] for part in moved) + (() if freed is None else (freed,)),
    )


def evaluate(a: AssignmentSpec, p: ProfileSpec, now: datetime) -> Evaluation | None:
    """The pair's evaluation, or None when a hard filter fails."""
    if failed_filters(a, p, now):
        return None
    return score(a, p, now)
