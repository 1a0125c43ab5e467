"""How soon a match must be acted on, in the consultant's words (nl/en): the urgency mark
of a fast start (contract §8.5) and the closing date, the same in emails and on the page."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from koppel.labels import long_date
from koppel_notifier.domain.digest_schedule import AMSTERDAM

_URGENT_MARK = {"nl": "[Snelle start]", "en": "[Fast start]"}
"""Opens the subject of an urgent match's email, so it stands out in an inbox."""


def urgent_subject(subject: str, language: str) -> str:
    """`subject` with the urgency mark in front."""
    return f"{_URGENT_MARK.get(language, _URGENT_MARK['nl'])} {subject}"


def closing_date(assignment: Mapping[str, Any], language: str) -> str | None:
    """The last day applications are open (Amsterdam time) as a long date, or None.

    A consultant reads the day, as with the start date; the hour is the client's business.
    `closes_at` is the first moment the assignment is closed, so one closing at midnight
    was open through the day before: that day is shown.
    """
    closes_at = assignment.get("closes_at")
    if not closes_at:
        return None
    last_open = datetime.fromisoformat(closes_at) - timedelta(microseconds=1)
    return long_date(last_open.astimezone(AMSTERDAM).date(), language)
