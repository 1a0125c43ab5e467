"""What the consultant's page shows and what an answer link proposes (standard library only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from koppel.vocabulary import Answer, DeclineReason

CURRENT_KINDS = ("match.found", "match.updated")
"""A match whose latest event is one of these is still open, so the page lists it."""


@dataclass(frozen=True)
class AnswerLink:
    """An answer link in an email: this consultant proposes this answer to this match."""

    consultant_id: str
    match_id: str
    answer: Answer


@dataclass(frozen=True)
class GivenAnswer:
    """The consultant's current answer to one match."""

    response: Answer
    reason: DeclineReason | None
    note: str | None
    responded_at: datetime


@dataclass(frozen=True)
class CurrentMatch:
    """An open match the consultant was told about; `payload` is its latest found/updated data."""

    match_id: str
    assignment_id: str
    payload: dict[str, Any]
    occurred_at: datetime
    answer: GivenAnswer | None = None


@dataclass(frozen=True)
class PageContact:
    """Who the page is for, as far as the page needs to know."""

    consultant_id: str
    language: str
