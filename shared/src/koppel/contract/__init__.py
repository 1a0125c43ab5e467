"""The wire models of DOMAIN.md: entities, commands and event payloads."""

from koppel.contract.assignment import (
    Assignment,
    AssignmentClose,
    AssignmentClosed,
    ConsultantErasure,
    Organization,
)
from koppel.contract.common import EntityId, EventData, HoursPerWeek, Location
from koppel.contract.consultant import Commitment, ConsultantProfile, NotificationPreferences
from koppel.contract.match import (
    URGENT_WITHIN,
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
    "URGENT_WITHIN",
    "Assignment",
    "AssignmentClose",
    "AssignmentClosed",
    "AssignmentSummary",
    "Commitment",
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
