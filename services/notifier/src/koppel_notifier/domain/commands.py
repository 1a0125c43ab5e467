"""What a consumed record asks the notifier to do, in the notifier's own terms.

The Kafka consumer translates each record into one of these; `service_layer.inbox`
handles them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from koppel.contract.response import MatchResponded, MatchResponseWithdrawn
from koppel_notifier.domain.model import Contact, MatchNotice


@dataclass(frozen=True)
class ProfileChanged:
    contact: Contact
    mode: str
    written_at: datetime | None
    """The event's `time`: a profile written before the consultant's erasure is ignored."""


@dataclass(frozen=True)
class ConsultantErased:
    consultant_id: str
    erased_at: datetime


@dataclass(frozen=True)
class MatchEvent:
    notice: MatchNotice
    occurred_at: datetime


@dataclass(frozen=True)
class AnswerGiven:
    """A consultant answered a match (`koppel.responses.v1`); the last answer wins."""

    answer: MatchResponded


@dataclass(frozen=True)
class AnswerTakenBack:
    withdrawal: MatchResponseWithdrawn


@dataclass(frozen=True)
class Ignored:
    """A well-formed event of a type this consumer has no business with."""

    reason: str


Command = ProfileChanged | ConsultantErased | MatchEvent | AnswerGiven | AnswerTakenBack | Ignored
