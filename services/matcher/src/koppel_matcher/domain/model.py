"""Domain copies of the wire models: what the matching rules need, nothing else.

The service translates `koppel.contract` models into these at the boundary, so the rules
stay pure and cheap to construct in tests. Datetimes are expected to be timezone-aware
(a naive one is read as UTC, see `instants.py`). Days are `date.toordinal()` numbers and
weekday sets masks (`masks.weekday_mask`) where the rules compare them in bulk.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

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


@dataclass(frozen=True, slots=True)
class Place:
    city: str
    province: Province
    lat: float | None = None
    lon: float | None = None

    @property
    def has_coordinates(self) -> bool:
        return self.lat is not None and self.lon is not None


@dataclass(frozen=True, slots=True)
class AssignmentSpec:
    id: str
    title: str
    organization_type: OrganizationType
    size_class: SizeClass | None
    province: Province
    location: Place
    level: Level
    assignment_type: AssignmentType
    disciplines_required: frozenset[Discipline]
    disciplines_preferred: frozenset[Discipline]
    hours_min: int
    hours_max: int
    start_date: date
    duration_months: int
    office_days_per_week: int
    max_hourly_rate_eur: float | None
    min_years_experience: int | None
    required_certifications: frozenset[str]
    is_open: bool
    """The assignment's status is `open` (closing by `closes_at` is checked separately)."""
    closes_at: datetime | None
    office_weekdays: int = 0
    """The named office days as a weekday mask; 0 when the assignment names none."""


@dataclass(frozen=True, slots=True)
class CommitmentSpec:
    """Part-time work the consultant already holds (contract §8.4).

    It takes its hours from the free capacity, and blocks its office weekdays for other
    assignments' offices, on every day it runs: up to and including `until`.
    """

    hours_per_week: int
    office_weekdays: int = 0
    """A weekday mask (`masks.weekday_mask`)."""
    until: int | None = None
    """The last day it runs, as `date.toordinal()`; None when it has no end."""
    label: str | None = None
    """What the consultant calls it ("Gemeente Houten"): it names the commitment in the
    match's reasons and in the agency's "why not" view, never in anything sent to others."""


@dataclass(frozen=True, slots=True)
class ProfileSpec:
    id: str
    language: Language
    level: Level
    years_experience: int
    public_sector_years: int
    disciplines: frozenset[Discipline]
    specialisms: frozenset[Discipline]
    work_style: WorkStyle
    certifications: frozenset[str]
    home: Place
    max_travel_km: int | None
    max_office_days_per_week: int
    available_from: date
    hours_min: int
    hours_max: int
    min_hourly_rate_eur: float | None
    open_to_next_level: bool
    preferred_organization_types: frozenset[OrganizationType]
    preferred_assignment_types: frozenset[AssignmentType]
    active: bool
    consent: bool
    commitments: tuple[CommitmentSpec, ...] = ()
    """In the consultant's order; hard filters 4 and 10 count those running on a pair's
    capacity day (`commitments.capacity_day`)."""
    preferred_size_classes: frozenset[SizeClass] = frozenset()
    growth_disciplines: frozenset[Discipline] = frozenset()
    """Disciplines the consultant wants to grow into: a score component, never filter 6."""

    @property
    def ending_commitments(self) -> tuple[CommitmentSpec, ...]:
        """The commitments with an end, in order: the per-commitment columns of the index."""
        return tuple(c for c in self.commitments if c.until is not None)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The score of a pair that passed the hard filters, and why.

    `score` is in [0, 1], rounded to 4 decimals. `components` holds (name, contribution =
    weight × value, rounded to 4 decimals) for each component that moved the score, in the
    fixed order of `scoring.COMPONENTS`; `reasons` holds one text per such component, in
    the consultant's language, and last, when a commitment ending before the start leaves
    the room the pair needs, one naming it (`freed_capacity.freed_reason`).
    """

    score: float
    components: tuple[tuple[str, float], ...]
    reasons: tuple[str, ...]
