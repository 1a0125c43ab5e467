"""Distance thresholds through unit vectors agree with the scalar haversine."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from koppel_matcher.domain import components as c
from koppel_matcher.domain.geo import (
    EARTH_RADIUS_KM,
    NEGATIVE_LIMIT_H,
    NO_LIMIT_H,
    h_of_km,
    half_chord_squared,
    haversine_km,
    near_threshold,
    unit_vector,
)
from koppel_matcher.domain.travel import travel_band, travel_bands

latitudes = st.floats(-90, 90)
longitudes = st.floats(-180, 180)


def _h(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    x, y, z = unit_vector(lat2, lon2)
    h = half_chord_squared(unit_vector(lat1, lon1), np.array([x]), np.array([y]), np.array([z]))
    return float(h[0])


def _at_distance(lat: float, lon: float, km: float, bearing: float) -> tuple[float, float]:
    """A point about `km` from (lat, lon): near the thresholds, where it matters."""
    step = math.degrees(km / EARTH_RADIUS_KM)
    return lat + step * math.cos(bearing), lon + step * math.sin(bearing) / math.cos(
        math.radians(lat)
    )


@settings(max_examples=400, deadline=None)  # a loaded machine can stall any example
@given(
    lat=st.floats(50.5, 53.7),
    lon=st.floats(3.3, 7.3),
    limit=st.integers(0, 600),
    offset=st.sampled_from([0.0, 1e-9, -1e-9, 1e-7, -1e-7, 1e-4, -1e-4, 0.5, -0.5, 3.0]),
    bearing=st.floats(0, 2 * math.pi),
)
def test_a_decided_threshold_agrees_with_the_scalar(
    lat: float, lon: float, limit: int, offset: float, bearing: float
) -> None:
    there = _at_distance(lat, lon, max(0.0, limit + offset), bearing)
    distance = haversine_km(lat, lon, *there)
    h = np.array([_h(lat, lon, *there)])
    threshold = h_of_km(limit)
    if abs(distance - limit) > 1e-6 * (limit + 1):
        assert not near_threshold(h, threshold)[0]  # the scalar decides a hair's width only
    if not near_threshold(h, threshold)[0]:
        assert (h[0] <= threshold) == (distance <= limit)


@settings(max_examples=400, deadline=None)  # a loaded machine can stall any example
@given(lat1=latitudes, lon1=longitudes, lat2=latitudes, lon2=longitudes)
def test_h_from_unit_vectors_is_the_haversine_h(
    lat1: float, lon1: float, lat2: float, lon2: float
) -> None:
    distance = haversine_km(lat1, lon1, lat2, lon2)
    expected = math.sin(distance / (2 * EARTH_RADIUS_KM)) ** 2
    assert math.isclose(_h(lat1, lon1, lat2, lon2), expected, rel_tol=1e-9, abs_tol=1e-15)


@settings(max_examples=400, deadline=None)  # a loaded machine can stall any example
@given(
    lat=st.floats(50.5, 53.7),
    lon=st.floats(3.3, 7.3),
    km=st.one_of(
        st.floats(0, 150),
        st.sampled_from(c.TRAVEL_BAND_LIMITS_KM).map(lambda edge: edge + 1e-9),
        st.sampled_from(c.TRAVEL_BAND_LIMITS_KM),
    ),
    bearing=st.floats(0, 2 * math.pi),
)
def test_travel_bands_agree_with_the_scalar_unless_fragile(
    lat: float, lon: float, km: float, bearing: float
) -> None:
    there = _at_distance(lat, lon, km, bearing)
    bands, fragile = travel_bands(np.array([_h(lat, lon, *there)]))
    if not fragile[0]:
        assert int(bands[0]) == travel_band(haversine_km(lat, lon, *there))


def test_thresholds_beyond_the_ordinary() -> None:
    assert h_of_km(None) == NO_LIMIT_H
    assert h_of_km(-1) == NEGATIVE_LIMIT_H
    assert h_of_km(10**6) == NO_LIMIT_H  # further than half the globe: always within
    assert h_of_km(0) == 0.0
    same = np.array([_h(52.0, 5.0, 52.0, 5.0)])
    assert near_threshold(same, h_of_km(0))[0]  # zero distance at a zero limit: ask the scalar


def test_missing_coordinates_give_nan_and_are_never_fragile() -> None:
    assert all(math.isnan(x) for x in unit_vector(None, 5.0))
    h = np.array([math.nan, math.nan])
    bands, fragile = travel_bands(h)
    assert bands.tolist() == [c.TRAVEL_UNKNOWN, c.TRAVEL_UNKNOWN]
    assert not fragile.any()
    assert not near_threshold(h, h_of_km(10)).any()
