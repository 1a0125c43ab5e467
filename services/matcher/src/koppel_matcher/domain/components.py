"""The score's components: how a pair maps to an integer state, and a state to a value.

A component's state determines both its value in [0, 1] and its reason text. Each state
function reads the columns of a `Pair` (`columns.Columns`: one side is the query's own
entity, the other the rows it is matched against, and they broadcast), so one function
serves both directions of the index and a single pair alike. Components with few states
define their value per state (`*_value`), turned into lookup tables by `scoring.py`; the
ones with many states (discipline coverage, growth, hours) compute values from state arrays.

The module is longer than most: every component's state layout, state function and value
sit together, in the order of `scoring.COMPONENTS`, so the whole score reads in one place.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from koppel.vocabulary import OrganizationType, SizeClass, WorkStyle
from koppel_matcher.domain.columns import Columns
from koppel_matcher.domain.commitments import capacity_day, free_hours
from koppel_matcher.domain.masks import DISCIPLINE_BITS, SIZE_CLASSES, WORK_STYLES

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


class Pair(NamedTuple):
    """The columns of both sides of the pairs being scored, their travel states, and the
    Dutch date they are judged on (`date.toordinal()`)."""

    a: Columns
    p: Columns
    travel: Any
    today: int


def _wide(values: Any) -> Any:
    """Widened to int64 before arithmetic that could leave a column's small dtype."""
    return values.astype(np.int64)


# --- disciplines: state = wanted | specialism-covered << 18 | plain-covered << 36 ---
PLAIN_DISCIPLINE_CREDIT = 0.6
"""A required discipline the consultant holds counts 0.6; as a specialism it counts 1.0."""
COVERAGE_SHIFT = DISCIPLINE_BITS
SUBSET_MASK = (1 << DISCIPLINE_BITS) - 1


def coverage_parts(state: Any) -> tuple[Any, Any, Any]:
    """(wanted, covered as specialism, covered as plain discipline) masks of a state, or
    of an array of them."""
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


def _coverage_state(wanted: Any, pair: Pair) -> Any:
    wanted = _wide(wanted)
    disciplines, specialisms = _wide(pair.p["disciplines"]), _wide(pair.p["specialisms"])
    special = wanted & disciplines & specialisms
    plain = wanted & disciplines & ~specialisms
    return wanted | special << COVERAGE_SHIFT | plain << (2 * COVERAGE_SHIFT)


def required_state(pair: Pair) -> Any:
    return _coverage_state(pair.a["required"], pair)


def preferred_state(pair: Pair) -> Any:
    return _coverage_state(pair.a["preferred"], pair)


_N = DISCIPLINE_BITS + 1


def _coverage_table(neutral: float) -> Floats:
    """Values by (wanted, special, plain) counts."""
    table = np.zeros((_N, _N, _N), dtype=np.float64)
    for wanted in range(_N):
        for special in range(wanted + 1):
            for plain in range(wanted + 1 - special):
                table[wanted, special, plain] = coverage_value(wanted, special, plain, neutral)
    return table


_REQUIRED_TABLE = _coverage_table(0.0)
_PREFERRED_TABLE = _coverage_table(0.5)


def _coverage_values(states: Ints, table: Floats) -> Floats:
    counts = [np.bitwise_count(mask).astype(np.intp) for mask in coverage_parts(states)]
    values: Floats = table[counts[0], counts[1], counts[2]]
    return values


def required_values(states: Ints) -> Floats:
    return _coverage_values(states, _REQUIRED_TABLE)


def preferred_values(states: Ints) -> Floats:
    return _coverage_values(states, _PREFERRED_TABLE)


# --- level: state = assignment rank * 4 + consultant rank ---
LEVEL_EXACT, LEVEL_STRETCH, LEVEL_STEP_DOWN = 1.0, 0.5, 0.3
LEVEL_STATES = 16


def level_state(pair: Pair) -> Any:
    return _wide(pair.a["level"]) * 4 + pair.p["level"]


def level_value(state: int) -> float:
    step = state // 4 - state % 4
    return {0: LEVEL_EXACT, 1: LEVEL_STRETCH, -1: LEVEL_STEP_DOWN}.get(step, 0.0)


