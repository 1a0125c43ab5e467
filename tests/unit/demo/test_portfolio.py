"""The demo's part-time portfolios, finer preferences, fixed office days and fast starts
(contract §8.4–8.5), shaped as the seeds describe them."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from koppel.contract import URGENT_WITHIN, Assignment, ConsultantProfile
from koppel.vocabulary import Discipline, Weekday
from koppel_demo.data import assignments, consultants, organisations
from koppel_demo.portfolio import commitments, growth_disciplines, office_weekdays

TODAY = date(2026, 11, 23)


@pytest.fixture(scope="module")
def people() -> list[ConsultantProfile]:
    return consultants(2000, 42, today=TODAY)


@pytest.fixture(scope="module")
def jobs() -> list[Assignment]:
    return assignments(300, 42, today=TODAY)


def _share(count: int, total: int) -> float:
    return count / total


def test_about_two_in_five_consultants_hold_one_or_two_commitments_ending_within_six_months(
    people: list[ConsultantProfile],
) -> None:
    holding = [p for p in people if p.commitments]
    assert 0.34 <= _share(len(holding), len(people)) <= 0.46
    assert {len(p.commitments) for p in holding} == {1, 2}
    held = [c for p in holding for c in p.commitments]
    assert {c.hours_per_week for c in held} <= {8, 12, 16, 20, 24}
    assert all(
        sum(c.hours_per_week for c in p.commitments) <= p.hours_per_week.max for p in holding
    )
    ends = [c.until for c in held]
    assert all(end is not None and TODAY <= end <= TODAY + timedelta(days=183) for end in ends)
    soon = sum(end is not None and end < TODAY + timedelta(days=42) for end in ends)
    assert soon > 0.1 * len(ends), "some end before the assignments start: capacity frees"


def test_some_commitments_name_an_employer_and_fix_office_days(
    people: list[ConsultantProfile],
) -> None:
    held = [c for p in people for c in p.commitments]
    employers = {org.name for org in organisations(42)}
    labelled = [c.label for c in held if c.label is not None]
    assert 0.35 <= _share(len(labelled), len(held)) <= 0.65
    assert set(labelled) <= employers
    assert any(label.startswith("Gemeente ") for label in labelled)
    fixed = [c.office_weekdays for c in held if c.office_weekdays]
    assert 0.35 <= _share(len(fixed), len(held)) <= 0.65
    week = list(Weekday)
    assert all(days == sorted(days, key=week.index) and len(days) <= 2 for days in fixed)


def test_some_consultants_prefer_sizes_and_want_to_grow(people: list[ConsultantProfile]) -> None:
    sizes = [p for p in people if p.preferred_size_classes]
    assert 0.14 <= _share(len(sizes), len(people)) <= 0.26
    growing = [p for p in people if p.growth_disciplines]
    assert 0.1 <= _share(len(growing), len(people)) <= 0.2
    assert all(not set(p.growth_disciplines) & set(p.disciplines) for p in growing)
    assert all(len(p.growth_disciplines) <= 2 for p in growing)


def test_some_assignments_fix_their_office_days_and_some_start_within_three_weeks(
    jobs: list[Assignment],
) -> None:
    office = [j for j in jobs if j.office_days_per_week]
    fixed = [j for j in office if j.office_weekdays]
    assert 0.2 <= _share(len(fixed), len(office)) <= 0.5
    assert all(len(j.office_weekdays) == j.office_days_per_week for j in fixed)
    assert not any(j.office_weekdays for j in jobs if j.office_days_per_week == 0)
    fast = [j for j in jobs if j.start_date <= TODAY + URGENT_WITHIN]
    assert 0.2 <= _share(len(fast), len(jobs)) <= 0.6


def test_commitments_never_take_more_than_the_hours_the_consultant_works() -> None:
    for index in range(500):
        rng = random.Random(index)
        total = rng.choice((8, 12, 24, 40))
        held = commitments(rng, TODAY, total, ["Gemeente Houten"])
        assert sum(c.hours_per_week for c in held) <= total
        assert len(held) <= 2


def test_growth_never_repeats_a_discipline_held_and_office_days_match_their_count() -> None:
    everything = list(Discipline)[:-1]
    for index in range(300):
        rng = random.Random(index)
        assert set(growth_disciplines(rng, everything)) <= {list(Discipline)[-1]}
        days = rng.randint(0, 5)
        named = office_weekdays(rng, days)
        assert len(named) in {0, days}
        assert len(set(named)) == len(named)
