"""Match events: what the matcher tells the notifier and upstream systems."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from pydantic import AwareDatetime, Field

from koppel.contract.assignment import Assignment
from koppel.contract.common import ContractModel, EntityId, EventData, HoursPerWeek, Text
from koppel.public_title import built_title
from koppel.vocabulary import (
    AssignmentType,
    Discipline,
    Language,
    Level,
    OrganizationType,
    Province,
    SizeClass,
    Visibility,
    VisibleField,
    WithdrawalReason,
)

URGENT_WITHIN = timedelta(days=21)
"""A start this close to the match makes it urgent (contract §8.5; seeds 001, 002: hired
"within weeks")."""

_MATCH_NAMESPACE = uuid.UUID("5f1d0c4e-8a7b-4f57-9d0e-6b1f3c2a9e11")


def match_id_for(assignment_id: str, consultant_id: str) -> str:
    """Stable id of one (assignment, consultant) pair, the same in every service and run."""
    return str(uuid.uuid5(_MATCH_NAMESPACE, f"{assignment_id}\x1f{consultant_id}"))


class OrganizationSummary(ContractModel):
    """What a notification may show of the organisation; `name` is None when confidential."""

    name: Text | None
    type: OrganizationType
    size_class: SizeClass | None = None


class LocationSummary(ContractModel):
    """`city` is None for a confidential assignment: only the province is shown."""

    city: Text | None
    province: Province


class AssignmentSummary(ContractModel):
    """What a consultant may see of an assignment: no description; masked when confidential."""

    id: EntityId
    title: Text
    title_is_built: bool = False
    """`title` is the Dutch built title of `koppel.public_title`; shown in other languages
    it is rebuilt from this summary's own fields."""
    organization: OrganizationSummary
    level: Level
    assignment_type: AssignmentType
    disciplines_required: list[Discipline]
    disciplines_preferred: list[Discipline] = []
    hours_per_week: HoursPerWeek
    start_date: date
    duration_months: int
    office_days_per_week: int
    location: LocationSummary
    visibility: Visibility
    max_hourly_rate_eur: float | None = None
    closes_at: AwareDatetime | None = None

    @classmethod
    def of(cls, assignment: Assignment) -> AssignmentSummary:
        """The summary to publish; a confidential assignment loses its name, city and title."""
        confidential = assignment.visibility is Visibility.CONFIDENTIAL
        org = assignment.organization
        title, title_is_built = assignment.title, False
        if confidential and assignment.public_title is not None:
            title = assignment.public_title
        elif confidential:
            title = built_title(
                level=assignment.level,
                discipline=assignment.disciplines_required[0],
                organization_type=org.type,
                size_class=org.size_class,
                province=assignment.location.province,
                language=Language.NL,
            )
            title_is_built = True
        return cls(
            id=assignment.id,
            title=title,
            title_is_built=title_is_built,
            organization=OrganizationSummary(
                name=None if confidential else org.name,
                type=org.type,
                size_class=org.size_class,
            ),
            level=assignment.level,
            assignment_type=assignment.assignment_type,
            disciplines_required=list(assignment.disciplines_required),
            disciplines_preferred=list(assignment.disciplines_preferred),
            hours_per_week=assignment.hours_per_week,
            start_date=assignment.start_date,
            duration_months=assignment.duration_months,
            office_days_per_week=assignment.office_days_per_week,
            location=LocationSummary(
                city=None if confidential else assignment.location.city,
                province=assignment.location.province,
            ),
            visibility=assignment.visibility,
            max_hourly_rate_eur=assignment.max_hourly_rate_eur,
            closes_at=assignment.closes_at,
        )


class MatchFound(EventData):
    """Data of `nl.koppel.match.found`. `revision` grows when a still-matching pair changes."""

    match_id: Text
    consultant_id: EntityId
    assignment: AssignmentSummary
    score: float = Field(ge=0, le=1)
    reasons: list[Text]
    language: Language = Language.NL
    revision: int = Field(default=1, ge=1)
    urgent: bool = False
    """The assignment starts within `URGENT_WITHIN` of the match (contract §8.5): the
    notification says so and a daily-digest consultant gets it at once."""

    @property
    def entity_id(self) -> str:
        return self.consultant_id


class MatchUpdated(MatchFound):
    """Data of `nl.koppel.match.updated` (contract §8.3): a pair announced before is still a
    match, and a field the consultant sees changed; `changed` names those fields."""

    changed: list[VisibleField] = Field(min_length=1)


class MatchWithdrawn(EventData):
    """Data of `nl.koppel.match.withdrawn`: a pair that matched no longer does."""

    match_id: Text
    consultant_id: EntityId
    assignment_id: EntityId
    assignment: AssignmentSummary | None = None
    reason: WithdrawalReason

    @property
    def entity_id(self) -> str:
        return self.consultant_id
