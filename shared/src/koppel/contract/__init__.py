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
    MatchUpdated,
    MatchWithdrawn,
    OrganizationSummary,
    match_id_for,
)
from koppel.contract.notification import NotificationDelivered, NotificationFailed
from koppel.contract.response import MatchResponded, MatchResponseWithdrawn, ResponseCommand

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
    "MatchResponded",
    "MatchResponseWithdrawn",
    "MatchUpdated",
    "MatchWithdrawn",
    "NotificationDelivered",
    "NotificationFailed",
    "NotificationPreferences",
    "Organization",
    "OrganizationSummary",
    "ResponseCommand",
    "match_id_for",
]
