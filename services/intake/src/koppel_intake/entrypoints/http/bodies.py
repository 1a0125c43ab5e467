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
