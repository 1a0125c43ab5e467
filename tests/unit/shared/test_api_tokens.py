"""API tokens: parsing a `name:token` list and identifying callers."""

from __future__ import annotations

import pytest

from koppel.api_tokens import ApiTokens, TokenConfigError


def test_pairs_are_parsed_and_callers_identified_by_name() -> None:
    tokens = ApiTokens.parse(" crm:abc123 , ats:def:456,, ")

    assert tokens.names == ("crm", "ats")
    assert tokens.identify("abc123") == "crm"
    assert tokens.identify("def:456") == "ats"
    assert tokens.identify("abc12") is None
    assert tokens.identify("") is None


def test_empty_configuration_identifies_nobody() -> None:
    assert ApiTokens.parse("").identify("anything") is None


@pytest.mark.parametrize("spec", ["justatoken", "crm:", ":token", "a:1,a:2"])
def test_malformed_configuration_is_refused_without_echoing_tokens(spec: str) -> None:
    with pytest.raises(TokenConfigError) as raised:
        ApiTokens.parse(spec)

    assert "justatoken" not in str(raised.value)
    assert "token" not in str(raised.value).replace("name:token", "")


def test_repr_never_shows_tokens() -> None:
    assert "abc123" not in repr(ApiTokens.parse("crm:abc123"))
