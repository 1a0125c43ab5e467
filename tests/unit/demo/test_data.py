"""The demo generator: reproducible, valid, and shaped like the seeds describe."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import UTC, date, datetime, time

import pytest

from koppel.contract import Assignment, ConsultantProfile
from koppel.vocabulary import Channel, Level, OrganizationType, Province, Visibility
from koppel_demo.data import assignments, consultants, organisations, webhook_secret
from koppel_matcher.domain.evaluate import evaluate
from koppel_matcher.entrypoints.translation import assignment_spec, profile_document, profile_spec

TODAY = date(2026, 11, 23)


@pytest.fixture(scope="module")
def people() -> list[ConsultantProfile]:
    return consultants(2000, 42, today=TODAY)


@pytest.fixture(scope="module")
def jobs() -> list[Assignment]:
    return assignments(300, 42, today=TODAY)


def test_same_seed_same_data_and_prefix_stable() -> None:
    first = consultants(50, 7, today=TODAY)
    assert first == consultants(50, 7, today=TODAY)
    assert first[:20] == consultants(20, 7, today=TODAY)
    assert assignments(30, 7, today=TODAY) == assignments(30, 7, today=TODAY)


def test_another_seed_other_data() -> None:
    assert consultants(20, 1, today=TODAY) != consultants(20, 2, today=TODAY)
    assert assignments(20, 1, today=TODAY) != assignments(20, 2, today=TODAY)


def test_every_object_round_trips_through_the_contract(
    people: list[ConsultantProfile], jobs: list[Assignment]
) -> None:
    for profile in people:
        assert ConsultantProfile.model_validate_json(profile.model_dump_json()) == profile
    for job in jobs:
        assert Assignment.model_validate_json(job.model_dump_json()) == job
    assert len({p.id for p in people}) == len(people)
    assert len({p.email for p in people}) == len(people)
    assert len({j.id for j in jobs}) == len(jobs)


def test_organisations_cover_every_type_and_province() -> None:
    orgs = organisations(42)
    assert 200 <= len(orgs) <= 400
    assert {o.type for o in orgs} == set(OrganizationType)
    assert {o.place.province for o in orgs} == set(Province)
    municipalities = [o.inhabitants for o in orgs if o.type is OrganizationType.MUNICIPALITY]
    assert (
        min(m or 0 for m in municipalities) < 25_000 < 100_000 < max(m or 0 for m in municipalities)
    )
    assert {o.name for o in orgs} == {o.name for o in organisations(1)}


def test_assignment_distributions(jobs: list[Assignment]) -> None:
    assert {j.level for j in jobs} == set(Level)
    assert {j.location.province for j in jobs} == set(Province)
    assert len({j.organization.type for j in jobs}) >= 8
    confidential = sum(j.visibility is Visibility.CONFIDENTIAL for j in jobs) / len(jobs)
    assert 0.08 <= confidential <= 0.22
    maxima = Counter(j.hours_per_week.max for j in jobs)
    assert (maxima[28] + maxima[32]) / len(jobs) >= 0.55
    assert all(24 <= j.hours_per_week.max <= 36 for j in jobs)
    assert all(1 <= (j.start_date - TODAY).days <= 6 * 7 for j in jobs)
    assert all(3 <= j.duration_months <= 18 for j in jobs)
    closing = [j for j in jobs if j.closes_at is not None]
    assert 0.2 <= len(closing) / len(jobs) <= 0.4
    assert all(TODAY < j.closes_at.date() < j.start_date for j in closing if j.closes_at)
    ministries = [j.office_days_per_week for j in jobs if j.organization.type == "ministry"]
    assert statistics.mean(ministries) < 2.5


def test_consultant_distributions(people: list[ConsultantProfile]) -> None:
    assert {p.level for p in people} == set(Level)
    assert {p.home.province for p in people} == set(Province)
    assert all(1 <= len(p.disciplines) <= 6 and len(p.specialisms) <= 3 for p in people)
    rates: dict[Level, list[float]] = {level: [] for level in Level}
    for p in people:
        if p.min_hourly_rate_eur is not None:
            rates[p.level].append(p.min_hourly_rate_eur)
    assert max(rates[Level.JUNIOR]) <= 70
    assert min(rates[Level.STRATEGIC]) >= 100
    assert all(p.years_experience >= 5 for p in people if p.level is Level.SENIOR)
    webhook = sum(Channel.WEBHOOK in p.notification.channels for p in people) / len(people)
    assert 0.18 <= webhook <= 0.36
    english = sum(p.language == "en" for p in people) / len(people)
    assert 0.05 <= english <= 0.15
    assert all(0.4 <= p.notification.min_score <= 0.7 for p in people)
    assert statistics.median(p.notification.min_score for p in people) >= 0.5
    assert sum(p.consent and p.active for p in people) / len(people) > 0.8


def test_only_part_of_the_pool_can_start_within_weeks(people: list[ConsultantProfile]) -> None:
    soon = sum((p.available_from - TODAY).days <= 14 for p in people) / len(people)
    assert 0.35 <= soon <= 0.55
    assert max((p.available_from - TODAY).days for p in people) > 180


def test_most_consultants_commute_at_most_an_hour(people: list[ConsultantProfile]) -> None:
    limits = [p.max_travel_km for p in people]
    assert sum(limit is None for limit in limits) / len(limits) < 0.1
    assert statistics.median(limit for limit in limits if limit is not None) <= 60


def test_each_assignment_has_a_handful_of_candidates_not_dozens(
    people: list[ConsultantProfile], jobs: list[Assignment]
) -> None:
    """Under the matcher's own rules, the demo is a realistic interim market (3–20 each)."""
    now = datetime.combine(TODAY, time(9), tzinfo=UTC)
    profiles = [profile_spec(profile_document(p)) for p in people]
    candidates = sorted(
        sum(evaluate(spec, p, now) is not None for p in profiles)
        for spec in map(assignment_spec, jobs)
    )
    assert 3 <= statistics.median(candidates) <= 12
    assert candidates[int(0.9 * len(candidates))] <= 35
    assert sum(c == 0 for c in candidates) / len(candidates) <= 0.12


def test_webhook_consultants_point_at_the_local_receiver_with_their_own_secret(
    people: list[ConsultantProfile],
) -> None:
    hooked = [p for p in people if Channel.WEBHOOK in p.notification.channels]
    for profile in hooked[:50]:
        prefs = profile.notification
        assert str(prefs.webhook_url) == f"http://127.0.0.1:8090/webhooks/{profile.id}"
        assert prefs.webhook_secret is not None
        assert prefs.webhook_secret.get_secret_value() == webhook_secret(profile.id, 42)
    assert webhook_secret("x", 1) != webhook_secret("x", 2)
    other = consultants(200, 42, today=TODAY, webhook_base_url="http://demo.test:9000/")
    assert any(
        str(p.notification.webhook_url).startswith("http://demo.test:9000/webhooks/") for p in other
    )
