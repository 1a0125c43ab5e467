"""Builders of wire-model match payloads for the notifier's unit tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from koppel_testing.builders import assignment, match_found

ASSIGNMENT: dict[str, Any] = {
    "id": "a-1",
    "disciplines_required": ["citizen_participation", "online_communication"],
    "start_date": "2026-03-02",
}
"""What the email tests read back from a match: two disciplines and a fixed start date."""


def match_payload(score: float = 0.87, **overrides: Any) -> dict[str, Any]:
    found = match_found(
        "c-1",
        assignment(**{**ASSIGNMENT, **overrides}),
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
