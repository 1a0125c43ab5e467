"""CloudEvents `type` values of DOMAIN.md section 4 and the payload model of each."""

from __future__ import annotations

from enum import StrEnum

from koppel.contract import (
    Assignment,
    AssignmentClosed,
    ConsultantErasure,
    ConsultantProfile,
    MatchFound,
    MatchResponded,
    MatchResponseWithdrawn,
    MatchUpdated,
    MatchWithdrawn,
    NotificationDelivered,
    NotificationFailed,
)
from koppel.contract.common import EventData


class EventType(StrEnum):
    ASSIGNMENT_UPSERTED = "nl.koppel.assignment.upserted"
    ASSIGNMENT_CLOSED = "nl.koppel.assignment.closed"
    CONSULTANT_UPSERTED = "nl.koppel.consultant.upserted"
    CONSULTANT_ERASED = "nl.koppel.consultant.erased"
    MATCH_FOUND = "nl.koppel.match.found"
    MATCH_UPDATED = "nl.koppel.match.updated"
    MATCH_WITHDRAWN = "nl.koppel.match.withdrawn"
    MATCH_RESPONDED = "nl.koppel.match.responded"
    MATCH_RESPONSE_WITHDRAWN = "nl.koppel.match.response_withdrawn"
    NOTIFICATION_DELIVERED = "nl.koppel.notification.delivered"
    NOTIFICATION_FAILED = "nl.koppel.notification.failed"


PAYLOADS: dict[EventType, type[EventData]] = {
    EventType.ASSIGNMENT_UPSERTED: Assignment,
    EventType.ASSIGNMENT_CLOSED: AssignmentClosed,
    EventType.CONSULTANT_UPSERTED: ConsultantProfile,
    EventType.CONSULTANT_ERASED: ConsultantErasure,
    EventType.MATCH_FOUND: MatchFound,
    EventType.MATCH_UPDATED: MatchUpdated,
    EventType.MATCH_WITHDRAWN: MatchWithdrawn,
    EventType.MATCH_RESPONDED: MatchResponded,
    EventType.MATCH_RESPONSE_WITHDRAWN: MatchResponseWithdrawn,
    EventType.NOTIFICATION_DELIVERED: NotificationDelivered,
    EventType.NOTIFICATION_FAILED: NotificationFailed,
}


class Source(StrEnum):
    """CloudEvents `source` of each producing service."""

    INTAKE = "/koppel/intake"
    MATCHER = "/koppel/matcher"
    NOTIFIER = "/koppel/notifier"
