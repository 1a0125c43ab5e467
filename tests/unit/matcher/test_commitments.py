"""Commitments (contract §8.4): hard filters 4 and 10 on the capacity day, and the reason
naming a commitment whose end leaves the room a match needs.

The property tests hold the column rules to brute force (`scalar_oracle`, which sums the
running commitments of one pair in plain Python) for random portfolios, start dates and
moments, in both directions of the index and for one pair.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st

from koppel.vocabulary import Language
from koppel_matcher.domain.columns import SlotColumns
from koppel_matcher.domain.commitments import committed_on, office_on
from koppel_matcher.domain.entity_columns import (
    PROFILE_FIELDS,
    PROFILE_WIDE,
    profile_columns,
    profile_row,
    profile_wide,
)
from koppel_matcher.domain.evaluate import evaluate, failed_filters
from koppel_matcher.domain.index import MatchIndex
from koppel_matcher.domain.instants import dutch_today, end_moment
from koppel_matcher.domain.masks import CertificationVocabulary
from koppel_matcher.domain.model import AssignmentSpec, CommitmentSpec, ProfileSpec
from koppel_testing import scalar_oracle
from koppel_testing.matcher_specs import Specs

PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MON, TUE, WED = 1, 2, 4


def moments(specs: Specs) -> st.SearchStrategy[datetime]:
    """Moments within four weeks either side of the reference start, often near midnight in
    Amsterdam (22:00–01:00 UTC), where the Dutch date and the UTC date differ."""
    days = st.integers(-28, 28)
    minutes = st.one_of(st.integers(0, 24 * 60 - 1), st.integers(21 * 60 + 30, 24 * 60 + 90))
    start = datetime.combine(specs.start, datetime.min.time(), tzinfo=UTC)
    return st.builds(lambda d, m: start + timedelta(days=d, minutes=m), days, minutes)


@PROPERTY
@given(data=st.data())
def test_committed_hours_and_office_days_agree_with_brute_force(
    specs: Specs, data: st.DataObject
) -> None:
    """The column sums for random portfolios on random days, as one entity and as rows."""
    portfolios = data.draw(
        st.lists(st.lists(specs.commitments(), max_size=10).map(tuple), min_size=1, max_size=8)
    )
    days = data.draw(st.lists(st.integers(-30, 30), min_size=1, max_size=8))
    profiles = [specs.profile(id=f"c{i}", commitments=c) for i, c in enumerate(portfolios)]
    stored = SlotColumns(PROFILE_FIELDS, PROFILE_WIDE, capacity=2)  # as the index stores them
    vocabulary = CertificationVocabulary()
    slots = [stored.acquire(p.id) for p in profiles]
    for p, slot in zip(profiles, slots, strict=True):
        for name, value in profile_row(p).items():
            stored.arrays[name][slot] = value
        for name, values in profile_wide(p, vocabulary).items():
            stored.set_wide(name, slot, values)
    rows = stored.columns()
    for offset in days:
        day = specs.start + timedelta(days=offset)
        hours = committed_on(rows, day.toordinal())
        office = office_on(rows, day.toordinal())
        for p, slot in zip(profiles, slots, strict=True):
            running = scalar_oracle.running_on(p, day)
            assert hours[slot] == sum(c.hours_per_week for c in running)
            assert office[slot] == np.bitwise_or.reduce([0, *(c.office_weekdays for c in running)])
            one = profile_columns(p, vocabulary)
            assert committed_on(one, day.toordinal()) == hours[slot]
            assert office_on(one, day.toordinal()) == office[slot]


@st.composite
def _world(
    draw: st.DrawFn, specs: Specs
) -> tuple[datetime, list[AssignmentSpec], list[ProfileSpec]]:
    ids = st.text("ab1", min_size=1, max_size=3)
    now = draw(moments(specs))
    assignments = draw(
        st.lists(specs.assignments(ids), min_size=1, max_size=8, unique_by=lambda a: a.id)
    )
    profiles = draw(
        st.lists(specs.profiles(ids), min_size=1, max_size=16, unique_by=lambda p: p.id)
    )
    # Open, available and wanting more hours often enough that filters 4 and 10 decide.
    assignments = [replace(a, closes_at=None) for a in assignments]
    profiles = [
        replace(p, available_from=specs.start - timedelta(days=40), hours_max=40)
        if draw(st.booleans())
        else p
        for p in profiles
    ]
    return now, assignments, profiles


@PROPERTY
@given(data=st.data())
def test_filters_4_and_10_agree_with_brute_force_at_any_moment(
    specs: Specs, data: st.DataObject
) -> None:
    """Every pair's failed filters and evaluation, at a random moment, equal the brute-force
    ones; the index finds exactly the passing pairs with the same evaluations both ways."""
    now, assignments, profiles = data.draw(_world(specs))
    index = MatchIndex(capacity=2)
    for a in assignments:
        index.upsert_assignment(a)
    for p in profiles:
        index.upsert_profile(p)
    by_assignment = {a.id: dict(index.matches_for_assignment(a, now)) for a in assignments}
    by_profile = {p.id: dict(index.matches_for_profile(p, now)) for p in profiles}
    decided = 0
    for a in assignments:
        for p in profiles:
            failed = scalar_oracle.failed_filters(a, p, now)
            assert failed_filters(a, p, now) == failed
            decided += "hours" in failed or "office_weekdays" in failed
            expected = scalar_oracle.evaluate(a, p, now)
            assert evaluate(a, p, now) == expected
            assert by_assignment[a.id].get(p.id) == expected
            assert by_profile[p.id].get(a.id) == expected
    target(float(decided), label="pairs failing filter 4 or 10")


# --- the reason naming the commitment that frees the capacity ---


def _ends(specs: Specs, days_after_start: int) -> int:
    return (specs.start + timedelta(days=days_after_start)).toordinal()


def _evaluate(specs: Specs, a: AssignmentSpec, p: ProfileSpec) -> tuple[str, ...]:
    evaluation = evaluate(a, p, specs.now)
    assert evaluation is not None
    assert evaluation == scalar_oracle.evaluate(a, p, specs.now)
    index = MatchIndex()
    index.upsert_assignment(a)
    index.upsert_profile(p)
    assert index.matches_for_assignment(a, specs.now) == [(p.id, evaluation)]
    assert index.matches_for_profile(p, specs.now) == [(a.id, evaluation)]
    return evaluation.reasons


@pytest.mark.parametrize(
    ("label", "language", "reason"),
    [
        (
            "Gemeente Houten",
            Language.NL,
            "Je opdracht bij Gemeente Houten loopt af op 13 maart: 24 uur vrij vanaf dan",
        ),
        (None, Language.NL, "Een opdracht van je loopt af op 13 maart: 24 uur vrij vanaf dan"),
        (
            "Gemeente Houten",
            Language.EN,
            "Your assignment at Gemeente Houten ends on 13 March: 24 hours free from then",
        ),
        (None, Language.EN, "One of your assignments ends on 13 March: 24 hours free from then"),
    ],
)
def test_the_commitment_ending_before_the_start_is_named(
    specs: Specs, label: str | None, language: Language, reason: str
) -> None:
    """Busy 24 of 40 hours until three days before the start, with 16 more for good."""
    busy = CommitmentSpec(24, until=_ends(specs, -3), label=label)
    p = specs.profile(language=language, hours_max=40, commitments=(CommitmentSpec(16), busy))
    a = specs.assignment(hours_min=24, hours_max=24)
    assert _evaluate(specs, a, p)[-1] == reason


def test_the_last_of_several_ending_commitments_is_named(specs: Specs) -> None:
    portfolio = (
        CommitmentSpec(16, until=_ends(specs, -9), label="Provincie Utrecht"),
        CommitmentSpec(16, until=_ends(specs, -2), label="Gemeente Houten"),
        CommitmentSpec(16, until=_ends(specs, -5), label="Gemeente Zeist"),
    )
    p = specs.profile(hours_max=40, commitments=portfolio)
    reasons = _evaluate(specs, specs.assignment(), p)
    assert (
        reasons[-1] == "Je opdracht bij Gemeente Houten loopt af op 14 maart: 40 uur vrij vanaf dan"
    )


def test_an_office_weekday_freed_by_an_ending_commitment_is_named(specs: Specs) -> None:
    """The hours fit today already; Tuesday at the other office is what ends."""
    tuesdays = CommitmentSpec(
        4, office_weekdays=TUE, until=_ends(specs, -1), label="Gemeente Houten"
    )
    p = specs.profile(hours_max=40, commitments=(tuesdays,))
    a = specs.assignment(office_weekdays=MON | TUE)
    assert _evaluate(specs, a, p)[-1] == (
        "Je opdracht bij Gemeente Houten loopt af op 15 maart: 40 uur vrij vanaf dan"
    )


ENDS_SOON = date(2026, 3, 10).toordinal()
"""Eight days after the reference moment, six before the reference start."""


@pytest.mark.parametrize(
    ("portfolio", "assignment"),
    [
        ((), {}),  # nothing ends
        ((CommitmentSpec(4, until=ENDS_SOON),), {}),  # the room is there today already
        ((CommitmentSpec(4, until=ENDS_SOON),), {"start_date": date(2026, 3, 2)}),  # starts today
        ((CommitmentSpec(4, until=ENDS_SOON),), {"start_date": date(2026, 2, 20)}),  # started
    ],
)
def test_no_commitment_is_named_when_none_frees_the_room(
    specs: Specs, portfolio: tuple[CommitmentSpec, ...], assignment: dict[str, object]
) -> None:
    p = specs.profile(hours_max=40, available_from=date(2026, 2, 20), commitments=portfolio)
    reasons = _evaluate(specs, specs.assignment(**assignment), p)
    assert not any("loopt af" in reason for reason in reasons)


@pytest.mark.parametrize(
    ("until", "ends_utc"),
    [
        (date(2026, 3, 1), datetime(2026, 3, 1, 23, tzinfo=UTC)),  # winter time
        (date(2026, 3, 28), datetime(2026, 3, 28, 23, tzinfo=UTC)),  # summer time from 02:00
        (date(2026, 10, 24), datetime(2026, 10, 24, 22, tzinfo=UTC)),  # summer time till 03:00
    ],
)
def test_a_commitment_ends_at_midnight_in_amsterdam_after_its_last_day(
    until: date, ends_utc: datetime
) -> None:
    """Through `until`, gone the next day at 00:00 Dutch time."""
    ends = end_moment(until)
    assert ends == ends_utc
    assert dutch_today(ends) == until + timedelta(days=1)
    assert dutch_today(ends - timedelta(microseconds=1)) == until
