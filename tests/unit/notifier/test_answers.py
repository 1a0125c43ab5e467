"""Answering on the page: stored and queued together, only for the consultant's open match."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import pytest

from koppel.contract.response import MatchResponded, MatchResponseWithdrawn, ResponseCommand
from koppel.vocabulary import Answer, AnswerVia, DeclineReason
from koppel_notifier.domain.answers import CurrentMatch, GivenAnswer
from koppel_notifier.service_layer.answers import Outcome, answer, take_back

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
OPEN = CurrentMatch("m-1", "a-1", {"match_id": "m-1"}, datetime(2026, 3, 1, tzinfo=UTC))


@dataclass
class FakeAnswers:
    """Open matches by (consultant, match); what a committed transaction stored and queued."""

    open: dict[tuple[str, str], CurrentMatch] = field(default_factory=dict)
    queued: list[MatchResponded | MatchResponseWithdrawn] = field(default_factory=list)
    transactions: int = 0

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[FakeAnswers]:
        self.transactions += 1
        yield self

    async def current_match(self, consultant_id: str, match_id: str) -> CurrentMatch | None:
        return self.open.get((consultant_id, match_id))

    async def answered(self, answer: MatchResponded) -> None:
        self.queued.append(answer)
        key = (answer.consultant_id, answer.match_id)
        given = GivenAnswer(answer.response, answer.reason, answer.note, answer.responded_at)
        self.open[key] = replace(self.open[key], answer=given)

    async def taken_back(self, withdrawal: MatchResponseWithdrawn) -> None:
        self.queued.append(withdrawal)
        key = (withdrawal.consultant_id, withdrawal.match_id)
        self.open[key] = replace(self.open[key], answer=None)


def declined() -> ResponseCommand:
    return ResponseCommand(
        consultant_id="c-1",
        response=Answer.NOT_INTERESTED,
        reason=DeclineReason.HOURS,
        note="Liever 24 uur",
    )


async def test_an_answer_to_an_open_match_is_stored_with_its_event() -> None:
    answers = FakeAnswers(open={("c-1", "m-1"): OPEN})

    outcome = await answer(answers, "m-1", declined(), via=AnswerVia.PAGE, at=AT)

    assert outcome is Outcome.ANSWERED
    assert answers.queued == [
        MatchResponded(
            match_id="m-1",
            consultant_id="c-1",
            assignment_id="a-1",
            response=Answer.NOT_INTERESTED,
            reason=DeclineReason.HOURS,
            note="Liever 24 uur",
            responded_at=AT,
            via=AnswerVia.PAGE,
        )
    ]


@pytest.mark.parametrize(("consultant", "match"), [("c-1", "m-1"), ("c-2", "m-9")])
async def test_another_consultants_match_or_a_closed_one_is_not_answered(
    consultant: str, match: str
) -> None:
    answers = FakeAnswers(open={("c-2", "m-1"): OPEN})
    command = declined().model_copy(update={"consultant_id": consultant})

    outcome = await answer(answers, match, command, via=AnswerVia.EMAIL_LINK, at=AT)

    assert outcome is Outcome.CLOSED
    assert answers.queued == []


async def test_taking_back_publishes_a_withdrawal_only_when_there_is_an_answer() -> None:
    answers = FakeAnswers(open={("c-1", "m-1"): OPEN})

    assert await take_back(answers, "c-1", "m-1", via=AnswerVia.PAGE, at=AT) is Outcome.TAKEN_BACK
    assert answers.queued == []

    await answer(answers, "m-1", declined(), via=AnswerVia.PAGE, at=AT)
    later = AT.replace(minute=31)
    assert (
        await take_back(answers, "c-1", "m-1", via=AnswerVia.PAGE, at=later) is Outcome.TAKEN_BACK
    )
    assert answers.queued[-1] == MatchResponseWithdrawn(
        match_id="m-1",
        consultant_id="c-1",
        assignment_id="a-1",
        withdrawn_at=later,
        via=AnswerVia.PAGE,
    )
    assert answers.open[("c-1", "m-1")].answer is None
