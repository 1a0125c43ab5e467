"""Page and answer tokens: they name who and what, expire after 30 days, and never pass for
one another or for an unsubscribe token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from koppel.vocabulary import Answer
from koppel_notifier.adapters.link_tokens import VALID_FOR, ExpiredToken, LinkTokens
from koppel_notifier.adapters.unsubscribe_tokens import InvalidToken, UnsubscribeTokens
from koppel_notifier.domain.answers import AnswerLink

SECRET = "a-long-enough-test-secret-for-links"
ISSUED = datetime(2026, 3, 2, 9, tzinfo=UTC)


def tokens_at(moment: datetime) -> LinkTokens:
    return LinkTokens(SECRET, clock=lambda: moment)


def test_a_page_token_names_its_consultant() -> None:
    token = tokens_at(ISSUED).page("c-42")
    assert tokens_at(ISSUED + timedelta(days=29)).consultant_of(token) == "c-42"


@pytest.mark.parametrize("answer", list(Answer))
def test_an_answer_token_names_consultant_match_and_answer(answer: Answer) -> None:
    token = tokens_at(ISSUED).answer("c-42", "m-7", answer)
    assert tokens_at(ISSUED).answer_of(token) == AnswerLink("c-42", "m-7", answer)


def test_tokens_expire_after_thirty_days() -> None:
    tokens = tokens_at(ISSUED)
    page, answer = tokens.page("c-42"), tokens.answer("c-42", "m-7", Answer.INTERESTED)
    later = tokens_at(ISSUED + VALID_FOR + timedelta(seconds=2))
    with pytest.raises(ExpiredToken):
        later.consultant_of(page)
    with pytest.raises(ExpiredToken):
        later.answer_of(answer)


def test_a_forged_or_altered_token_is_refused_and_not_called_expired() -> None:
    token = tokens_at(ISSUED).page("c-42")
    altered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for forged in (altered, "garbage", LinkTokens("another-secret-of-enough-length").page("c-42")):
        with pytest.raises(InvalidToken) as refused:
            tokens_at(ISSUED).consultant_of(forged)
        assert not isinstance(refused.value, ExpiredToken)


def test_each_purpose_has_its_own_salt() -> None:
    tokens = tokens_at(ISSUED)
    unsubscribe = UnsubscribeTokens(SECRET)
    page, answer = tokens.page("c-42"), tokens.answer("c-42", "m-7", Answer.NOT_INTERESTED)
    with pytest.raises(InvalidToken):
        tokens.answer_of(page)
    with pytest.raises(InvalidToken):
        tokens.consultant_of(answer)
    with pytest.raises(InvalidToken):
        unsubscribe.consultant_of(page)
    with pytest.raises(InvalidToken):
        tokens.consultant_of(unsubscribe.issue("c-42"))


def test_each_email_gets_a_fresh_token() -> None:
    first = tokens_at(ISSUED).page("c-42")
    assert tokens_at(ISSUED + timedelta(seconds=1)).page("c-42") != first
