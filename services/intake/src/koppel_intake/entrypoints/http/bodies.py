"""Request and response bodies of the HTTP API, on top of the shared contract models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from koppel.contract import Assignment, ConsultantProfile
from koppel.contract.common import EntityId


class AssignmentUpsert(Assignment):
    """An assignment as PUT: the path holds the id, so `id` in the body is optional."""

    # The path id is authoritative; a body id, when given, must equal it.
    id: EntityId | None = None  # type: ignore[assignment]


class ConsultantUpsert(ConsultantProfile):
    """A consultant profile as PUT: `id` in the body is optional, as for assignments."""

    id: EntityId | None = None  # type: ignore[assignment]


class Accepted(BaseModel):
    """`202`: Kafka acknowledged the event with this id."""

    event_id: str = Field(description="CloudEvents id of the published event")
    id: str = Field(description="the entity id (assignment, consultant, or match for answers)")


class Health(BaseModel):
    status: str
    kafka: bool | None = None


ASSIGNMENT_EXAMPLES: dict[str, Any] = {
    "fixed_office_days": {
        "summary": "A municipality with fixed office days and a closing date",
        "value": {
            "title": "Senior communicatieadviseur participatie",
            "description": "Je begeleidt de participatie rond de nieuwe omgevingsvisie.",
            "organization": {
                "name": "Gemeente Zeist",
                "type": "municipality",
                "inhabitants": 65000,
            },
            "location": {"city": "Zeist", "province": "utrecht"},
            "level": "senior",
            "assignment_type": "project",
            "disciplines_required": ["citizen_participation"],
            "disciplines_preferred": ["stakeholder_management"],
            "hours_per_week": {"min": 24, "max": 28},
            "start_date": "2027-03-01",
            "duration_months": 6,
            "office_days_per_week": 2,
            "office_weekdays": ["tue", "thu"],
            "max_hourly_rate_eur": 105,
            "closes_at": "2027-02-12T17:00:00+01:00",
        },
    },
}
"""OpenAPI examples of `PUT /v1/assignments/{id}`: `office_weekdays` names exactly
`office_days_per_week` days (contract §8.4)."""

CONSULTANT_EXAMPLES: dict[str, Any] = {
    "part_time_portfolio": {
        "summary": "A consultant with a part-time assignment that ends, and preferences",
        "value": {
            "name": "Anouk de Vries",
            "email": "anouk.devries@example.org",
            "language": "nl",
            "level": "senior",
            "years_experience": 12,
            "public_sector_years": 8,
            "disciplines": ["citizen_participation", "stakeholder_management"],
            "home": {"city": "Utrecht", "province": "utrecht"},
            "max_travel_km": 50,
            "max_office_days_per_week": 3,
            "available_from": "2027-01-04",
            "hours_per_week": {"min": 24, "max": 36},
            "commitments": [
                {
                    "label": "Gemeente Houten",
                    "hours_per_week": 16,
                    "office_weekdays": ["mon", "tue"],
                    "until": "2027-02-28",
                },
                {"hours_per_week": 8},
            ],
            "preferred_size_classes": ["small", "medium"],
            "growth_disciplines": ["change_communication"],
            "consent": True,
        },
    },
}
"""OpenAPI examples of `PUT /v1/consultants/{id}`: `commitments` (contract §8.4; one with
an end, one without), `preferred_size_classes` and `growth_disciplines` (§8.5)."""

RESPONSE_EXAMPLES: dict[str, Any] = {
    "interested": {
        "summary": "The consultant is interested",
        "value": {"consultant_id": "C-1042", "response": "interested"},
    },
    "not_interested": {
        "summary": "Not for them, with a reason and a note",
        "value": {
            "consultant_id": "C-1042",
            "response": "not_interested",
            "reason": "hours",
            "note": "Ik zoek maximaal 24 uur per week.",
        },
    },
}
"""OpenAPI examples of `PUT /v1/matches/{match_id}/response` (see `ResponseCommand`)."""
