"""The score's components: how a pair maps to a small integer state, and a state to a value.

A component's state is an `int` that determines both its value in [0, 1] and its reason
text, so the index can compute states for whole columns with numpy and share the
rendering with the scalar path (`scoring.py`). Values come from small lookup tables or
pure functions of counts, built once, so both paths produce bit-identical floats.
"""

from __future__ import annotations

from koppel.vocabulary import OrganizationType, SizeClass, WorkStyle
from koppel_matcher.domain.hard_filters import distance_km
from koppel_matcher.domain.masks import (
    ASSIGNMENT_TYPE_INDEX,
    DISCIPLINE_BITS,
    ORGANIZATION_TYPE_INDEX,
    WORK_STYLE_INDEX,
    WORK_STYLES,
    assignment_type_mask,
    discipline_mask,
    organization_type_mask,
)
from koppel_matcher.domain.model import AssignmentSpec, ProfileSpec

PLAIN_DISCIPLINE_CREDIT = 0.6
"""A required discipline the consultant holds counts 0.6; as a specialism it counts 1.0."""

# --- disciplines: state = wanted | specialism-covered << 18 | plain-covered << 36 ---
COVERAGE_SHIFT = DISCIPLINE_BITS
SUBSET_MASK = (1 << DISCIPLINE_BITS) - 1


def coverage_state(wanted: int, disciplines: int, specialisms: int) -> int:
    special = wanted & disciplines & specialisms
    plain = wanted & disciplines & ~specialisms
    return wanted | special << COVERAGE_SHIFT | plain << (2 * COVERAGE_SHIFT)


def coverage_parts(state: int) -> tuple[int, int, int]:
    """(wanted, covered as specialism, covered as plain discipline) masks of a state."""
    return (
        state & SUBSET_MASK,
        state >> COVERAGE_SHIFT & SUBSET_MASK,
        state >> (2 * COVERAGE_SHIFT) & SUBSET_MASK,
    )


def coverage_value(wanted: int, special: int, plain: int, neutral: float) -> float:
    """Credit per wanted discipline averaged; `neutral` when nothing is wanted."""
    if wanted == 0:
        return neutral
    return (special * 1.0 + plain * PLAIN_DISCIPLINE_CREDIT) / wanted


def required_value(state: int) -> float:
    wanted, special, plain = (m.bit_count() for m in coverage_parts(state))
    return coverage_value(wanted, special, plain, neutral=0.0)


def preferred_value(state: int) -> float:
    wanted, special, plain = (m.bit_count() for m in coverage_parts(state))
    return coverage_value(wanted, special, plain, neutral=0.5)


# --- level: state = assignment rank * 4 + consultant rank ---
LEVEL_EXACT, LEVEL_STRETCH, LEVEL_STEP_DOWN = 1.0, 0.5, 0.3


def level_value(state: int) -> float:
    step = state // 4 - state % 4
    return {0: LEVEL_EXACT, 1: LEVEL_STRETCH, -1: LEVEL_STEP_DOWN}.get(step, 0.0)


# --- work style vs organisation: state = organisation kind * 3 + work style index ---
KIND_NONE, KIND_SMALL_MUNICIPALITY = 0, 1
KIND_LARGE_MUNICIPALITY, KIND_MINISTRY, KIND_AGENCY, KIND_PROVINCE = 2, 3, 4, 5
_SPECIALIST_KIND = {
    OrganizationType.MINISTRY: KIND_MINISTRY,
    OrganizationType.EXECUTIVE_AGENCY: KIND_AGENCY,
    OrganizationType.PROVINCE: KIND_PROVINCE,
}


def organization_kind(a: AssignmentSpec) -> int:
    """Which work style the organisation tends to want (seed 000), as a kind code."""
    if a.organization_type is OrganizationType.MUNICIPALITY:
        if a.size_class is SizeClass.SMALL:
            return KIND_SMALL_MUNICIPALITY
        if a.size_class is SizeClass.LARGE:
            return KIND_LARGE_MUNICIPALITY
        return KIND_NONE
    return _SPECIALIST_KIND.get(a.organization_type, KIND_NONE)


def wanted_style(kind: int) -> WorkStyle | None:
    if kind == KIND_NONE:
        return None
    return WorkStyle.GENERALIST if kind == KIND_SMALL_MUNICIPALITY else WorkStyle.SPECIALIST


