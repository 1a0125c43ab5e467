"""The wire models of DOMAIN.md: entities, commands and event payloads."""

from koppel.contract.assignment import (
    Assignment,
    AssignmentClose,
    AssignmentClosed,
    ConsultantErasure,
    Organization,
)
from koppel.contract.common import EntityId, EventData, HoursPerWeek, Location
from koppel.contract.consultant import ConsultantProfile, NotificationPreferences
from koppel.contract.match import (
    AssignmentSummary,
    LocationSummary,
    MatchFound,
    MatchWithdrawn,
    OrganizationSummary,
    match_id_for,
)
from koppel.contract.notification import NotificationDelivered, NotificationFailed

__all__ = [
    "Assignment",
    "AssignmentClose",
    "AssignmentClosed",
    "AssignmentSummary",
    "ConsultantErasure",
    "ConsultantProfile",
    "EntityId",
    "EventData",
    "HoursPerWeek",
    "Location",
    "LocationSummary",
    "MatchFound",
    "MatchWithdrawn",
    "NotificationDelivered",
    "NotificationFailed",
    "NotificationPreferences",
    "Organization",
    "OrganizationSummary",
    "match_id_for",
]
