"""Great-circle distance (haversine) on a sphere of the Earth's mean radius.

`haversine_km` is the reference. Scans compare distances with thresholds without taking
them: for unit vectors u, v of two points, h = |u − v|² / 4 is the haversine's
sin²(θ/2), which grows with the distance, so `distance ≤ L` is `h ≤ h_of_km(L)`; that
needs no trigonometry per row. Values of h within `H_TOLERANCE` of a threshold may
disagree with the scalar in the last bits and are re-checked with it by the caller.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

EARTH_RADIUS_KM = 6371.0088
"""IUGG mean Earth radius."""

FloatArray = npt.NDArray[np.float64]

H_TOLERANCE = 1e-7
"""Relative width of the band around a threshold h in which the scalar decides.

h from unit vectors differs from the scalar's by about 1e-16 absolute, far below 1e-7 of
any threshold down to metres; the band holds a negligible share of the rows."""
H_FLOOR = 1e-18
"""Absolute width added to that band, for thresholds at (or rounding to) zero."""

NO_LIMIT_H = 2.0
"""A threshold above any h (h ≤ 1): every distance is within it."""
NEGATIVE_LIMIT_H = -1.0
"""A threshold below any h: no distance is within it."""


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Distance in km between two points given in degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlam = math.radians(lon2) - math.radians(lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlam / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def unit_vector(lat: float | None, lon: float | None) -> tuple[float, float, float]:
    """The point on the unit sphere, in degrees in; NaNs when a coordinate is missing."""
    if lat is None or lon is None:
        return math.nan, math.nan, math.nan
    phi, lam = math.radians(lat), math.radians(lon)
    return math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi)


def half_chord_squared(
    point: tuple[float, float, float], x: FloatArray, y: FloatArray, z: FloatArray
) -> FloatArray:
    """h = sin²(θ/2) from one unit vector to many (NaN where coordinates are missing)."""
    dx, dy, dz = x - point[0], y - point[1], z - point[2]
    dx *= dx
    dy *= dy
    dz *= dz
    dx += dy
    dx += dz
    dx *= 0.25
    return dx


def h_of_km(km: float | None) -> float:
    """The h threshold for `distance ≤ km` (None: no limit)."""
    if km is None:
        return NO_LIMIT_H
    if km < 0:
        return NEGATIVE_LIMIT_H
    half_angle = km / (2 * EARTH_RADIUS_KM)
    if half_angle >= math.pi / 2:
        return NO_LIMIT_H
    return math.sin(half_angle) ** 2


def near_threshold(h: FloatArray, limit: FloatArray | float) -> npt.NDArray[np.bool_]:
    """Where h is too close to `limit` for the vector value to decide (False for NaN)."""
    result: npt.NDArray[np.bool_] = np.abs(h - limit) <= np.abs(limit) * H_TOLERANCE + H_FLOOR
    return result
