"""How an assignment or a profile becomes one row of the columns the rules read.

Discipline and preference sets become bit masks, certifications masks over an interned
vocabulary, dates ordinals, moments epoch microseconds, coordinates unit vectors (and the
degrees, for the exact distance near a threshold), commitments the sums and wide fields
`commitments.py` reads. The index stores these rows in `SlotColumns`; a query's own entity
(and each side of a single pair) is the same row as numpy scalars of the same dtypes, its
wide fields 1-d arrays, which broadcast against the other side's arrays.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from koppel_matcher.domain import components as c
from koppel_matcher.domain.columns import Columns, Fields
from koppel_matcher.domain.commitments import NEVER_ENDS, NO_DAY
from koppel_matcher.domain.geo import h_of_km, unit_vector
from koppel_matcher.domain.instants import epoch_us
from koppel_matcher.domain.masks import (
    ASSIGNMENT_TYPE_INDEX,
    ORGANIZATION_TYPE_INDEX,
    SIZE_CLASS_INDEX,
    WORK_STYLE_INDEX,
    CertificationVocabulary,
    assignment_type_mask,
    discipline_mask,
    organization_type_mask,
    size_class_mask,
)
from koppel_matcher.domain.model import AssignmentSpec, ProfileSpec
from koppel_matcher.domain.scoring import LANGUAGES

Scalar = Callable[[Any], Any]
"""Makes a numpy scalar of a field's dtype."""

_NAN = math.nan
NEVER = int(np.iinfo(np.int64).max)
"""`closes` of an assignment without `closes_at`."""
NO_MINIMUM = int(np.iinfo(np.int32).min)
"""`min_years` of an assignment without `min_years_experience`."""

# Small dtypes keep a scan's memory traffic low; the contract's bounds (hours ≤ 40, years
# ≤ 60, office days ≤ 5, ten commitments of ≤ 40 hours, weekday masks of 5 bits) sit far
# inside them. Comparisons with Python ints are exact in numpy 2 whatever the dtype;
# component states widen to int64 before any arithmetic that could leave a small dtype.
# The second element is what an empty slot holds.
PROFILE_FIELDS: Fields = {
    "active": (np.bool_, False),
    "consent": (np.bool_, False),
    "level": (np.int8, -9),
    "open_next": (np.bool_, False),
    "available": (np.int32, 0),
    "hours_min": (np.int16, 0),
    "hours_max": (np.int16, 0),
    "endless_hours": (np.int16, 0),
    "endless_office": (np.int8, 0),
    "free_min_all": (np.int16, 0),
    "free_max_all": (np.int16, 0),
    "office_all": (np.int8, 0),
    "ends_after": (np.int32, NEVER_ENDS),
    "free_min_gain": (np.int16, 0),
    "free_max_gain": (np.int16, 0),
    "ends_after_2": (np.int32, NEVER_ENDS),
    "last_until": (np.int32, NO_DAY),
    "max_office": (np.int16, -1),
    "disciplines": (np.int32, 0),
    "specialisms": (np.int32, 0),
    "growth": (np.int32, 0),
    "years": (np.int16, 0),
    "public_state": (np.int8, 0),
    "x": (np.float64, _NAN),
    "y": (np.float64, _NAN),
    "z": (np.float64, _NAN),
    "lat": (np.float64, _NAN),
    "lon": (np.float64, _NAN),
    "travel_h": (np.float64, h_of_km(None)),
    "travel_km": (np.float64, _NAN),
    "min_rate": (np.float64, _NAN),
    "style": (np.int8, 0),
    "language": (np.int8, 0),
    "pref_org": (np.int16, 0),
    "pref_asg": (np.int16, 0),
    "pref_size": (np.int8, 0),
}
PROFILE_WIDE: Fields = {
    "certs": (np.uint64, 0),
    "c_until": (np.int32, NO_DAY),
    "c_hours": (np.int16, 0),
    "c_office": (np.int8, 0),
}
"""Certification mask words; one entry per commitment with an end (`commitments.py`)."""
ASSIGNMENT_FIELDS: Fields = {
    "open": (np.bool_, False),
    "closes": (np.int64, NEVER),
    "level": (np.int8, -9),
    "start": (np.int32, 0),
    "hours_min": (np.int16, 0),
    "hours_max": (np.int16, 0),
    "office": (np.int16, 0),
    "weekdays": (np.int8, 0),
    "required": (np.int32, 0),
    "preferred": (np.int32, 0),
    "min_years": (np.int32, NO_MINIMUM),
    "max_rate": (np.float64, _NAN),
    "x": (np.float64, _NAN),
    "y": (np.float64, _NAN),
    "z": (np.float64, _NAN),
    "lat": (np.float64, _NAN),
    "lon": (np.float64, _NAN),
    "kind": (np.int8, 0),
    "org_type": (np.int8, 0),
    "asg_type": (np.int8, 0),
    "size": (np.int8, 0),
}
ASSIGNMENT_WIDE: Fields = {"certs": (np.uint64, 0)}

