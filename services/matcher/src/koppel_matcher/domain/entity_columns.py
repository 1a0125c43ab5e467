"""How an assignment or a profile becomes one row of the columns the rules read.

Discipline and preference sets become bit masks, certifications masks over an interned
vocabulary, dates ordinals, moments epoch microseconds, coordinates unit vectors (and the
degrees, for the exact distance near a threshold). The index stores these rows in
`SlotColumns`; a query's own entity (and each side of a single pair) is the same row as
numpy scalars of the same dtypes, which broadcast against the other side's arrays.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from koppel_matcher.domain import components as c
from koppel_matcher.domain.columns import Columns
from koppel_matcher.domain.geo import h_of_km, unit_vector
from koppel_matcher.domain.instants import epoch_us
from koppel_matcher.domain.masks import (
    ASSIGNMENT_TYPE_INDEX,
    ORGANIZATION_TYPE_INDEX,
    WORK_STYLE_INDEX,
    CertificationVocabulary,
    assignment_type_mask,
    discipline_mask,
    organization_type_mask,
)
from koppel_matcher.domain.model import AssignmentSpec, ProfileSpec
from koppel_matcher.domain.scoring import LANGUAGES

Fields = dict[str, tuple[npt.DTypeLike, object]]
Scalar = Callable[[Any], Any]
"""Makes a numpy scalar of a field's dtype."""

_NAN = math.nan
NEVER = int(np.iinfo(np.int64).max)
"""`closes` of an assignment without `closes_at`."""
NO_MINIMUM = int(np.iinfo(np.int32).min)
"""`min_years` of an assignment without `min_years_experience`."""

# Small dtypes keep a scan's memory traffic low; the contract's bounds (hours ≤ 40, years
# ≤ 60, office days ≤ 5) sit far inside them. Comparisons with Python ints are exact in
# numpy 2 whatever the dtype; component states widen to int64 before any arithmetic that
# could leave a small dtype. The second element is what an empty slot holds.
PROFILE_FIELDS: Fields = {
    "active": (np.bool_, False),
    "consent": (np.bool_, False),
    "level": (np.int8, -9),
    "open_next": (np.bool_, False),
    "available": (np.int32, 0),
    "free_min": (np.int16, 0),
    "free_max": (np.int16, 0),
    "max_office": (np.int16, -1),
    "disciplines": (np.int32, 0),
    "specialisms": (np.int32, 0),
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
}
ASSIGNMENT_FIELDS: Fields = {
    "open": (np.bool_, False),
    "closes": (np.int64, NEVER),
    "level": (np.int8, -9),
    "start": (np.int32, 0),
    "hours_min": (np.int16, 0),
    "hours_max": (np.int16, 0),
    "office": (np.int16, 0),
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
}


def _or_nan(value: float | None) -> float:
    return _NAN if value is None else float(value)


def profile_row(p: ProfileSpec) -> dict[str, Any]:
    """The profile's value for every field of `PROFILE_FIELDS`."""
    free_min, free_max = p.free_hours
    disciplines = discipline_mask(p.disciplines)
    x, y, z = unit_vector(p.home.lat, p.home.lon)
    return {
        "active": p.active,
        "consent": p.consent,
        "level": p.level.rank,
        "open_next": p.open_to_next_level,
        "available": p.available_from.toordinal(),
        "free_min": free_min,
        "free_max": free_max,
        "max_office": p.max_office_days_per_week,
        "disciplines": disciplines,
        "specialisms": discipline_mask(p.specialisms) & disciplines,
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
    }


def _scalar_types(fields: Fields) -> dict[str, Scalar]:
    return {name: np.dtype(dtype).type for name, (dtype, _) in fields.items()}


_PROFILE_SCALARS = _scalar_types(PROFILE_FIELDS)
_ASSIGNMENT_SCALARS = _scalar_types(ASSIGNMENT_FIELDS)


def _one_entity(
    row: dict[str, Any], scalars: dict[str, Scalar], certifications: list[int]
) -> dict[str, Any]:
    """A row as columns of one entity: numpy scalars, certification words in a 1-d array."""
    columns: dict[str, Any] = {name: scalar(row[name]) for name, scalar in scalars.items()}
    columns["certs"] = np.array(certifications, dtype=np.uint64)
    return columns


def assignment_columns(a: AssignmentSpec, vocabulary: CertificationVocabulary) -> Columns:
    """`a` as the one-entity side of a scan (its certifications interned first)."""
    vocabulary.intern(a.required_certifications)
    words = vocabulary.words_of(a.required_certifications)
    return _one_entity(assignment_row(a), _ASSIGNMENT_SCALARS, words)


def profile_columns(p: ProfileSpec, vocabulary: CertificationVocabulary) -> Columns:
    """`p` as the one-entity side of a scan (its certifications interned first)."""
    vocabulary.intern(p.certifications)
    return _one_entity(profile_row(p), _PROFILE_SCALARS, vocabulary.words_of(p.certifications))
