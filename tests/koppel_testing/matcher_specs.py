"""What the matcher's unit tests build: domain specs, hypothesis strategies, wire models.

`assignment()` and `profile()` are a pair of domain specs that match; the strategies draw
each field as the reference value or a random one, so random pairs often pass every filter
(hypothesis shrinks towards the reference pair). `wire_assignment()` and `wire_profile()`
are the contract models intake would publish for a matching pair, dated from `WIRE_TODAY`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from hypothesis import strategies as st

from koppel.contract import Assignment, ConsultantProfile
from koppel.vocabulary import (
    AssignmentType,
    Discipline,
    Language,
    Level,
    OrganizationType,
    Province,
    SizeClass,
    WorkStyle,
)
from koppel_matcher.domain.model import AssignmentSpec, CommitmentSpec, Place, ProfileSpec
from koppel_testing import builders

T = TypeVar("T")

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
START = date(2026, 3, 16)

UTRECHT = Place("Utrecht", Province.UTRECHT, 52.0907, 5.1214)
AMERSFOORT = Place("Amersfoort", Province.UTRECHT, 52.1561, 5.3878)
GRONINGEN = Place("Groningen", Province.GRONINGEN, 53.2194, 6.5665)


def assignment(**overrides: Any) -> AssignmentSpec:
    """A senior crisis-communication assignment in Utrecht that `profile()` matches."""
    base = AssignmentSpec(
        id="a-1",
        title="Senior communicatieadviseur crisis",
        organization_type=OrganizationType.MUNICIPALITY,
        size_class=SizeClass.LARGE,
        province=Province.UTRECHT,
        location=UTRECHT,
        level=Level.SENIOR,
        assignment_type=AssignmentType.PROJECT,
        disciplines_required=frozenset({Discipline.CRISIS_COMMUNICATION}),
        disciplines_preferred=frozenset(),
        hours_min=28,
        hours_max=32,
        start_date=START,
        duration_months=6,
        office_days_per_week=2,
        max_hourly_rate_eur=None,
        min_years_experience=None,
        required_certifications=frozenset(),
        is_open=True,
        closes_at=None,
    )
    return replace(base, **overrides)


def profile(**overrides: Any) -> ProfileSpec:
    """A senior consultant in Amersfoort (about 20 km from Utrecht) who fits `assignment()`."""
    base = ProfileSpec(
        id="c-1",
        language=Language.NL,
        level=Level.SENIOR,
        years_experience=10,
        public_sector_years=3,
        disciplines=frozenset({Discipline.CRISIS_COMMUNICATION, Discipline.CAMPAIGNS}),
        specialisms=frozenset(),
        work_style=WorkStyle.EITHER,
        certifications=frozenset(),
        home=AMERSFOORT,
        max_travel_km=50,
        max_office_days_per_week=3,
        available_from=START,
        hours_min=24,
        hours_max=32,
        min_hourly_rate_eur=None,
        open_to_next_level=False,
        preferred_organization_types=frozenset(),
        preferred_assignment_types=frozenset(),
        active=True,
        consent=True,
    )
    return replace(base, **overrides)


_CERTIFICATIONS = ("VOG", "Prince2", "BHV", "Scrum", "GGD crisis")
_DISCIPLINES = list(Discipline)[:6]


def _or(reference: T, alternative: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    """The reference value two times in three, else the alternative."""
    return st.one_of(st.just(reference), st.just(reference), alternative)


_MOSTLY_TRUE = st.sampled_from([True] * 11 + [False])


@st.composite
def _place(draw: st.DrawFn, reference: Place) -> Place:
    where = draw(st.one_of(st.none(), st.tuples(st.floats(51.6, 52.6), st.floats(4.6, 5.6))))
    province = draw(st.sampled_from(list(Province)))
    if where is None:
        return Place("Ergens", province)
    place: Place = draw(_or(reference, st.just(Place("Ergens", province, where[0], where[1]))))
    return place


@st.composite
def assignments(draw: st.DrawFn, ids: st.SearchStrategy[str] | None = None) -> AssignmentSpec:
    base = assignment()
    required = draw(st.frozensets(st.sampled_from(_DISCIPLINES), min_size=1, max_size=3))
    required = draw(_or(base.disciplines_required, st.just(required)))
    preferred = draw(st.frozensets(st.sampled_from(list(Discipline)[:8]), max_size=3)) - required
    low = draw(_or(base.hours_min, st.integers(8, 32)))
    org = draw(st.sampled_from(list(OrganizationType)))
    size = draw(st.sampled_from(list(SizeClass))) if org is OrganizationType.MUNICIPALITY else None
    return AssignmentSpec(
        id=draw(ids if ids is not None else st.text("abc123", min_size=1, max_size=6)),
        title="Opdracht",
        organization_type=org,
        size_class=size,
        province=base.province,
        location=draw(_place(base.location)),
        level=draw(st.sampled_from([base.level, *Level])),
        assignment_type=draw(st.sampled_from(list(AssignmentType))),
        disciplines_required=required,
        disciplines_preferred=preferred,
        hours_min=low,
        hours_max=draw(_or(max(low, base.hours_max), st.integers(low, 40))),
        start_date=START + timedelta(days=draw(_or(0, st.integers(-16, 16)))),
        duration_months=draw(st.integers(1, 24)),
        office_days_per_week=draw(_or(base.office_days_per_week, st.integers(0, 5))),
        max_hourly_rate_eur=draw(_or(None, st.floats(60, 140))),
        min_years_experience=draw(_or(None, st.integers(0, 12))),
        required_certifications=draw(
            _or(frozenset(), st.frozensets(st.sampled_from(_CERTIFICATIONS), max_size=2))
        ),
        is_open=draw(_MOSTLY_TRUE),
        closes_at=draw(
            _or(
                None,
                st.sampled_from([NOW, NOW + timedelta(microseconds=1), NOW + timedelta(days=3)]),
            )
        ),
        office_weekdays=draw(_or(0, st.integers(1, 31))),
    )


@st.composite
def commitments(draw: st.DrawFn) -> CommitmentSpec:
    """A commitment ending around `START` (or without an end), often on office weekdays."""
    offset = draw(st.one_of(st.none(), st.integers(-24, 24)))
    return CommitmentSpec(
        hours_per_week=draw(st.one_of(st.sampled_from([8, 16, 24]), st.integers(1, 40))),
        office_weekdays=draw(_or(0, st.integers(1, 31))),
        until=None if offset is None else (START + timedelta(days=offset)).toordinal(),
        label=draw(st.sampled_from([None, "Gemeente Houten", "Provincie Utrecht"])),
    )


def portfolios() -> st.SearchStrategy[tuple[CommitmentSpec, ...]]:
    """None most often, else one to three commitments, now and then up to ten."""
    some = st.lists(commitments(), min_size=1, max_size=3).map(tuple)
    many = st.lists(commitments(), min_size=4, max_size=10).map(tuple)
    return st.one_of(st.just(()), st.just(()), some, some, many)


@st.composite
def profiles(draw: st.DrawFn, ids: st.SearchStrategy[str] | None = None) -> ProfileSpec:
    base = profile()
    disciplines = draw(st.frozensets(st.sampled_from(_DISCIPLINES), min_size=1, max_size=4))
    disciplines = draw(_or(base.disciplines, st.just(disciplines)))
    specialisms = draw(st.frozensets(st.sampled_from(sorted(disciplines)), max_size=3))
    low = draw(_or(base.hours_min, st.integers(8, 32)))
    years = draw(_or(base.years_experience, st.integers(0, 20)))
    return ProfileSpec(
        id=draw(ids if ids is not None else st.text("xyz789", min_size=1, max_size=6)),
        language=draw(st.sampled_from(list(Language))),
        level=draw(_or(base.level, st.sampled_from(list(Level)))),
        years_experience=years,
        public_sector_years=draw(st.integers(0, years)),
        disciplines=disciplines,
        specialisms=specialisms,
        work_style=draw(st.sampled_from(list(WorkStyle))),
        certifications=draw(st.frozensets(st.sampled_from(_CERTIFICATIONS), max_size=4)),
        home=draw(_place(base.home)),
        max_travel_km=draw(_or(base.max_travel_km, st.one_of(st.none(), st.integers(1, 150)))),
        max_office_days_per_week=draw(_or(base.max_office_days_per_week, st.integers(0, 5))),
        available_from=START + timedelta(days=draw(_or(0, st.integers(-20, 20)))),
        hours_min=low,
        hours_max=draw(_or(max(low, base.hours_max), st.integers(low, 40))),
        min_hourly_rate_eur=draw(_or(None, st.floats(50, 130))),
        open_to_next_level=draw(st.booleans()),
        preferred_organization_types=draw(
            st.frozensets(st.sampled_from(list(OrganizationType)), max_size=3)
        ),
        preferred_assignment_types=draw(
            st.frozensets(st.sampled_from(list(AssignmentType)), max_size=2)
        ),
        active=draw(_MOSTLY_TRUE),
        consent=draw(_MOSTLY_TRUE),
        commitments=draw(portfolios()),
        preferred_size_classes=draw(st.frozensets(st.sampled_from(list(SizeClass)), max_size=2)),
        growth_disciplines=draw(st.frozensets(st.sampled_from(list(Discipline)[:8]), max_size=3))
        - disciplines,
    )


@dataclass(frozen=True)
class Specs:
    """The builders and strategies above, handed to tests by the `specs` fixture."""

    now: datetime
    start: date
    assignment: Callable[..., AssignmentSpec]
    profile: Callable[..., ProfileSpec]
    assignments: Callable[..., st.SearchStrategy[AssignmentSpec]]
    profiles: Callable[..., st.SearchStrategy[ProfileSpec]]
    commitments: Callable[..., st.SearchStrategy[CommitmentSpec]]
    utrecht: Place
    amersfoort: Place
    groningen: Place


SPECS = Specs(
    now=NOW,
    start=START,
    assignment=assignment,
    profile=profile,
    assignments=assignments,
    profiles=profiles,
    commitments=commitments,
    utrecht=UTRECHT,
    amersfoort=AMERSFOORT,
    groningen=GRONINGEN,
)


WIRE_TODAY = datetime(2026, 11, 23, 12, 0, tzinfo=UTC).date()
"""The date the wire builders plan from (`test_shard_matcher` runs its clock on it)."""


def wire_assignment(**changes: Any) -> Assignment:
    """An open senior crisis-communication assignment in Utrecht, starting in two weeks."""
    fields: dict[str, Any] = {
        "id": "a-1",
        "title": "Woordvoerder crisiscommunicatie",
        "organization": {"name": "Gemeente Utrecht", "type": "municipality", "inhabitants": 370000},
        "location": {"city": "Utrecht", "province": "utrecht", "lat": 52.0907, "lon": 5.1214},
        "disciplines_required": ["crisis_communication"],
        "hours_per_week": {"min": 24, "max": 32},
        "start_date": (WIRE_TODAY + timedelta(days=14)).isoformat(),
        "office_days_per_week": 3,
    }
    return builders.assignment(**{**fields, **changes})


def wire_profile(**changes: Any) -> ConsultantProfile:
    """A senior crisis-communication consultant near Utrecht who fits `wire_assignment()`."""
    fields: dict[str, Any] = {
        "id": "c-1",
        "name": "Sanne de Vries",
        "email": "sanne@example.org",
        "years_experience": 8,
        "disciplines": ["crisis_communication", "press_relations"],
        "specialisms": ["crisis_communication"],
        "home": {"city": "Amersfoort", "province": "utrecht", "lat": 52.1561, "lon": 5.3878},
        "max_travel_km": 60,
        "available_from": WIRE_TODAY.isoformat(),
    }
    return builders.consultant(**{**fields, **changes})


@dataclass(frozen=True)
class Wire:
    """The wire builders, handed to tests by the `wire` fixture."""

    assignment: Callable[..., Assignment]
    profile: Callable[..., ConsultantProfile]


WIRE = Wire(assignment=wire_assignment, profile=wire_profile)