def work_style_value(state: int) -> float:
    wanted = wanted_style(state // 3)
    style = WORK_STYLES[state % 3]
    if wanted is None or style is WorkStyle.EITHER:
        return 0.5
    return 1.0 if style is wanted else 0.1


# --- organisation / assignment type preference: state = type index * 3 + relation ---
NO_PREFERENCE, PREFERRED, NOT_PREFERRED = 0, 1, 2


def preference_state(type_index: int, preferred_mask: int) -> int:
    if preferred_mask == 0:
        return type_index * 3 + NO_PREFERENCE
    return type_index * 3 + (PREFERRED if preferred_mask >> type_index & 1 else NOT_PREFERRED)


def preference_value(state: int) -> float:
    return (0.5, 1.0, 0.0)[state % 3]


# --- hours: state packs the assignment's [min, max] and the free capacity [min, max] ---
HOURS_FIELD_BITS = 10
HOURS_FIELD_MAX = (1 << HOURS_FIELD_BITS) - 1
HOURS_FULL, HOURS_PARTIAL = 1.0, 0.4


def hours_state(a_min: int, a_max: int, free_min: int, free_max: int) -> int:
    fields = (a_min, a_max, free_min, free_max)
    state = 0
    for i, v in enumerate(fields):
        state |= min(max(v, 0), HOURS_FIELD_MAX) << (i * HOURS_FIELD_BITS)
    return state


def hours_fields(state: int) -> tuple[int, int, int, int]:
    a_min, a_max, free_min, free_max = (
        state >> (i * HOURS_FIELD_BITS) & HOURS_FIELD_MAX for i in range(4)
    )
    return a_min, a_max, free_min, free_max


def hours_value(state: int) -> float:
    a_min, a_max, free_min, free_max = hours_fields(state)
    return HOURS_FULL if free_min <= a_min and a_max <= free_max else HOURS_PARTIAL


# --- office days: state = assignment days * 8 + consultant maximum (each clamped to 0..7) ---
def office_state(days: int, maximum: int) -> int:
    return min(max(days, 0), 7) * 8 + min(max(maximum, 0), 7)


def office_value(state: int) -> float:
    days, maximum = divmod(state, 8)
    if days == 0:
        return 1.0
    margin = maximum - days
    if margin >= 2:
        return 1.0
    return 0.75 if margin == 1 else 0.5


# --- travel: state = remote, a distance band, or unknown ---
TRAVEL_REMOTE = 0
TRAVEL_BAND_LIMITS_KM = (10.0, 25.0, 50.0, 100.0)
"""Upper ends of bands 1–4; band 5 is anything further."""
TRAVEL_FAR = len(TRAVEL_BAND_LIMITS_KM) + 1
TRAVEL_UNKNOWN = TRAVEL_FAR + 1
_TRAVEL_VALUES = (1.0, 1.0, 0.8, 0.6, 0.3, 0.1, 0.5)


def travel_band(distance: float) -> int:
    for band, limit in enumerate(TRAVEL_BAND_LIMITS_KM, start=1):
        if distance <= limit:
            return band
    return TRAVEL_FAR


def travel_value(state: int) -> float:
    return _TRAVEL_VALUES[state]


# --- rate headroom: state = missing, tight, some, ample ---
RATE_MISSING, RATE_TIGHT, RATE_SOME, RATE_AMPLE = 0, 1, 2, 3
RATE_SOME_HEADROOM, RATE_AMPLE_HEADROOM = 0.05, 0.20


def rate_state(max_rate: float | None, min_rate: float | None) -> int:
    if max_rate is None or min_rate is None:
        return RATE_MISSING
    headroom = (max_rate - min_rate) / max_rate
    if headroom >= RATE_AMPLE_HEADROOM:
        return RATE_AMPLE
    return RATE_SOME if headroom >= RATE_SOME_HEADROOM else RATE_TIGHT


def rate_value(state: int) -> float:
    return (0.5, 0.25, 0.75, 1.0)[state]


# --- public-sector experience: state = none, some (1–4 years), ample (5+) ---
PUBLIC_AMPLE_YEARS = 5


def public_sector_state(years: int) -> int:
    if years <= 0:
        return 0
    return 2 if years >= PUBLIC_AMPLE_YEARS else 1


def public_sector_value(state: int) -> float:
    return (0.2, 0.5, 1.0)[state]


def states(a: AssignmentSpec, p: ProfileSpec) -> tuple[int, ...]:
    """Every component's state for one pair, in `scoring.COMPONENTS` order."""
    disciplines = discipline_mask(p.disciplines)
    specialisms = discipline_mask(p.specialisms)
    free_min, free_max = p.free_hours
    if a.office_days_per_week <= 0:
        travel = TRAVEL_REMOTE
    else:
        distance = distance_km(a, p)
        travel = TRAVEL_UNKNOWN if distance is None else travel_band(distance)
    return (
        coverage_state(discipline_mask(a.disciplines_required), disciplines, specialisms),
        coverage_state(discipline_mask(a.disciplines_preferred), disciplines, specialisms),
        a.level.rank * 4 + p.level.rank,
        organization_kind(a) * 3 + WORK_STYLE_INDEX[p.work_style],
        preference_state(
            ORGANIZATION_TYPE_INDEX[a.organization_type],
            organization_type_mask(p.preferred_organization_types),
        ),
        preference_state(
            ASSIGNMENT_TYPE_INDEX[a.assignment_type],
            assignment_type_mask(p.preferred_assignment_types),
        ),
        hours_state(a.hours_min, a.hours_max, free_min, free_max),
        office_state(a.office_days_per_week, p.max_office_days_per_week),
        travel,
        rate_state(a.max_hourly_rate_eur, p.min_hourly_rate_eur),
        public_sector_state(p.public_sector_years),
    )
