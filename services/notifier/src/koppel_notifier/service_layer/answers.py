"""Use cases of the consultant's page: answer a match, take an answer back.

Each runs in one transaction that stores the answer (so the page shows it at once) and
queues its event in the outbox, which the relay publishes on koppel.responses.v1: the
answer is published if and only if it was stored. The event comes back through the
consumer, where the same `responded_at` makes storing it again change nothing.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from koppel.contract.response import MatchResponseWithdrawn, ResponseCommand
from koppel.vocabulary import AnswerVia
from koppel_notifier.service_layer.ports import Answers


class Outcome(StrEnum):
    """What an answer came to; the page says it in words."""

    ANSWERED = "answered"
    TAKEN_BACK = "taken_back"
    CLOSED = "closed"
    """The match is no longer open (or not the consultant's): nothing was stored."""


async def answer(
    answers: Answers, match_id: str, command: ResponseCommand, *, via: AnswerVia, at: datetime
) -> Outcome:
    """Record `command` as the consultant's answer to the match if it is theirs and open."""
    async with answers.transaction() as book:
        match = await book.current_match(command.consultant_id, match_id)
        if match is None:
            return Outcome.CLOSED
        await book.answered(
            command.responded(
                match_id=match.match_id, assignment_id=match.assignment_id, at=at, via=via
            )
        )
    return Outcome.ANSWERED


async def take_back(
    answers: Answers, consultant_id: str, match_id: str, *, via: AnswerVia, at: datetime
) -> Outcome:
    """Withdraw the consultant's answer to the match; unanswered, nothing is published."""
    async with answers.transaction() as book:
        match = await book.current_match(consultant_id, match_id)
        if match is None:
            return Outcome.CLOSED
        if match.answer is None:
            return Outcome.TAKEN_BACK
        await book.taken_back(
            MatchResponseWithdrawn(
                match_id=match.match_id,
                consultant_id=consultant_id,
                assignment_id=match.assignment_id,
                withdrawn_at=at,
                via=via,
            )
        )
    return Outcome.TAKEN_BACK
