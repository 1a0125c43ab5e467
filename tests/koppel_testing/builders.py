"""Builders of valid assignments and consultant profiles, one pair that matches by default,
and of the match events the matcher writes about a pair.

Each builder takes the fields a test cares about as keyword arguments and fills the rest
with values that pass every hard filter against the other builder's defaults: a senior
citizen-participation assignment in Zeist and a senior consultant living in Utrecht.
`*_document` returns the JSON a client sends; the others return the validated model.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from koppel.contract import (
    Assignment,
    AssignmentSummary,
    ConsultantProfile,
    MatchFound,
    MatchUpdated,
    match_id_for,
)
from koppel.vocabulary import VisibleField
from koppel_testing import WEBHOOK_SECRET

TODAY = date.today()
REASONS = ("Je beheerst het gevraagde vakgebied", "Niveau past precies")


def assignment_document(assignment_id: str = "A-1", **changes: Any) -> dict[str, Any]:
    """The JSON body of `PUT /v1/assignments/{id}`; `changes` replace whole top-level fields."""
    document: dict[str, Any] = {
        "id": assignment_id,
        "title": "Senior communicatieadviseur participatie",
        "organization": {"name": "Gemeente Zeist", "type": "municipality", "inhabitants": 65_000},
        "location": {"city": "Zeist", "province": "utrecht"},
        "level": "senior",
        "assignment_type": "project",
        "disciplines_required": ["citizen_participation"],
        "hours_per_week": {"min": 28, "max": 32},
        "start_date": (TODAY + timedelta(days=14)).isoformat(),
        "duration_months": 6,
        "office_days_per_week": 2,
    }
    document.update(changes)
    return document


def consultant_document(consultant_id: str = "C-1", **changes: Any) -> dict[str, Any]:
    """The JSON body of `PUT /v1/consultants/{id}`; `changes` replace whole top-level fields."""
    document: dict[str, Any] = {
        "id": consultant_id,
        "name": "Anouk de Vries",
        "email": f"{consultant_id.lower()}@example.org",
        "language": "nl",
        "level": "senior",
        "years_experience": 9,
        "disciplines": ["citizen_participation"],
        "home": {"city": "Utrecht", "province": "utrecht"},
        "max_office_days_per_week": 3,
        "available_from": TODAY.isoformat(),
        "hours_per_week": {"min": 24, "max": 32},
        "consent": True,
    }
    document.update(changes)
    return document


def webhook_notification(**changes: Any) -> dict[str, Any]:
    """The `notification` field of a consultant reached by email and a signed webhook.

    A new dictionary on every call, so a test may change it in place.
    """
    document: dict[str, Any] = {
        "channels": ["email", "webhook"],
        "webhook_url": "https://hooks.example.org/koppel",
        "webhook_secret": WEBHOOK_SECRET,
    }
    document.update(changes)
    return document


def assignment(assignment_id: str = "A-1", **changes: Any) -> Assignment:
    return Assignment.model_validate(assignment_document(assignment_id, **changes))


def consultant(consultant_id: str = "C-1", **changes: Any) -> ConsultantProfile:
    return ConsultantProfile.model_validate(consultant_document(consultant_id, **changes))


def match_found(
    consultant_id: str,
    assignment: Assignment,
    *,
    score: float = 0.8,
    reasons: Sequence[str] = REASONS,
    **changes: Any,
) -> MatchFound:
    """The data of a `match.found` of `assignment` for the consultant, as the matcher writes
    it; `changes` set the other fields (`revision`, `language`)."""
    return MatchFound(
        match_id=match_id_for(assignment.id, consultant_id),
        consultant_id=consultant_id,
        assignment=AssignmentSummary.of(assignment),
        score=score,
        reasons=list(reasons),
        **changes,
    )


def match_updated(
    consultant_id: str,
    assignment: Assignment,
    changed: Sequence[VisibleField],
    *,
    revision: int = 2,
    **changes: Any,
) -> MatchUpdated:
    """The data of a `match.updated`: the pair announced again at `revision`, with the
    fields the consultant sees that `changed`."""
    found = match_found(consultant_id, assignment, revision=revision, **changes)
    return MatchUpdated(**found.model_dump(), changed=list(changed))
