"""Signed, non-expiring unsubscribe tokens (itsdangerous): a link in an old email still works."""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer

_SALT = "koppel.notifier.unsubscribe.v1"


class InvalidToken(Exception):  # noqa: N818 - reads as "the token is invalid"
    """The token was not issued by us (or was altered)."""


class UnsubscribeTokens:
    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeSerializer(secret, salt=_SALT)

    def issue(self, consultant_id: str) -> str:
        return str(self._serializer.dumps({"c": consultant_id}))

    def consultant_of(self, token: str) -> str:
        """The consultant id in `token`; raises `InvalidToken` if the signature does not hold."""
        try:
            document = self._serializer.loads(token)
        except BadSignature as exc:
            raise InvalidToken("unsubscribe token is not valid") from exc
        if not isinstance(document, dict) or not isinstance(document.get("c"), str):
            raise InvalidToken("unsubscribe token is not valid")
        consultant_id: str = document["c"]
        return consultant_id
