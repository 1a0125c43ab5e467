"""Builders of wire-model match payloads for the notifier's unit tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from koppel.contract import Assignment, AssignmentSummary, MatchFound, match_id_for


def assignment(**overrides: Any) -> Assignment:
    fields: dict[str, Any] = {
        "id": "a-1",
        "title": "Senior communicatieadviseur participatie",
        "organization": {"name": "Gemeente Zeist", "type": "municipality", "inhabitants": 65_000},
        "location": {"city": "Zeist", "province": "utrecht"},
        "level": "senior",
        "assignment_type": "project",
        "disciplines_required": ["citizen_participation", "online_communication"],
        "hours_per_week": {"min": 28, "max": 32},
        "start_date": "2026-03-02",
        "duration_months": 6,
        "office_days_per_week": 2,
    }
    fields.update(overrides)
    return Assignment.model_validate(fields)


def match_payload(score: float = 0.87, **overrides: Any) -> dict[str, Any]:
    found = MatchFound(
        match_id=match_id_for("a-1", "c-1"),
        consultant_id="c-1",
        assignment=AssignmentSummary.of(assignment(**overrides)),
        score=score,
        reasons=["Je beheerst 2 van de 2 gevraagde vakgebieden", "Niveau past precies"],
    )
    return found.model_dump(mode="json")


MatchBuilder = Callable[..., dict[str, Any]]


@pytest.fixture
def make_match() -> MatchBuilder:
    """`make_match(score=..., **assignment_overrides)` → a `MatchFound` payload as JSON."""
    return match_payload


@pytest.fixture
def found_payload() -> dict[str, Any]:
    return match_payload()


@pytest.fixture
def confidential_payload() -> dict[str, Any]:
    return match_payload(visibility="confidential")
