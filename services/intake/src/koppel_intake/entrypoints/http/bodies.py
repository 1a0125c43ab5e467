"""Request and response bodies of the HTTP API, on top of the shared contract models."""

from __future__ import annotations

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
    id: str = Field(description="the entity id (assignment or consultant)")


class Health(BaseModel):
    status: str
    kafka: bool | None = None
