"""The answer in force for a pair: the latest answer wins, a withdrawal takes back an older one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from koppel.vocabulary import Answer
from koppel_matcher.domain.answers import (
    StoredAnswer,
    answer_after_response,
    answer_after_withdrawal,
    suppresses,
)

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def answer(response: Answer, at: datetime = T0, reason: str | None = None) -> StoredAnswer:
    return StoredAnswer(
        consultant_id="c-1",
        assignment_id="a-1",
        match_id="m-1",
        response=response,
        reason=reason,
        responded_at=at,
    )


def test_a_first_answer_is_kept() -> None:
    first = answer(Answer.NOT_INTERESTED, reason="hours")
    assert answer_after_response(None, first) is first


def test_a_later_answer_replaces_the_one_in_force() -> None:
    earlier = answer(Answer.NOT_INTERESTED)
    later = answer(Answer.INTERESTED, T0 + timedelta(seconds=1))
    assert answer_after_response(earlier, later) is later


def test_an_older_answer_read_late_changes_nothing() -> None:
    later = answer(Answer.INTERESTED, T0 + timedelta(seconds=1))
    assert answer_after_response(later, answer(Answer.NOT_INTERESTED)) is later


def test_the_same_answer_read_again_is_kept() -> None:
    first = answer(Answer.NOT_INTERESTED)
    again = answer(Answer.NOT_INTERESTED)
    assert answer_after_response(first, again) == first


@pytest.mark.parametrize("delay", [timedelta(0), timedelta(minutes=5)])
def test_a_withdrawal_at_or_after_the_answer_takes_it_back(delay: timedelta) -> None:
    assert answer_after_withdrawal(answer(Answer.NOT_INTERESTED), T0 + delay) is None


def test_a_withdrawal_older_than_the_answer_in_force_changes_nothing() -> None:
    later = answer(Answer.NOT_INTERESTED, T0 + timedelta(minutes=1))
    assert answer_after_withdrawal(later, T0) is later


def test_a_withdrawal_without_an_answer_leaves_none() -> None:
    assert answer_after_withdrawal(None, T0) is None


def test_only_not_interested_suppresses() -> None:
    assert suppresses(answer(Answer.NOT_INTERESTED))
    assert not suppresses(answer(Answer.INTERESTED))
    assert not suppresses(None)
