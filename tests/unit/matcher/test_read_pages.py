"""The read API's page cursors and language negotiation (`entrypoints/pages.py`)."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from koppel.contract.common import ID_PATTERN
from koppel.http_problems import InvalidFieldError
from koppel.vocabulary import Language
from koppel_matcher.adapters.match_queries import After
from koppel_matcher.entrypoints.pages import decode_cursor, encode_cursor, negotiated_language


@given(
    score=st.floats(min_value=0, max_value=1),
    key=st.from_regex(ID_PATTERN, fullmatch=True),
)
def test_a_cursor_brings_back_exactly_the_position_it_was_made_of(score: float, key: str) -> None:
    cursor = encode_cursor(After(score=score, key=key))

    assert decode_cursor(cursor) == After(score=score, key=key)
    assert cursor.isascii()
    assert "=" not in cursor


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not base64 at all!",
        base64.urlsafe_b64encode(b"{not json").decode(),
        base64.urlsafe_b64encode(b'{"score": 0.5}').decode(),
        base64.urlsafe_b64encode(b'["0.5", "C-1"]').decode(),
        base64.urlsafe_b64encode(b"[0.5, 7]").decode(),
        base64.urlsafe_b64encode(b'[true, "C-1"]').decode(),
        base64.urlsafe_b64encode(b'[NaN, "C-1"]').decode(),
        base64.urlsafe_b64encode(b'[0.5, "C-1", 3]').decode(),
        base64.urlsafe_b64encode(b"[" * 100_000).decode(),
    ],
)
def test_a_cursor_that_is_not_ours_is_refused_naming_the_parameter(cursor: str) -> None:
    with pytest.raises(InvalidFieldError) as refused:
        decode_cursor(cursor)
    assert refused.value.field == "query.cursor"


@pytest.mark.parametrize(
    ("explicit", "header", "expected"),
    [
        (None, None, Language.NL),
        (None, "", Language.NL),
        (None, "en", Language.EN),
        (None, "en-GB,en;q=0.9", Language.EN),
        (None, "de-DE,de;q=0.9,en;q=0.5,nl;q=0.4", Language.EN),
        (None, "nl;q=0.3, en;q=0.8", Language.EN),
        (None, "en;q=0, nl", Language.NL),
        (None, "fr, de", Language.NL),
        (None, "EN-us", Language.EN),
        (None, "en;q=oops, nl-BE", Language.NL),
        (Language.NL, "en", Language.NL),
        (Language.EN, None, Language.EN),
    ],
)
def test_the_language_is_the_query_then_accept_language_then_dutch(
    explicit: Language | None, header: str | None, expected: Language
) -> None:
    assert negotiated_language(explicit, header) is expected
