"""The in-memory columnar index of profiles and assignments, built for scanning.

Each side is a set of numpy columns (`columns.py`): discipline and preference sets as bit
masks, certifications as masks over an interned vocabulary, dates as ordinals, moments as
epoch microseconds. A query applies the hard filters to whole columns, then computes the
component states and scores of the survivors with array code (`vector_scoring.py`) and
ranks them (score, then id through integer labels: `id_order.py`). `rank_for_*` return a
`Ranking`: ids and scores at once, reasons or full evaluations rendered in bulk on demand
(`rendering.py`); the service publishes ids, scores and reasons; `matches_for_*` build
the full evaluations.

Results equal `evaluate()` pair by pair (the property tests hold them to it): distances
are compared with thresholds through unit vectors (`geo`), and those that land within a
hair of a threshold are decided by the scalar haversine, so float noise cannot make the
two disagree.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from koppel_matcher.domain import components as c
from koppel_matcher.domain import vector_scoring as v
from koppel_matcher.domain.columns import SlotColumns
from koppel_matcher.domain.geo import h_of_km, half_chord_squared, near_threshold, unit_vector
from koppel_matcher.domain.hard_filters import AVAILABILITY_GRACE, distance_km, is_open_at
from koppel_matcher.domain.id_order import LABEL_BITS
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
from koppel_matcher.domain.ranking import Match, Ranking
from koppel_matcher.domain.scoring import LANGUAGES

Array = npt.NDArray[Any]

_NAN = math.nan
_NEVER = np.iinfo(np.int64).max
_NO_MINIMUM = int(np.iinfo(np.int32).min)
_GRACE_DAYS = AVAILABILITY_GRACE.days

# Small dtypes keep a scan's memory traffic low; the contract's bounds (hours ≤ 40, years
# ≤ 60, office days ≤ 5) sit far inside them. Comparisons with Python ints are exact in
# numpy 2 whatever the dtype; component states are widened to int64 before any arithmetic
# that could leave a small dtype.
_PROFILE_FIELDS: dict[str, tuple[npt.DTypeLike, object]] = {
    "eligible": (np.bool_, False),
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
    "travel_h": (np.float64, h_of_km(None)),
    "min_rate": (np.float64, _NAN),
    "style": (np.int8, 0),
    "language": (np.int8, 0),
    "pref_org": (np.int16, 0),
    "pref_asg": (np.int16, 0),
}
_ASSIGNMENT_FIELDS: dict[str, tuple[npt.DTypeLike, object]] = {
    "open": (np.bool_, False),
    "closes": (np.int64, _NEVER),
    "level": (np.int8, -9),
    "start": (np.int32, 0),
    "hours_min": (np.int16, 0),
    "hours_max": (np.int16, 0),
    "office": (np.int16, 0),
    "required": (np.int32, 0),
    "preferred": (np.int32, 0),
    "min_years": (np.int32, _NO_MINIMUM),
    "max_rate": (np.float64, _NAN),
    "x": (np.float64, _NAN),
    "y": (np.float64, _NAN),
    "z": (np.float64, _NAN),
    "kind": (np.int8, 0),
    "org_type": (np.int8, 0),
    "asg_type": (np.int8, 0),
}


def _or_nan(value: float | None) -> float:
    return _NAN if value is None else float(value)


def _scalar_travel(a: AssignmentSpec, p: ProfileSpec) -> tuple[bool, int]:
    """Filter 9 and the travel band for a pair with office days and both coordinates."""
    distance = distance_km(a, p)
    assert distance is not None
    fits = p.max_travel_km is None or distance <= p.max_travel_km
    return fits, c.travel_band(distance)


class MatchIndex:
    """Active profiles and open assignments, matched against each other by vectorised scans."""

    def __init__(self, capacity: int = 1024) -> None:
        self._vocabulary = CertificationVocabulary()
        self._p = SlotColumns(_PROFILE_FIELDS, capacity)
        self._a = SlotColumns(_ASSIGNMENT_FIELDS, capacity)
        self._profiles: dict[str, ProfileSpec] = {}
        self._assignments: dict[str, AssignmentSpec] = {}

    # --- upkeep ---

    def upsert_profile(self, p: ProfileSpec) -> None:
        self._vocabulary.intern(p.certifications)
        slot = self._p.acquire(p.id)
        free_min, free_max = p.free_hours
        disciplines = discipline_mask(p.disciplines)
        x, y, z = unit_vector(p.home.lat, p.home.lon)
        row = {
            "eligible": p.active and p.consent,
            "level": p.level.rank,
            "open_next": p.open_to_next_level,
            "available": p.available_from.toordinal(),
            "free_min": free_min,
            "free_max": free_max,
            "max_office": p.max_office_days_per_week,
            "disciplines": disciplines,
            "specialisms": discipline_mask(p.specialisms) & disciplines,
            "years": p.years_experience,
            "public_state": c.public_sector_state(p.public_sector_years),
            "x": x,
            "y": y,
            "z": z,
            "travel_h": h_of_km(p.max_travel_km),
            "min_rate": _or_nan(p.min_hourly_rate_eur),
            "style": WORK_STYLE_INDEX[p.work_style],
            "language": LANGUAGES.index(p.language),
            "pref_org": organization_type_mask(p.preferred_organization_types),
            "pref_asg": assignment_type_mask(p.preferred_assignment_types),
        }
        for name, value in row.items():
            self._p.arrays[name][slot] = value
        self._p.set_certs(slot, self._vocabulary.words_of(p.certifications))
        self._profiles[p.id] = p

    def remove_profile(self, profile_id: str) -> None:
        self._p.release(profile_id)
        self._profiles.pop(profile_id, None)

    def upsert_assignment(self, a: AssignmentSpec) -> None:
        self._vocabulary.intern(a.required_certifications)
        slot = self._a.acquire(a.id)
        x, y, z = unit_vector(a.location.lat, a.location.lon)
        row = {
            "open": a.is_open,
            "closes": _NEVER if a.closes_at is None else epoch_us(a.closes_at),
            "level": a.level.rank,
            "start": a.start_date.toordinal(),
            "hours_min": a.hours_min,
            "hours_max": a.hours_max,
            "office": a.office_days_per_week,
            "required": discipline_mask(a.disciplines_required),
            "preferred": discipline_mask(a.disciplines_preferred),
            "min_years": _NO_MINIMUM if a.min_years_experience is None else a.min_years_experience,
            "max_rate": _or_nan(a.max_hourly_rate_eur),
            "x": x,
            "y": y,
            "z": z,
            "kind": c.organization_kind(a),
            "org_type": ORGANIZATION_TYPE_INDEX[a.organization_type],
            "asg_type": ASSIGNMENT_TYPE_INDEX[a.assignment_type],
        }
        for name, value in row.items():
            self._a.arrays[name][slot] = value
        self._a.set_certs(slot, self._vocabulary.words_of(a.required_certifications))
        self._assignments[a.id] = a

    def remove_assignment(self, assignment_id: str) -> None:
        self._a.release(assignment_id)
        self._assignments.pop(assignment_id, None)

    # --- lookups ---

    def profile(self, profile_id: str) -> ProfileSpec | None:
        return self._profiles.get(profile_id)

    def assignment(self, assignment_id: str) -> AssignmentSpec | None:
        return self._assignments.get(assignment_id)

    @property
    def profile_count(self) -> int:
        return len(self._p)

    @property
    def assignment_count(self) -> int:
        return len(self._a)

    def memory_bytes(self) -> int:
        """Bytes held by the numpy columns (not the spec objects kept for `profile()`)."""
        return self._p.nbytes() + self._a.nbytes()

    # --- scans ---

    def matches_for_assignment(self, a: AssignmentSpec, now: datetime) -> list[Match]:
        """Every indexed profile that passes the hard filters with `a`, best first, then by id."""
        return self.rank_for_assignment(a, now).matches()

    def matches_for_profile(self, p: ProfileSpec, now: datetime) -> list[Match]:
        """Every indexed open assignment that passes the hard filters with `p`, best first."""
        return self.rank_for_profile(p, now).matches()

    def rank_for_assignment(self, a: AssignmentSpec, now: datetime) -> Ranking:
        """Like `matches_for_assignment`, with evaluations rendered only when asked for."""
        if not is_open_at(a, now):
            return Ranking.empty()
        col, rank = self._p.arrays, a.level.rank
        level = col["level"]
        keep = self._p.alive & col["eligible"]
        keep &= (level == rank) | (level == rank + 1) | ((level == rank - 1) & col["open_next"])
        keep &= col["available"] <= a.start_date.toordinal() + _GRACE_DAYS
        keep &= (col["free_max"] > 0) & (col["free_min"] <= a.hours_max)
        keep &= col["free_max"] >= a.hours_min
        keep &= col["max_office"] >= a.office_days_per_week
        required = discipline_mask(a.disciplines_required)
        keep &= (col["disciplines"] & required) != 0
        if a.required_certifications:
            if not self._vocabulary.knows(a.required_certifications):
                return Ranking.empty()
            held = self._p.certs
            for word, bits in enumerate(self._vocabulary.words_of(a.required_certifications)):
                if not bits:
                    continue
                if word >= held.shape[1]:
                    # No profile's mask reaches this word: nobody holds the certification.
                    return Ranking.empty()
                wanted = np.uint64(bits)
                keep &= (held[:, word] & wanted) == wanted
        if a.min_years_experience is not None:
            keep &= col["years"] >= a.min_years_experience
        if a.max_hourly_rate_eur is not None:
            keep &= ~(col["min_rate"] > a.max_hourly_rate_eur)
        rows = np.flatnonzero(keep)
        if not rows.size:
            return Ranking.empty()  # the common case in a shard: no candidate at all

        travel: Any = c.TRAVEL_REMOTE
        if a.office_days_per_week > 0:
            travel = c.TRAVEL_UNKNOWN
            here = unit_vector(a.location.lat, a.location.lon)
            if not math.isnan(here[0]):
                h = half_chord_squared(here, col["x"][rows], col["y"][rows], col["z"][rows])
                limit = col["travel_h"][rows]
                near = ~(h > limit)
                for i in np.flatnonzero(near_threshold(h, limit)).tolist():
                    near[i] = _scalar_travel(a, self._profiles[self._p.ids[rows[i]]])[0]
                rows, h = rows[near], h[near]
                travel, fragile = v.travel_bands(h)
                for i in np.flatnonzero(fragile).tolist():
                    travel[i] = _scalar_travel(a, self._profiles[self._p.ids[rows[i]]])[1]

        states: list[Any] = [None] * 11
        values: list[Any] = [None] * 11
        disciplines, specialisms = col["disciplines"][rows], col["specialisms"][rows]
        states[v.REQUIRED], values[v.REQUIRED] = v.coverage(
            np.int64(required), disciplines, specialisms, required=True
        )
        states[v.PREFERRED], values[v.PREFERRED] = v.coverage(
            np.int64(discipline_mask(a.disciplines_preferred)), disciplines, specialisms,
            required=False,
        )  # fmt: skip
        states[v.LEVEL] = rank * 4 + level[rows].astype(np.int64)
        states[v.WORK_STYLE] = c.organization_kind(a) * 3 + col["style"][rows].astype(np.int64)
        states[v.ORGANIZATION_TYPE] = v.preference_states(
            np.int64(ORGANIZATION_TYPE_INDEX[a.organization_type]), col["pref_org"][rows]
        )
        states[v.ASSIGNMENT_TYPE] = v.preference_states(
            np.int64(ASSIGNMENT_TYPE_INDEX[a.assignment_type]), col["pref_asg"][rows]
        )
        states[v.HOURS], values[v.HOURS] = v.hours(
            np.int64(a.hours_min), np.int64(a.hours_max), col["free_min"][rows],
            col["free_max"][rows],
        )  # fmt: skip
        states[v.OFFICE_DAYS] = v.office_states(
            np.int64(a.office_days_per_week), col["max_office"][rows]
        )
        states[v.TRAVEL] = travel
        states[v.RATE] = v.rate_states(
            np.float64(_or_nan(a.max_hourly_rate_eur)), col["min_rate"][rows]
        )
        states[v.PUBLIC_SECTOR] = col["public_state"][rows]
        return self._ranked(self._p, rows, states, values, col["language"][rows])

    def rank_for_profile(self, p: ProfileSpec, now: datetime) -> Ranking:
        """Like `matches_for_profile`, with evaluations rendered only when asked for."""
        free_min, free_max = p.free_hours
        if not (p.active and p.consent) or free_max <= 0:
            return Ranking.empty()
        col, rank = self._a.arrays, p.level.rank
        level = col["level"]
        keep = self._a.alive & col["open"] & (col["closes"] > epoch_us(now))
        if p.open_to_next_level:
            keep &= (level == rank) | (level == rank - 1) | (level == rank + 1)
        else:
            keep &= (level == rank) | (level == rank - 1)
        keep &= col["start"] + _GRACE_DAYS >= p.available_from.toordinal()
        keep &= (col["hours_max"] >= free_min) & (col["hours_min"] <= free_max)
        keep &= col["office"] <= p.max_office_days_per_week
        disciplines = discipline_mask(p.disciplines)
        keep &= (col["required"] & disciplines) != 0
        held = self._vocabulary.words_of(p.certifications)
        for word in range(self._a.certs.shape[1]):
            missing = np.uint64(~(held[word] if word < len(held) else 0) & (2**64 - 1))
            keep &= (self._a.certs[:, word] & missing) == 0
        keep &= col["min_years"] <= p.years_experience
        if p.min_hourly_rate_eur is not None:
            keep &= ~(col["max_rate"] < p.min_hourly_rate_eur)
        rows = np.flatnonzero(keep)
        if not rows.size:
            return Ranking.empty()  # the common case in a shard: no candidate at all

        remote = col["office"][rows] <= 0
        home = unit_vector(p.home.lat, p.home.lon)
        if math.isnan(home[0]):
            travel = np.full(rows.size, c.TRAVEL_UNKNOWN, dtype=np.int64)
        else:
            h = half_chord_squared(home, col["x"][rows], col["y"][rows], col["z"][rows])
            travel, fragile = v.travel_bands(h)
            near = None
            if p.max_travel_km is not None:
                limit = h_of_km(p.max_travel_km)
                near = remote | ~(h > limit)
                fragile |= near_threshold(h, limit)
            for i in np.flatnonzero(fragile & ~remote).tolist():
                a = self._assignments[self._a.ids[rows[i]]]
                fits, travel[i] = _scalar_travel(a, p)
                if near is not None:
                    near[i] = fits
            if near is not None:
                rows, travel, remote = rows[near], travel[near], remote[near]

        states: list[Any] = [None] * 11
        values: list[Any] = [None] * 11
        own = np.int64(disciplines)
        special = np.int64(discipline_mask(p.specialisms) & disciplines)
        states[v.REQUIRED], values[v.REQUIRED] = v.coverage(
            col["required"][rows], own, special, required=True
        )
        states[v.PREFERRED], values[v.PREFERRED] = v.coverage(
            col["preferred"][rows], own, special, required=False
        )
        states[v.LEVEL] = level[rows].astype(np.int64) * 4 + rank
        states[v.WORK_STYLE] = (
            col["kind"][rows].astype(np.int64) * 3 + WORK_STYLE_INDEX[p.work_style]
        )
        states[v.ORGANIZATION_TYPE] = v.preference_states(
            col["org_type"][rows], np.int64(organization_type_mask(p.preferred_organization_types))
        )
        states[v.ASSIGNMENT_TYPE] = v.preference_states(
            col["asg_type"][rows], np.int64(assignment_type_mask(p.preferred_assignment_types))
        )
        states[v.HOURS], values[v.HOURS] = v.hours(
            col["hours_min"][rows], col["hours_max"][rows], np.int64(free_min), np.int64(free_max)
        )
        states[v.OFFICE_DAYS] = v.office_states(
            col["office"][rows], np.int64(p.max_office_days_per_week)
        )
        states[v.TRAVEL] = np.where(remote, c.TRAVEL_REMOTE, travel)
        states[v.RATE] = v.rate_states(
            col["max_rate"][rows], np.float64(_or_nan(p.min_hourly_rate_eur))
        )
        states[v.PUBLIC_SECTOR] = np.full(rows.size, c.public_sector_state(p.public_sector_years))
        return self._ranked(self._a, rows, states, values, np.int64(LANGUAGES.index(p.language)))

    # --- shared steps ---

    @staticmethod
    def _ranked(
        side: SlotColumns, rows: Array, states: list[Any], values: list[Any], languages: Any
    ) -> Ranking:
        n = rows.size
        if n == 0:
            return Ranking.empty()
        for i in (v.LEVEL, v.WORK_STYLE, v.ORGANIZATION_TYPE, v.ASSIGNMENT_TYPE,
                  v.OFFICE_DAYS, v.TRAVEL, v.RATE, v.PUBLIC_SECTOR):  # fmt: skip
            values[i] = v.table_values(i, states[i])
        scores = np.broadcast_to(v.scores(values), (n,))
        # Best score first, then by id: one integer sort (scores have 4 decimals).
        worse = np.rint((1.0 - scores) * 10_000.0).astype(np.int64)
        order = np.argsort(worse << LABEL_BITS | side.order_labels()[rows])
        matrix = np.empty((len(states), n), dtype=np.int64)
        for i, state in enumerate(states):
            matrix[i] = state
        languages = np.asarray(languages, dtype=np.int64)
        if languages.ndim:
            languages = languages[order]
        ids: list[str] = side.ids[rows[order]].tolist()
        return Ranking(ids, scores[order], matrix[:, order], languages)
