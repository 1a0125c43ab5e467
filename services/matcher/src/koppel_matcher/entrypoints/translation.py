"""Translation between the wire models of `koppel.contract` and the matcher's domain specs.

Profiles are stored as the JSON subset of `PROFILE_FIELDS` (what matching needs plus the
language): no name, email or notification settings ever reach the matcher's tables. The
same subset is what `profile_spec` reads, so the topic path and the database path share
one translation. Commitment labels are stored too: the reasons name them back to the
consultant ("Je opdracht bij Gemeente Houten loopt af op 1 maart").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import structlog
from pydantic import ValidationError

from koppel.contract import Assignment, ConsultantProfile, Location
from koppel.vocabulary import (
    AssignmentStatus,
    AssignmentType,
    Discipline,
    Language,
    Level,
    OrganizationType,
    Province,
    SizeClass,
    Weekday,
    WorkStyle,
)
from koppel_matcher.adapters.identity_memo import IdentityMemo
from koppel_matcher.domain.masks import weekday_mask
from koppel_matcher.domain.model import AssignmentSpec, CommitmentSpec, Place, ProfileSpec

log = structlog.get_logger(__name__)

PROFILE_FIELDS = frozenset(
    {
        "id",
        "language",
        "level",
        "years_experience",
        "public_sector_years",
        "disciplines",
        "specialisms",
        "work_style",
        "certifications",
        "home",
        "max_travel_km",
        "max_office_days_per_week",
        "available_from",
        "hours_per_week",
        "commitments",
        "min_hourly_rate_eur",
        "open_to_next_level",
        "preferred_organization_types",
        "preferred_assignment_types",
        "preferred_size_classes",
        "growth_disciplines",
        "active",
        "consent",
    }
)


class TranslationError(ValueError):
    """A stored or received document cannot be turned into a domain spec."""

    code = "untranslatable"


def _place(location: Location) -> Place:
    return Place(city=location.city, province=location.province, lat=location.lat, lon=location.lon)


def assignment_spec(assignment: Assignment) -> AssignmentSpec:
    """The domain view of a wire assignment (computed once per assignment object)."""
    return _shared_spec(assignment)


def _assignment_spec(assignment: Assignment) -> AssignmentSpec:
    return AssignmentSpec(
        id=assignment.id,
        title=assignment.title,
        organization_type=assignment.organization.type,
        size_class=assignment.organization.size_class,
        province=assignment.location.province,
        location=_place(assignment.location),
        level=assignment.level,
        assignment_type=assignment.assignment_type,
        disciplines_required=frozenset(assignment.disciplines_required),
        disciplines_preferred=frozenset(assignment.disciplines_preferred),
        hours_min=assignment.hours_per_week.min,
        hours_max=assignment.hours_per_week.max,
        start_date=assignment.start_date,
        duration_months=assignment.duration_months,
        office_days_per_week=assignment.office_days_per_week,
        max_hourly_rate_eur=assignment.max_hourly_rate_eur,
        min_years_experience=assignment.min_years_experience,
        required_certifications=frozenset(assignment.required_certifications),
        is_open=assignment.status is AssignmentStatus.OPEN,
        closes_at=assignment.closes_at,
        office_weekdays=weekday_mask(assignment.office_weekdays),
    )


_shared_spec: IdentityMemo[Assignment, AssignmentSpec] = IdentityMemo(_assignment_spec)


def profile_document(profile: ConsultantProfile) -> dict[str, Any]:
    """The JSON subset of a profile the matcher keeps (see `PROFILE_FIELDS`)."""
    return profile.model_dump(mode="json", include=set(PROFILE_FIELDS))


def profile_spec(document: Mapping[str, Any]) -> ProfileSpec:
    """The domain view of a stored profile document; `TranslationError` when malformed."""
    try:
        home = document["home"]
        hours = document["hours_per_week"]
        return ProfileSpec(
            id=str(document["id"]),
            language=Language(document.get("language", Language.NL)),
            level=Level(document["level"]),
            years_experience=int(document["years_experience"]),
            public_sector_years=int(document.get("public_sector_years", 0)),
            disciplines=frozenset(Discipline(d) for d in document["disciplines"]),
            specialisms=frozenset(Discipline(d) for d in document.get("specialisms", [])),
            work_style=WorkStyle(document.get("work_style", WorkStyle.EITHER)),
            certifications=frozenset(str(c) for c in document.get("certifications", [])),
            home=Place(
                city=str(home["city"]),
                province=Province(home["province"]),
                lat=_optional_float(home.get("lat")),
                lon=_optional_float(home.get("lon")),
            ),
            max_travel_km=_optional_int(document.get("max_travel_km")),
            max_office_days_per_week=int(document["max_office_days_per_week"]),
            available_from=date.fromisoformat(str(document["available_from"])),
            hours_min=int(hours["min"]),
            hours_max=int(hours["max"]),
            commitments=tuple(_commitment(c) for c in document.get("commitments", [])),
            min_hourly_rate_eur=_optional_float(document.get("min_hourly_rate_eur")),
            open_to_next_level=bool(document.get("open_to_next_level", False)),
            preferred_organization_types=frozenset(
                OrganizationType(t) for t in document.get("preferred_organization_types", [])
            ),
            preferred_assignment_types=frozenset(
                AssignmentType(t) for t in document.get("preferred_assignment_types", [])
            ),
            preferred_size_classes=frozenset(
                SizeClass(s) for s in document.get("preferred_size_classes", [])
            ),
            growth_disciplines=frozenset(
                Discipline(d) for d in document.get("growth_disciplines", [])
            ),
            active=bool(document.get("active", True)),
            consent=bool(document.get("consent", False)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise TranslationError(f"profile document is malformed: {exc!r}") from exc


def _commitment(stored: Mapping[str, Any]) -> CommitmentSpec:
    until = stored.get("until")
    label = stored.get("label")
    return CommitmentSpec(
        hours_per_week=int(stored["hours_per_week"]),
        office_weekdays=_weekdays(stored.get("office_weekdays", [])),
        until=None if until is None else date.fromisoformat(str(until)).toordinal(),
        label=None if label is None else str(label),
    )


def _weekdays(days: Iterable[Any]) -> int:
    return weekday_mask(Weekday(day) for day in days)


def spec_if_open(assignment: Assignment) -> AssignmentSpec | None:
    """The domain view the index needs; only an assignment with an open status is indexed."""
    return assignment_spec(assignment) if assignment.status is AssignmentStatus.OPEN else None


def stored_assignments(
    documents: list[dict[str, Any]],
) -> tuple[list[tuple[Assignment, AssignmentSpec | None]], list[str]]:
    """The shard's stored assignments with their specs, and the ids of rows the contract no
    longer accepts (skipped, loudly)."""
    loaded, unreadable = [], []
    for document in documents:
        try:
            assignment = Assignment.model_validate(document)
        except ValidationError as exc:
            log.error("stored_assignment_unreadable", id=document.get("id"), error=str(exc))
            unreadable.append(str(document.get("id")))
            continue
        loaded.append((assignment, spec_if_open(assignment)))
    return loaded, unreadable


def stored_profiles(documents: list[dict[str, Any]]) -> list[ProfileSpec]:
    """The shard's stored profiles as specs; malformed documents are skipped, loudly."""
    loaded = []
    for document in documents:
        try:
            loaded.append(profile_spec(document))
        except TranslationError as exc:
            log.error("stored_profile_unreadable", id=document.get("id"), error=str(exc))
    return loaded


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)
