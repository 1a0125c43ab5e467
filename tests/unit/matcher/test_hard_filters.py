"""Hard filters 1–9 of the contract's section 3, each on both sides of its boundary.

Each case runs the package's column rules on one pair and the scalar oracle alike."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from koppel.vocabulary import Discipline, Level, Province
from koppel_matcher.domain.evaluate import evaluate, failed_filters
from koppel_matcher.domain.geo import EARTH_RADIUS_KM, haversine_km
from koppel_matcher.domain.model import CommitmentSpec, Place
from koppel_testing import scalar_oracle
from koppel_testing.matcher_specs import Specs


def _failed(specs: Specs, assignment: dict[str, Any], profile: dict[str, Any]) -> list[str]:
    a, p = specs.assignment(**assignment), specs.profile(**profile)
    failed = failed_filters(a, p, specs.now)
    assert scalar_oracle.failed_filters(a, p, specs.now) == failed
    assert (evaluate(a, p, specs.now) is None) is (failed != [])
    return failed


def test_the_reference_pair_passes(specs: Specs) -> None:
    assert _failed(specs, {}, {}) == []


@pytest.mark.parametrize(
    ("profile", "failed"),
    [
        ({"active": False}, ["profile_active"]),
        ({"consent": False}, ["consent"]),
        ({"active": False, "consent": False}, ["profile_active", "consent"]),
    ],
)
def test_profile_must_be_active_and_consenting(
    specs: Specs, profile: dict[str, Any], failed: list[str]
) -> None:
    assert _failed(specs, {}, profile) == failed


def test_assignment_must_be_open(specs: Specs) -> None:
    assert _failed(specs, {"is_open": False}, {}) == ["assignment_open"]


@pytest.mark.parametrize(
    ("offset", "passes"),
    [
        (timedelta(microseconds=1), True),
        (timedelta(0), False),  # at closes_at the assignment is closed
        (-timedelta(days=1), False),
    ],
)
def test_closes_at_is_exclusive(specs: Specs, offset: timedelta, passes: bool) -> None:
    failed = _failed(specs, {"closes_at": specs.now + offset}, {})
    assert failed == ([] if passes else ["assignment_open"])


@pytest.mark.parametrize(
    ("asked", "own", "open_to_next", "passes"),
    [
        (Level.SENIOR, Level.SENIOR, False, True),
        (Level.SENIOR, Level.MEDIOR, False, False),  # step up needs open_to_next_level
        (Level.SENIOR, Level.MEDIOR, True, True),  # the stretch
        (Level.MEDIOR, Level.SENIOR, False, True),  # one step down is allowed
        (Level.JUNIOR, Level.SENIOR, False, False),  # two steps down never
        (Level.JUNIOR, Level.SENIOR, True, False),
        (Level.STRATEGIC, Level.MEDIOR, True, False),  # two steps up never
    ],
)
def test_level(specs: Specs, asked: Level, own: Level, open_to_next: bool, passes: bool) -> None:
    failed = _failed(specs, {"level": asked}, {"level": own, "open_to_next_level": open_to_next})
    assert failed == ([] if passes else ["level"])


@pytest.mark.parametrize(("days_after_start", "passes"), [(13, True), (14, True), (15, False)])
def test_available_at_most_14_days_after_start(
    specs: Specs, days_after_start: int, passes: bool
) -> None:
    available = specs.start + timedelta(days=days_after_start)
    assert _failed(specs, {}, {"available_from": available}) == ([] if passes else ["availability"])


@pytest.mark.parametrize(
    ("asked", "wanted", "committed", "passes"),
    [
        ((28, 32), (24, 32), 0, True),
        ((28, 32), (24, 40), 12, True),  # free [12, 28] touches 28: closed intervals overlap
        ((28, 32), (24, 40), 13, False),  # free [11, 27] ends below 28
        ((8, 16), (24, 32), 24, True),  # free [0, 8] meets 8
        ((8, 16), (24, 32), 25, False),  # free [0, 7]
        ((4, 8), (24, 32), 32, False),  # no free hours left at all: upper end must be positive
        ((4, 8), (24, 32), 40, False),
        ((36, 40), (24, 32), 0, False),  # asks more than wanted
        ((4, 12), (24, 32), 0, False),  # asks fewer than the wanted minimum
    ],
)
def test_hours_use_free_capacity_after_commitments(
    specs: Specs, asked: tuple[int, int], wanted: tuple[int, int], committed: int, passes: bool
) -> None:
    failed = _failed(
        specs,
        {"hours_min": asked[0], "hours_max": asked[1]},
        {
            "hours_min": wanted[0],
            "hours_max": wanted[1],
            "commitments": (CommitmentSpec(committed),) if committed else (),
        },
    )
    assert failed == ([] if passes else ["hours"])


@pytest.mark.parametrize(
    ("asked", "maximum", "passes"), [(2, 2, True), (3, 2, False), (0, 0, True)]
)
def test_office_days(specs: Specs, asked: int, maximum: int, passes: bool) -> None:
    failed = _failed(specs, {"office_days_per_week": asked}, {"max_office_days_per_week": maximum})
    assert failed == ([] if passes else ["office_days"])


@pytest.mark.parametrize(
    ("held", "passes"),
    [
        ({Discipline.CAMPAIGNS}, False),
        ({Discipline.CAMPAIGNS, Discipline.PRESS_RELATIONS}, True),
        ({Discipline.PRESS_RELATIONS}, True),
    ],
)
def test_at_least_one_required_discipline(
    specs: Specs, held: set[Discipline], passes: bool
) -> None:
    required = frozenset({Discipline.PRESS_RELATIONS, Discipline.CRISIS_COMMUNICATION})
    failed = _failed(specs, {"disciplines_required": required}, {"disciplines": frozenset(held)})
    assert failed == ([] if passes else ["disciplines"])


@pytest.mark.parametrize(
    ("held", "passes"),
    [
        (set(), False),
        ({"VOG"}, False),
        ({"VOG", "Prince2"}, True),
        ({"VOG", "Prince2", "BHV"}, True),
    ],
)
def test_every_required_certification(specs: Specs, held: set[str], passes: bool) -> None:
    failed = _failed(
        specs,
        {"required_certifications": frozenset({"VOG", "Prince2"})},
        {"certifications": frozenset(held)},
    )
    assert failed == ([] if passes else ["certifications"])


@pytest.mark.parametrize(("years", "passes"), [(4, False), (5, True), (6, True)])
def test_years_of_experience(specs: Specs, years: int, passes: bool) -> None:
    failed = _failed(specs, {"min_years_experience": 5}, {"years_experience": years})
    assert failed == ([] if passes else ["experience"])


@pytest.mark.parametrize(
    ("maximum", "minimum", "passes"),
    [(95.0, 95.0, True), (95.0, 95.01, False), (None, 500.0, True), (20.0, None, True)],
)
def test_rate_only_when_both_given(
    specs: Specs, maximum: float | None, minimum: float | None, passes: bool
) -> None:
    failed = _failed(specs, {"max_hourly_rate_eur": maximum}, {"min_hourly_rate_eur": minimum})
    assert failed == ([] if passes else ["rate"])


UTRECHT_LAT, UTRECHT_LON = 52.0907, 5.1214


@pytest.mark.parametrize(("km", "passes"), [(29.999, True), (30.001, False)])
def test_travel_distance_just_inside_and_outside(specs: Specs, km: float, passes: bool) -> None:
    """One metre either side of a 30 km limit, due north of the assignment in Utrecht."""
    lat = UTRECHT_LAT + math.degrees(km / EARTH_RADIUS_KM)
    assert haversine_km(lat, UTRECHT_LON, UTRECHT_LAT, UTRECHT_LON) == pytest.approx(km, abs=1e-9)
    home = Place("Noord", Province.UTRECHT, lat, UTRECHT_LON)
    failed = _failed(specs, {}, {"home": home, "max_travel_km": 30})
    assert failed == ([] if passes else ["travel"])


@pytest.mark.parametrize(
    ("assignment", "profile"),
    [
        ({"office_days_per_week": 0}, {}),  # fully remote: distance does not matter
        ({}, {"max_travel_km": None}),  # no limit set
        ({}, {"home": Place("Onbekend", Province.GRONINGEN)}),  # no coordinates at home
        ({"location": Place("Onbekend", Province.UTRECHT)}, {}),  # none for the assignment
    ],
)
def test_travel_only_applies_with_office_days_coordinates_and_a_limit(
    specs: Specs, assignment: dict[str, Any], profile: dict[str, Any]
) -> None:
    far = {"home": specs.groningen, "max_travel_km": 10}
    assert _failed(specs, {}, far) == ["travel"]
    assert _failed(specs, assignment, {**far, **profile}) == []


def test_haversine_uses_the_mean_earth_radius() -> None:
    one_degree = EARTH_RADIUS_KM * math.pi / 180  # 111.195 km along a meridian
    assert haversine_km(52.0, 5.0, 53.0, 5.0) == pytest.approx(one_degree, rel=1e-12)
    assert haversine_km(52.0, 5.0, 52.0, 5.0) == 0.0
    # Utrecht to Groningen, as the crow flies.
    assert haversine_km(52.0907, 5.1214, 53.2194, 6.5665) == pytest.approx(158.9, abs=0.1)


def _day(specs: Specs, days_after_start: int) -> int:
    return (specs.start + timedelta(days=days_after_start)).toordinal()


@pytest.mark.parametrize(
    ("until", "passes"),
    [
        (None, False),  # without an end it always takes its hours
        (0, False),  # runs through the start date: still counted
        (-1, True),  # ends the day before the start: its hours are free for the assignment
        (-13, True),
    ],
)
def test_hours_count_only_commitments_running_on_the_start_date(
    specs: Specs, until: int | None, passes: bool
) -> None:
    busy = CommitmentSpec(24, until=None if until is None else _day(specs, until))
    failed = _failed(specs, {}, {"hours_min": 24, "hours_max": 40, "commitments": (busy,)})
    assert failed == ([] if passes else ["hours"])


def test_the_capacity_day_is_today_when_the_start_has_passed(specs: Specs) -> None:
    """Started 10 days ago: a commitment running today still counts, one ended does not."""
    started = specs.now.date() - timedelta(days=10)
    today = specs.now.date().toordinal()
    assignment = {"start_date": started}
    for until, passes in ((today, False), (today - 1, True), (today - 5, True)):
        busy = CommitmentSpec(24, until=until)
        profile = {"available_from": started, "hours_max": 40, "commitments": (busy,)}
        assert _failed(specs, assignment, profile) == ([] if passes else ["hours"])


def test_only_the_running_commitments_are_summed(specs: Specs) -> None:
    """8 endless + 16 ending before the start + 8 running past it: 16 committed."""
    portfolio = (
        CommitmentSpec(8),
        CommitmentSpec(16, until=_day(specs, -1)),
        CommitmentSpec(8, until=_day(specs, 30)),
    )
    profile = {"hours_min": 24, "hours_max": 40, "commitments": portfolio}
    assert _failed(specs, {"hours_min": 24, "hours_max": 24}, profile) == []  # free [8, 24]
    assert _failed(specs, {"hours_min": 25, "hours_max": 32}, profile) == ["hours"]


MON, TUE, WED = 1, 2, 4


@pytest.mark.parametrize(
    ("asked", "held", "until", "passes"),
    [
        (MON | TUE, TUE, None, False),  # shares Tuesday with a commitment without an end
        (MON | TUE, TUE, 0, False),  # still running on the start date
        (MON | TUE, TUE, -1, True),  # ended before the start: Tuesday is free again
        (MON | TUE, WED, None, True),  # no shared day
        (0, MON | TUE | WED, None, True),  # the assignment names no weekdays
        (MON | TUE, 0, None, True),  # the commitment names none
    ],
)
def test_office_weekdays_of_a_running_commitment_are_taken(
    specs: Specs, asked: int, held: int, until: int | None, passes: bool
) -> None:
    busy = CommitmentSpec(
        8, office_weekdays=held, until=None if until is None else _day(specs, until)
    )
    failed = _failed(specs, {"office_weekdays": asked}, {"hours_max": 40, "commitments": (busy,)})
    assert failed == ([] if passes else ["office_weekdays"])


def test_today_is_the_dutch_date(specs: Specs) -> None:
    """23:30 UTC on 1 March is already 2 March in Amsterdam: a commitment that ran through
    1 March no longer counts for an assignment that has started."""
    late = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    a = specs.assignment(start_date=date(2026, 2, 20))
    busy = CommitmentSpec(24, until=date(2026, 3, 1).toordinal())
    p = specs.profile(available_from=a.start_date, hours_max=40, commitments=(busy,))
    assert failed_filters(a, p, late) == scalar_oracle.failed_filters(a, p, late) == []
    earlier = late - timedelta(hours=1)  # 23:30 in Amsterdam on 1 March
    assert failed_filters(a, p, earlier) == scalar_oracle.failed_filters(a, p, earlier) == ["hours"]