SIZE_NONE = 0
"""`size` of an assignment without a size class; a class is its index + 1 (and its bit in
the profile's `pref_size`)."""


def _or_nan(value: float | None) -> float:
    return _NAN if value is None else float(value)


def profile_row(p: ProfileSpec) -> dict[str, Any]:
    """The profile's value for every field of `PROFILE_FIELDS`."""
    disciplines = discipline_mask(p.disciplines)
    endless_hours, endless_office, committed, office = 0, 0, 0, 0
    for commitment in p.commitments:
        committed += commitment.hours_per_week
        office |= commitment.office_weekdays
        if commitment.until is None:
            endless_hours += commitment.hours_per_week
            endless_office |= commitment.office_weekdays
    ends = sorted({e.until for e in p.ending_commitments if e.until is not None})
    first_end = ends[0] if ends else NEVER_ENDS
    # what still runs once the commitments ending first have ended
    committed_1 = committed - sum(
        e.hours_per_week for e in p.ending_commitments if e.until == first_end
    )
    free_min_all, free_max_all = max(0, p.hours_min - committed), p.hours_max - committed
    x, y, z = unit_vector(p.home.lat, p.home.lon)
    return {
        "active": p.active,
        "consent": p.consent,
        "level": p.level.rank,
        "open_next": p.open_to_next_level,
        "available": p.available_from.toordinal(),
        "hours_min": p.hours_min,
        "hours_max": p.hours_max,
        "endless_hours": endless_hours,
        "endless_office": endless_office,
        "free_min_all": free_min_all,
        "free_max_all": free_max_all,
        "office_all": office,
        "ends_after": ends[0] + 1 if ends else NEVER_ENDS,
        "free_min_gain": max(0, p.hours_min - committed_1) - free_min_all,
        "free_max_gain": p.hours_max - committed_1 - free_max_all,
        "ends_after_2": ends[1] + 1 if len(ends) > 1 else NEVER_ENDS,
        "last_until": ends[-1] if ends else NO_DAY,
        "max_office": p.max_office_days_per_week,
        "disciplines": disciplines,
        "specialisms": discipline_mask(p.specialisms) & disciplines,
        "growth": discipline_mask(p.growth_disciplines) & ~disciplines,
        "years": p.years_experience,
        "public_state": c.public_sector_years_state(p.public_sector_years),
        "x": x,
        "y": y,
        "z": z,
        "lat": _or_nan(p.home.lat),
        "lon": _or_nan(p.home.lon),
        "travel_h": h_of_km(p.max_travel_km),
        "travel_km": _or_nan(p.max_travel_km),
        "min_rate": _or_nan(p.min_hourly_rate_eur),
        "style": WORK_STYLE_INDEX[p.work_style],
        "language": LANGUAGES.index(p.language),
        "pref_org": organization_type_mask(p.preferred_organization_types),
        "pref_asg": assignment_type_mask(p.preferred_assignment_types),
        "pref_size": size_class_mask(p.preferred_size_classes) << 1,
    }