# --- work style vs organisation: state = organisation kind * 3 + work style index ---
KIND_NONE, KIND_SMALL_MUNICIPALITY = 0, 1
KIND_LARGE_MUNICIPALITY, KIND_MINISTRY, KIND_AGENCY, KIND_PROVINCE = 2, 3, 4, 5
WORK_STYLE_STATES = (KIND_PROVINCE + 1) * 3
_SPECIALIST_KIND = {
    OrganizationType.MINISTRY: KIND_MINISTRY,
    OrganizationType.EXECUTIVE_AGENCY: KIND_AGENCY,
    OrganizationType.PROVINCE: KIND_PROVINCE,
}


def organization_kind(organization_type: OrganizationType, size_class: SizeClass | None) -> int:
    """Which work style the organisation tends to want (seed 000), as a kind code."""
    if organization_type is OrganizationType.MUNICIPALITY:
        if size_class is SizeClass.SMALL:
            return KIND_SMALL_MUNICIPALITY
        if size_class is SizeClass.LARGE:
            return KIND_LARGE_MUNICIPALITY
        return KIND_NONE
    return _SPECIALIST_KIND.get(organization_type, KIND_NONE)


def wanted_style(kind: int) -> WorkStyle | None:
    if kind == KIND_NONE:
        return None
    return WorkStyle.GENERALIST if kind == KIND_SMALL_MUNICIPALITY else WorkStyle.SPECIALIST


def work_style_state(pair: Pair) -> Any:
    return _wide(pair.a["kind"]) * 3 + pair.p["style"]


