"""Wire models → domain specs, and the profile subset the matcher stores."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from koppel.contract import Assignment, ConsultantProfile
from koppel.vocabulary import (
    AssignmentStatus,
    Discipline,
    Language,
    Level,
    OrganizationType,
    SizeClass,
)
from koppel_matcher.domain.model import CommitmentSpec
from koppel_matcher.entrypoints.translation import (
    PROFILE_FIELDS,
    TranslationError,
    assignment_spec,
    profile_document,
    profile_spec,
    spec_if_open,
    stored_assignments,
    stored_profiles,
)

ASSIGNMENT = {
    "id": "a-1",
    "title": "Woordvoerder",
    "organization": {"name": "Gemeente Zeist", "type": "municipality", "inhabitants": 65000},
    "location": {"city": "Zeist", "province": "utrecht", "lat": 52.09, "lon": 5.23},
    "level": "senior",
    "assignment_type": "project",
    "disciplines_required": ["crisis_communication"],
    "disciplines_preferred": ["press_relations"],
    "hours_per_week": {"min": 24, "max": 32},
    "start_date": "2026-12-01",
    "duration_months": 6,
    "office_days_per_week": 2,
    "min_years_experience": 5,
    "required_certifications": ["VOG"],
    "closes_at": "2026-11-30T12:00:00Z",
}
PROFILE = {
    "id": "c-1",
    "name": "Sanne de Vries",
    "email": "sanne@example.org",
    "language": "en",
    "level": "medior",
    "years_experience": 6,
    "public_sector_years": 3,
    "disciplines": ["crisis_communication", "social_media"],
    "specialisms": ["crisis_communication"],
    "work_style": "generalist",
    "certifications": ["VOG"],
    "home": {"city": "Amersfoort", "province": "utrecht", "lat": 52.15, "lon": 5.38},
    "max_travel_km": 40,
    "max_office_days_per_week": 3,
    "available_from": "2026-11-20",
    "hours_per_week": {"min": 16, "max": 32},
    "committed_hours_per_week": 8,
    "min_hourly_rate_eur": 95,
    "open_to_next_level": True,
    "preferred_organization_types": ["municipality"],
    "preferred_assignment_types": ["project"],
    "consent": True,
}


def test_assignment_spec_carries_every_matching_field() -> None:
    spec = assignment_spec(Assignment.model_validate(ASSIGNMENT))
    assert spec.organization_type is OrganizationType.MUNICIPALITY
    assert spec.size_class is SizeClass.MEDIUM
    assert spec.disciplines_required == frozenset({Discipline.CRISIS_COMMUNICATION})
    assert (spec.hours_min, spec.hours_max, spec.office_days_per_week) == (24, 32, 2)
    assert spec.required_certifications == frozenset({"VOG"})
    assert spec.location.lat == 52.09
    assert spec.is_open
    assert spec.closes_at == datetime(2026, 11, 30, 12, tzinfo=UTC)


def test_a_closed_assignment_is_not_open() -> None:
    closed = Assignment.model_validate({**ASSIGNMENT, "status": AssignmentStatus.FILLED})
    assert not assignment_spec(closed).is_open


def test_stored_profile_holds_no_name_email_or_notification_settings() -> None:
    document = profile_document(ConsultantProfile.model_validate(PROFILE))
    assert set(document) == PROFILE_FIELDS
    assert "name" not in document
    assert "email" not in document
    assert "notification" not in document


def test_profile_spec_from_the_stored_document() -> None:
    spec = profile_spec(profile_document(ConsultantProfile.model_validate(PROFILE)))
    assert spec.language is Language.EN
    assert spec.level is Level.MEDIOR
    assert spec.specialisms == frozenset({Discipline.CRISIS_COMMUNICATION})
    assert spec.available_from == date(2026, 11, 20)
    assert (spec.hours_min, spec.hours_max) == (16, 32)
    assert spec.commitments == (CommitmentSpec(hours_per_week=8),)  # contract v1's number
    assert spec.min_hourly_rate_eur == 95.0
    assert spec.open_to_next_level
    assert spec.consent
    assert spec.active


def test_a_malformed_stored_profile_is_a_translation_error() -> None:
    document = profile_document(ConsultantProfile.model_validate(PROFILE))
    with pytest.raises(TranslationError):
        profile_spec({**document, "level": "guru"})
    with pytest.raises(TranslationError):
        profile_spec({k: v for k, v in document.items() if k != "home"})


def test_only_an_assignment_with_an_open_status_gets_a_spec() -> None:
    assert spec_if_open(Assignment.model_validate(ASSIGNMENT)) is not None
    closed = Assignment.model_validate({**ASSIGNMENT, "status": AssignmentStatus.FILLED})
    assert spec_if_open(closed) is None


def test_stored_documents_the_contract_refuses_are_skipped_and_named() -> None:
    stored = Assignment.model_validate(ASSIGNMENT).model_dump(mode="json")
    loaded, unreadable = stored_assignments([stored, {**stored, "id": "a-2", "level": "guru"}])
    assert [(assignment.id, spec is not None) for assignment, spec in loaded] == [("a-1", True)]
    assert unreadable == ["a-2"]

    document = profile_document(ConsultantProfile.model_validate(PROFILE))
    profiles = stored_profiles([document, {**document, "id": "c-2", "level": "guru"}])
    assert [profile.id for profile in profiles] == ["c-1"]


def test_commitments_and_preferences_reach_the_spec() -> None:
    profile = ConsultantProfile.model_validate(
        {
            **{k: v for k, v in PROFILE.items() if k != "committed_hours_per_week"},
            "commitments": [
                {"label": "Gemeente Houten", "hours_per_week": 24,
                 "office_weekdays": ["tue", "thu"], "until": "2027-03-01"},
                {"hours_per_week": 8},
            ],
            "preferred_size_classes": ["small", "medium"],
            "growth_disciplines": ["public_affairs"],
        }
    )  # fmt: skip
    spec = profile_spec(profile_document(profile))
    assert spec.commitments == (
        CommitmentSpec(24, office_weekdays=0b01010, until=date(2027, 3, 1).toordinal(),
                       label="Gemeente Houten"),
        CommitmentSpec(8),
    )  # fmt: skip
    assert spec.preferred_size_classes == frozenset({SizeClass.SMALL, SizeClass.MEDIUM})
    assert spec.growth_disciplines == frozenset({Discipline.PUBLIC_AFFAIRS})


def test_assignment_office_weekdays_become_a_mask() -> None:
    named = {**ASSIGNMENT, "office_weekdays": ["mon", "fri"]}
    assert assignment_spec(Assignment.model_validate(named)).office_weekdays == 0b10001
    assert assignment_spec(Assignment.model_validate(ASSIGNMENT)).office_weekdays == 0