def profile_wide(p: ProfileSpec, vocabulary: CertificationVocabulary) -> dict[str, list[int]]:
    """The profile's entries for every field of `PROFILE_WIDE` (certifications interned)."""
    ending = p.ending_commitments
    return {
        "certs": vocabulary.words_of(p.certifications),
        "c_until": [NO_DAY if e.until is None else e.until for e in ending],
        "c_hours": [e.hours_per_week for e in ending],
        "c_office": [e.office_weekdays for e in ending],
    }


def assignment_row(a: AssignmentSpec) -> dict[str, Any]:
    """The assignment's value for every field of `ASSIGNMENT_FIELDS`."""
    x, y, z = unit_vector(a.location.lat, a.location.lon)
    return {
        "open": a.is_open,
        "closes": NEVER if a.closes_at is None else epoch_us(a.closes_at),
        "level": a.level.rank,
        "start": a.start_date.toordinal(),
        "hours_min": a.hours_min,
        "hours_max": a.hours_max,
        "office": a.office_days_per_week,
        "weekdays": a.office_weekdays,
        "required": discipline_mask(a.disciplines_required),
        "preferred": discipline_mask(a.disciplines_preferred),
        "min_years": NO_MINIMUM if a.min_years_experience is None else a.min_years_experience,
        "max_rate": _or_nan(a.max_hourly_rate_eur),
        "x": x,
        "y": y,
        "z": z,
        "lat": _or_nan(a.location.lat),
        "lon": _or_nan(a.location.lon),
        "kind": c.organization_kind(a.organization_type, a.size_class),
        "org_type": ORGANIZATION_TYPE_INDEX[a.organization_type],
        "asg_type": ASSIGNMENT_TYPE_INDEX[a.assignment_type],
        "size": SIZE_NONE if a.size_class is None else SIZE_CLASS_INDEX[a.size_class] + 1,
    }


def assignment_wide(a: AssignmentSpec, vocabulary: CertificationVocabulary) -> dict[str, list[int]]:
    """The assignment's entries for every field of `ASSIGNMENT_WIDE`."""
    return {"certs": vocabulary.words_of(a.required_certifications)}


def _scalar_types(fields: Fields) -> dict[str, Scalar]:
    return {name: np.dtype(dtype).type for name, (dtype, _) in fields.items()}


_PROFILE_SCALARS = _scalar_types(PROFILE_FIELDS)
_ASSIGNMENT_SCALARS = _scalar_types(ASSIGNMENT_FIELDS)


def _one_entity(
    row: dict[str, Any], scalars: dict[str, Scalar], wide: dict[str, list[int]], fields: Fields
) -> dict[str, Any]:
    """A row as columns of one entity: numpy scalars, wide fields as 1-d arrays."""
    columns: dict[str, Any] = {name: scalar(row[name]) for name, scalar in scalars.items()}
    for name, values in wide.items():
        columns[name] = np.array(values, dtype=fields[name][0])
    return columns


def assignment_columns(a: AssignmentSpec, vocabulary: CertificationVocabulary) -> Columns:
    """`a` as the one-entity side of a scan (its certifications interned first)."""
    vocabulary.intern(a.required_certifications)
    wide = assignment_wide(a, vocabulary)
    return _one_entity(assignment_row(a), _ASSIGNMENT_SCALARS, wide, ASSIGNMENT_WIDE)


def profile_columns(p: ProfileSpec, vocabulary: CertificationVocabulary) -> Columns:
    """`p` as the one-entity side of a scan (its certifications interned first)."""
    vocabulary.intern(p.certifications)
    return _one_entity(profile_row(p), _PROFILE_SCALARS, profile_wide(p, vocabulary), PROFILE_WIDE)