def work_style_value(state: int) -> float:
    wanted = wanted_style(state // 3)
    style = WORK_STYLES[state % 3]
    if wanted is None or style is WorkStyle.EITHER:
        return 0.5
    return 1.0 if style is wanted else 0.1


# --- organisation / assignment type preference: state = type index * 3 + relation ---
NO_PREFERENCE, PREFERRED, NOT_PREFERRED = 0, 1, 2


def _preference_state(type_index: Any, preferred_mask: Any) -> Any:
    type_index, preferred_mask = _wide(type_index), _wide(preferred_mask)
    held = (preferred_mask >> type_index) & 1
    relation = np.where(
        preferred_mask == 0, NO_PREFERENCE, np.where(held == 1, PREFERRED, NOT_PREFERRED)
    )
    return type_index * 3 + relation


def organization_type_state(pair: Pair) -> Any:
    return _preference_state(pair.a["org_type"], pair.p["pref_org"])


def assignment_type_state(pair: Pair) -> Any:
    return _preference_state(pair.a["asg_type"], pair.p["pref_asg"])


def preference_value(state: int) -> float:
    return (0.5, 1.0, 0.0)[state % 3]


# --- municipality size preference: state = size (0 none, else class index + 1) * 3 + relation
SIZE_CLASS_STATES = (len(SIZE_CLASSES) + 1) * 3


def size_class_state(pair: Pair) -> Any:
    """No preference when the consultant lists no size or the assignment has none (seed 000:
    size matters for municipalities, the only organisations with a size class)."""
    size, wanted = _wide(pair.a["size"]), _wide(pair.p["pref_size"])
    held = (wanted >> size) & 1
    relation = np.where(
        (wanted == 0) | (size == 0),
        NO_PREFERENCE,
        np.where(held == 1, PREFERRED, NOT_PREFERRED),
    )
    return size * 3 + relation


# --- growth: state = the asked (required or preferred) disciplines the consultant wants to
# grow into; they are never held (`entity_columns`), so they never pass filter 6 ---
GROWTH_OFFERED, GROWTH_NEUTRAL = 1.0, 0.5


def growth_state(pair: Pair) -> Any:
    return (_wide(pair.a["required"]) | pair.a["preferred"]) & pair.p["growth"]


def growth_values(states: Ints) -> Floats:
    values: Floats = np.where(states != 0, GROWTH_OFFERED, GROWTH_NEUTRAL)
    return values


# --- hours: state packs the assignment's [min, max] and the free capacity [min, max] ---
HOURS_FIELD_BITS = 10
HOURS_FIELD_MAX = (1 << HOURS_FIELD_BITS) - 1
HOURS_FULL, HOURS_PARTIAL = 1.0, 0.4


def hours_state(pair: Pair) -> Any:
    """The asked hours and the free capacity on the capacity day (as filter 4 counts it)."""
    a = pair.a
    free_min, free_max = free_hours(pair.p, capacity_day(a, pair.today))
    state: Any = np.int64(0)
    for i, field in enumerate((a["hours_min"], a["hours_max"], free_min, free_max)):
        state = state | _wide(np.clip(field, 0, HOURS_FIELD_MAX)) << (i * HOURS_FIELD_BITS)
    return state


def hours_fields(state: Any) -> tuple[Any, Any, Any, Any]:
    """(asked min, asked max, free min, free max) of a state, or of an array of them."""
    a_min, a_max, free_min, free_max = (
        state >> (i * HOURS_FIELD_BITS) & HOURS_FIELD_MAX for i in range(4)
    )
    return a_min, a_max, free_min, free_max


def hours_values(states: Ints) -> Floats:
    """Full when the asked hours lie inside the free capacity, partial otherwise."""
    a_min, a_max, free_min, free_max = hours_fields(states)
    values: Floats = np.where((free_min <= a_min) & (a_max <= free_max), HOURS_FULL, HOURS_PARTIAL)
    return values


# --- office days: state = assignment days * 8 + consultant maximum (each clamped to 0..7) ---
OFFICE_STATES = 64


def office_state(pair: Pair) -> Any:
    days, maximum = pair.a["office"], pair.p["max_office"]
    return _wide(np.clip(days, 0, 7)) * 8 + np.clip(maximum, 0, 7)


def office_value(state: int) -> float:
    days, maximum = divmod(state, 8)
    if days == 0:
        return 1.0
    margin = maximum - days
    if margin >= 2:
        return 1.0
    return 0.75 if margin == 1 else 0.5


# --- travel: state = remote, a distance band, or unknown (computed by `travel.py`) ---
TRAVEL_REMOTE = 0
TRAVEL_BAND_LIMITS_KM = (10.0, 25.0, 50.0, 100.0)
"""Upper ends of bands 1–4; band 5 is anything further."""
TRAVEL_FAR = len(TRAVEL_BAND_LIMITS_KM) + 1
TRAVEL_UNKNOWN = TRAVEL_FAR + 1
_TRAVEL_VALUES = (1.0, 1.0, 0.8, 0.6, 0.3, 0.1, 0.5)


def travel_state(pair: Pair) -> Any:
    return pair.travel


def travel_value(state: int) -> float:
    return _TRAVEL_VALUES[state]


# --- rate headroom: state = missing, tight, some, ample (NaN marks an unknown rate) ---
RATE_MISSING, RATE_TIGHT, RATE_SOME, RATE_AMPLE = 0, 1, 2, 3
RATE_SOME_HEADROOM, RATE_AMPLE_HEADROOM = 0.05, 0.20


def rate_state(pair: Pair) -> Any:
    max_rate, min_rate = pair.a["max_rate"], pair.p["min_rate"]
    with np.errstate(invalid="ignore", divide="ignore"):
        headroom = (max_rate - min_rate) / max_rate
    state = np.where(
        headroom >= RATE_AMPLE_HEADROOM,
        RATE_AMPLE,
        np.where(headroom >= RATE_SOME_HEADROOM, RATE_SOME, RATE_TIGHT),
    )
    return np.where(np.isnan(max_rate) | np.isnan(min_rate), RATE_MISSING, state).astype(np.int64)


def rate_value(state: int) -> float:
    return (0.5, 0.25, 0.75, 1.0)[state]


# --- public-sector experience: state = none, some (1–4 years), ample (5+) ---
PUBLIC_AMPLE_YEARS = 5


def public_sector_years_state(years: int) -> int:
    """The state, kept as a profile column (it depends on the profile alone)."""
    if years <= 0:
        return 0
    return 2 if years >= PUBLIC_AMPLE_YEARS else 1


def public_sector_state(pair: Pair) -> Any:
    return pair.p["public_state"]


def public_sector_value(state: int) -> float:
    return (0.2, 0.5, 1.0)[state]


# --- urgency: state = 1 when the assignment starts within three weeks of today ---
URGENT_WITHIN_DAYS = 21
"""The contract's `URGENT_WITHIN` (§8.5), in days (the domain imports no contract models)."""


def starts_soon(start: Any, today: int) -> Any:
    """An assignment starting on `start` (a day number) is urgent when judged on `today`:
    it starts within three weeks, or has started already. The flag of `MatchFound` and the
    reason both come from here."""
    return start <= today + URGENT_WITHIN_DAYS


def urgency_state(pair: Pair) -> Any:
    return np.where(starts_soon(pair.a["start"], pair.today), 1, 0)


def urgency_value(state: int) -> float:
    """Urgency weighs nothing: it is said, not scored."""
    return 0.0
