"""The score for many pairs at once, from component state arrays.

Values come from tables filled by the scalar value functions of `components.py`, and the
weighted sum runs in the same order as `scoring.total_of`, so every score is bit-identical
to the scalar path (`rendering.py` then turns the rows into `Evaluation` objects).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from koppel_matcher.domain import components as c
from koppel_matcher.domain import geo
from koppel_matcher.domain.masks import ASSIGNMENT_TYPES, DISCIPLINE_BITS, ORGANIZATION_TYPES
from koppel_matcher.domain.scoring import COMPONENTS

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
IntsLike = Ints | np.int64
"""An array, or one value that broadcasts against the arrays of the other side."""
FloatsLike = Floats | np.float64

REQUIRED, PREFERRED, LEVEL, WORK_STYLE, ORGANIZATION_TYPE, ASSIGNMENT_TYPE = range(6)
HOURS, OFFICE_DAYS, TRAVEL, RATE, PUBLIC_SECTOR = range(6, 11)

_N = DISCIPLINE_BITS + 1


def _coverage_table(neutral: float) -> Floats:
    table = np.zeros((_N, _N, _N), dtype=np.float64)
    for wanted in range(_N):
        for special in range(wanted + 1):
            for plain in range(wanted + 1 - special):
                table[wanted, special, plain] = c.coverage_value(wanted, special, plain, neutral)
    return table


_REQUIRED_TABLE = _coverage_table(0.0)
_PREFERRED_TABLE = _coverage_table(0.5)


SMALL_STATE_COUNTS: dict[int, int] = {
    LEVEL: 16,
    WORK_STYLE: (c.KIND_PROVINCE + 1) * 3,
    ORGANIZATION_TYPE: len(ORGANIZATION_TYPES) * 3,
    ASSIGNMENT_TYPE: len(ASSIGNMENT_TYPES) * 3,
    OFFICE_DAYS: 64,
    TRAVEL: c.TRAVEL_UNKNOWN + 1,
    RATE: 4,
    PUBLIC_SECTOR: 3,
}
"""Components whose states are all below a small count: their values come from one table."""


def _state_table(component: int, size: int) -> Floats:
    value = COMPONENTS[component].value
    return np.array([value(state) for state in range(size)], dtype=np.float64)


_TABLES = {i: _state_table(i, count) for i, count in SMALL_STATE_COUNTS.items()}
_BAND_H = np.array([geo.h_of_km(km) for km in c.TRAVEL_BAND_LIMITS_KM], dtype=np.float64)
_BAND_H_LOW = _BAND_H * (1 - geo.H_TOLERANCE) - geo.H_FLOOR
_BAND_H_HIGH = _BAND_H * (1 + geo.H_TOLERANCE) + geo.H_FLOOR


def coverage(
    wanted: IntsLike, disciplines: IntsLike, specialisms: IntsLike, *, required: bool
) -> Any:
    """States and values of a discipline-coverage component (masks broadcast)."""
    special = wanted & disciplines & specialisms
    plain = wanted & disciplines & ~specialisms
    state = wanted | special << c.COVERAGE_SHIFT | plain << (2 * c.COVERAGE_SHIFT)
    table = _REQUIRED_TABLE if required else _PREFERRED_TABLE
    counts = [
        np.bitwise_count(m).astype(np.intp) for m in np.broadcast_arrays(wanted, special, plain)
    ]
    return state, table[counts[0], counts[1], counts[2]]


def preference_states(type_index: IntsLike, preferred_mask: IntsLike) -> Ints:
    held = (preferred_mask >> type_index) & 1
    relation = np.where(
        preferred_mask == 0, c.NO_PREFERENCE, np.where(held == 1, c.PREFERRED, c.NOT_PREFERRED)
    )
    result: Ints = type_index * 3 + relation
    return result


def hours(
    a_min: IntsLike, a_max: IntsLike, free_min: IntsLike, free_max: IntsLike
) -> tuple[Ints, Floats]:
    fields = [
        np.clip(v, 0, c.HOURS_FIELD_MAX).astype(np.int64)
        for v in (a_min, a_max, free_min, free_max)
    ]
    state = np.zeros(np.broadcast_shapes(*(f.shape for f in fields)), dtype=np.int64)
    for i, field in enumerate(fields):
        state |= field << (i * c.HOURS_FIELD_BITS)
    full = (fields[2] <= fields[0]) & (fields[1] <= fields[3])
    values: Floats = np.where(full, c.HOURS_FULL, c.HOURS_PARTIAL)
    return state, values


def office_states(days: IntsLike, maximum: IntsLike) -> Ints:
    result: Ints = np.clip(days, 0, 7) * 8 + np.clip(maximum, 0, 7)
    return result


def travel_bands(h: Floats) -> tuple[Ints, npt.NDArray[np.bool_]]:
    """Travel states from h (`geo`): the distance band, unknown for NaN; and which rows
    lie too close to a band edge for h to decide (the caller asks the scalar for those)."""
    band = np.searchsorted(_BAND_H, h, side="left") + 1
    band[np.isnan(h)] = c.TRAVEL_UNKNOWN
    fragile = np.searchsorted(_BAND_H_LOW, h) != np.searchsorted(_BAND_H_HIGH, h)
    return band.astype(np.int64, copy=False), fragile


def rate_states(max_rate: FloatsLike, min_rate: FloatsLike) -> Ints:
    """NaN marks an unknown rate on either side."""
    with np.errstate(invalid="ignore", divide="ignore"):
        headroom = (max_rate - min_rate) / max_rate
    state = np.where(
        headroom >= c.RATE_AMPLE_HEADROOM,
        c.RATE_AMPLE,
        np.where(headroom >= c.RATE_SOME_HEADROOM, c.RATE_SOME, c.RATE_TIGHT),
    )
    result: Ints = np.where(np.isnan(max_rate) | np.isnan(min_rate), c.RATE_MISSING, state)
    return result.astype(np.int64)


def table_values(component: int, states: Ints) -> Floats:
    values: Floats = _TABLES[component][states]
    return values


def scores(values: list[Floats]) -> Floats:
    """Σ weight × value in component order, rounded like `scoring.round_score`."""
    total = np.zeros(np.broadcast_shapes(*(v.shape for v in values)), dtype=np.float64)
    for component, value in zip(COMPONENTS, values, strict=True):
        total += component.weight * value
    result: Floats = np.clip(np.rint(total * 10_000.0) / 10_000.0, 0.0, 1.0)
    return result
