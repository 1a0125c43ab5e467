"""Signed tokens of the consultant's page and of the answer links in emails (itsdangerous).

Both expire after 30 days (contract §8.2), unlike unsubscribe tokens, and every email
carries fresh ones. Each purpose has its own salt, so that itsdangerous derives a distinct
key for it: a page token never passes as an answer token or an unsubscribe token, nor the
other way round, although all three are signed with the same secret (docs/security.md).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from koppel.vocabulary import Answer
from koppel_notifier.adapters.unsubscribe_tokens import InvalidToken
from koppel_notifier.domain.answers import AnswerLink

VALID_FOR = timedelta(days=30)
_PAGE_SALT = "koppel.notifier.page.v1"
_ANSWER_SALT = "koppel.notifier.answer.v1"
_ANSWER_CODES = {Answer.INTERESTED: "i", Answer.NOT_INTERESTED: "n"}


class ExpiredToken(InvalidToken):
    """The token was ours but is older than `VALID_FOR`."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class LinkTokens:
    """Issues and reads page and answer tokens; `clock` dates them and judges their age."""

    def __init__(self, secret: str, *, clock: Callable[[], datetime] = utc_now) -> None:
        signer = _signer_reading(clock)
        self._page = URLSafeTimedSerializer(secret, salt=_PAGE_SALT, signer=signer)
        self._answer = URLSafeTimedSerializer(secret, salt=_ANSWER_SALT, signer=signer)

    def page(self, consultant_id: str) -> str:
        """A token naming the consultant whose page it opens."""
        return str(self._page.dumps({"c": consultant_id}))

    def answer(self, consultant_id: str, match_id: str, answer: Answer) -> str:
        """A token naming the consultant, the match and the answer an email link proposes."""
        document = {"c": consultant_id, "m": match_id, "a": _ANSWER_CODES[answer]}
        return str(self._answer.dumps(document))

    def consultant_of(self, token: str) -> str:
        """The consultant a page token names; `InvalidToken` (or `ExpiredToken`) if not ours."""
        document = _loaded(self._page, token)
        consultant_id = document.get("c")
        if not isinstance(consultant_id, str):
            raise InvalidToken("page token is not valid")
        return consultant_id

    def answer_of(self, token: str) -> AnswerLink:
        """What an answer token proposes; `InvalidToken` (or `ExpiredToken`) if not ours."""
        document = _loaded(self._answer, token)
        consultant_id, match_id, code = document.get("c"), document.get("m"), document.get("a")
        answers = {value: answer for answer, value in _ANSWER_CODES.items()}
        if not isinstance(consultant_id, str) or not isinstance(match_id, str):
            raise InvalidToken("answer token is not valid")
        if code not in answers:
            raise InvalidToken("answer token is not valid")
        return AnswerLink(consultant_id=consultant_id, match_id=match_id, answer=answers[code])


def _loaded(serializer: URLSafeTimedSerializer, token: str) -> dict[str, Any]:
    try:
        document = serializer.loads(token, max_age=int(VALID_FOR.total_seconds()))
    except SignatureExpired as exc:
        raise ExpiredToken("link has expired") from exc
    except BadSignature as exc:
        raise InvalidToken("link is not valid") from exc
    if not isinstance(document, dict):
        raise InvalidToken("link is not valid")
    return document


def _signer_reading(clock: Callable[[], datetime]) -> type[TimestampSigner]:
    """A `TimestampSigner` that takes the time from `clock` rather than `time.time()`."""

    class ClockSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(clock().timestamp())

    return ClockSigner
