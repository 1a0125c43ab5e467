"""Hard filter 9 (travel) and the travel component, from one distance computation.

Both compare the great-circle distance with thresholds (the consultant's `max_travel_km`,
the band edges) through unit vectors (`geo`): no trigonometry per row. A pair whose h
lies within a hair of a threshold is decided by the haversine of its coordinates, so
float noise cannot make its outcome depend on the direction it was matched in.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from koppel_matcher.domain import components as c
from koppel_matcher.domain import geo
from koppel_matcher.domain.columns import Columns

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

_BAND_H = np.array([geo.h_of_km(km) for km in c.TRAVEL_BAND_LIMITS_KM], dtype=np.float64)
_BAND_H_LOW = _BAND_H * (1 - geo.H_TOLERANCE) - geo.H_FLOOR
_BAND_H_HIGH = _BAND_H * (1 + geo.H_TOLERANCE) + geo.H_FLOOR


def travel_band(distance: float) -> int:
    for band, limit in enumerate(c.TRAVEL_BAND_LIMITS_KM, start=1):
        if distance <= limit:
            return band
    return c.TRAVEL_FAR


def travel_bands(h: npt.NDArray[np.float64]) -> tuple[Ints, Bools]:
    """Travel states from h (`geo`): the distance band, unknown for NaN; and which rows
    lie too close to a band edge for h to decide."""
    band = np.searchsorted(_BAND_H, h, side="left") + 1
    band[np.isnan(h)] = c.TRAVEL_UNKNOWN
    fragile = np.searchsorted(_BAND_H_LOW, h) != np.searchsorted(_BAND_H_HIGH, h)
    return band.astype(np.int64, copy=False), fragile


def travel(a: Columns, p: Columns) -> tuple[Bools, Ints]:
    """Per pair: does it pass filter 9, and the travel component's state.

    Filter 9 applies only when the assignment has office days, both sides have
    coordinates (h is NaN otherwise, which passes) and the consultant set a limit (the
    threshold is then above every h).
    """
    remote = a["office"] <= 0
    h = geo.half_chord_squared((a["x"], a["y"], a["z"]), p["x"], p["y"], p["z"])
    limit = p["travel_h"]
    fits = remote | ~(h > limit)
    bands, fragile = travel_bands(h)
    fragile |= geo.near_threshold(h, limit)
    fragile &= ~remote
    states = np.where(remote, c.TRAVEL_REMOTE, bands)
    for i in np.flatnonzero(fragile).tolist():
        here = _at(p["lat"], h, i), _at(p["lon"], h, i)
        there = _at(a["lat"], h, i), _at(a["lon"], h, i)
        distance = geo.haversine_km(*here, *there)
        limit_km = _at(p["travel_km"], h, i)
        fits[i] = math.isnan(limit_km) or distance <= limit_km
        states[i] = travel_band(distance)
    return fits, states


def _at(values: Any, like: npt.NDArray[Any], i: int) -> float:
    """Row `i` of a column that broadcasts to the pairs' shape."""
    return float(np.broadcast_to(values, like.shape)[i])
