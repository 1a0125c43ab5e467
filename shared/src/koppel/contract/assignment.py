"""Assignments ("opdrachten"), their close command and the events about them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Self

from pydantic import AwareDatetime, Field, model_validator

from koppel.contract.common import (
    Certification,
    ContractModel,
    EntityId,
    EventData,
    HoursPerWeek,
    Location,
    LongText,
    ShortText,
    UniqueList,
    field_error,
)
from koppel.vocabulary import (
    AssignmentStatus,
    AssignmentType,
    CloseReason,
    Discipline,
    Level,
    OrganizationType,
    SizeClass,
    Visibility,
    Weekday,
)


class Organization(ContractModel):
    name: ShortText
    type: OrganizationType
    inhabitants: int | None = Field(default=None, ge=0, le=20_000_000, strict=True)

    @property
    def size_class(self) -> SizeClass | None:
        """Small/medium/large, for municipalities whose inhabitants are known."""
        if self.type is not OrganizationType.MUNICIPALITY or self.inhabitants is None:
            return None
        return SizeClass.for_inhabitants(self.inhabitants)


class Assignment(EventData):
    """Full state of an assignment; every upsert carries all of it."""

    id: EntityId
    title: ShortText
    description: LongText = ""
    public_title: ShortText | None = None
    """What consultants see instead of `title` when confidential (DOMAIN.md 8.6)."""
    organization: Organization
    location: Location
    level: Level
    assignment_type: AssignmentType
    disciplines_required: Annotated[UniqueList[Discipline], Field(min_length=1, max_length=5)]
    disciplines_preferred: Annotated[UniqueList[Discipline], Field(max_length=18)] = []
    hours_per_week: HoursPerWeek
    start_date: date
    duration_months: int = Field(ge=1, le=24, strict=True)
    office_days_per_week: int = Field(ge=0, le=5, strict=True)
    office_weekdays: Annotated[UniqueList[Weekday], Field(max_length=5)] = []
    """The fixed office days, when the organisation names them (contract §8.4): as many as
    `office_days_per_week`. Hard filter 10 compares them with the consultant's commitments."""
    max_hourly_rate_eur: float | None = Field(default=None, gt=0, le=1000, strict=True)
    min_years_experience: int | None = Field(default=None, ge=0, le=60, strict=True)
    required_certifications: Annotated[UniqueList[Certification], Field(max_length=20)] = []
    visibility: Visibility = Visibility.PUBLIC
    closes_at: AwareDatetime | None = None
    status: AssignmentStatus = AssignmentStatus.OPEN

    @model_validator(mode="after")
    def _office_weekdays_match_office_days(self) -> Self:
        if self.office_weekdays and len(self.office_weekdays) != self.office_days_per_week:
            raise field_error(
                "Assignment",
                "office_weekdays",
                "office_weekdays_count",
                f"office_weekdays names {len(self.office_weekdays)} days but"
                f" office_days_per_week is {self.office_days_per_week}; they must agree",
                self.office_weekdays,
            )
        return self

    @model_validator(mode="after")
    def _preferred_not_required(self) -> Self:
        overlap = set(self.disciplines_required) & set(self.disciplines_preferred)
        if overlap:
            raise ValueError(
                "disciplines_preferred must not repeat disciplines_required: "
                + ", ".join(sorted(overlap))
            )
        return self

    def is_open_at(self, moment: datetime) -> bool:
        """Open status and not past `closes_at` (hard filter 1)."""
        if self.status is not AssignmentStatus.OPEN:
            return False
        return self.closes_at is None or moment < self.closes_at

    @property
    def entity_id(self) -> str:
        return self.id


class AssignmentClose(ContractModel):
    """Body of `POST /v1/assignments/{id}/close`."""

    reason: CloseReason


class AssignmentClosed(EventData):
    """Data of `nl.koppel.assignment.closed`: the assignment left the market."""

    assignment_id: EntityId
    reason: CloseReason
    closed_at: AwareDatetime

    @property
    def entity_id(self) -> str:
        return self.assignment_id


class ConsultantErasure(EventData):
    """Data of `nl.koppel.consultant.erased` on the raw topic (GDPR/AVG erasure request)."""

    consultant_id: EntityId

    @property
    def entity_id(self) -> str:
        return self.consultant_id
