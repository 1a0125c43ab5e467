"""Cursors of the read API's pages, and the language a caller asks for.

A cursor is opaque to callers: base64url of the sort key of a page's last match (its score
and the other side's id). It carries no secret and grants nothing, since every page needs
the bearer token anyway; a cursor that does not decode is a 422 naming `query.cursor`.
"""

from __future__ import annotations

import base64
import binascii
import json
import math

from koppel.http_problems import InvalidFieldError, invalid_field
from koppel.vocabulary import Language
from koppel_matcher.adapters.match_queries import After

CURSOR_FIELD = "query.cursor"


def encode_cursor(after: After) -> str:
    raw = json.dumps([after.score, after.key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> After:
    """The position `cursor` names; `InvalidFieldError` when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        score, key = json.loads(raw)
    except (binascii.Error, ValueError, TypeError, RecursionError):
        raise _not_a_cursor() from None
    valid = (
        isinstance(score, int | float)
        and not isinstance(score, bool)
        and math.isfinite(score)
        and isinstance(key, str)
    )
    if not valid:
        raise _not_a_cursor()
    return After(score=float(score), key=key)


def negotiated_language(explicit: Language | None, accept_language: str | None) -> Language:
    """`?language=` when given; else the first supported tag of `Accept-Language` by
    quality (RFC 9110 §12.5.4; `en-GB` counts as `en`); else Dutch, the contract's default."""
    if explicit is not None:
        return explicit
    ranked: list[tuple[float, int, Language]] = []
    for position, item in enumerate((accept_language or "").split(",")):
        tag, _, parameters = item.strip().partition(";")
        primary = tag.strip().split("-")[0].lower()
        quality = 1.0
        name, _, value = parameters.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value)
            except ValueError:
                continue
        if quality > 0 and primary in {language.value for language in Language}:
            ranked.append((-quality, position, Language(primary)))
    return min(ranked)[2] if ranked else Language.NL


def _not_a_cursor() -> InvalidFieldError:
    return invalid_field(CURSOR_FIELD, "not a cursor of this API", type_="value_error")
