"""The matcher's read API tokens: required and strong in production (the default)."""

from __future__ import annotations

import pytest

from koppel_matcher.settings import Settings as MatcherSettings
from koppel_testing.configuration import PRODUCTION_DATABASE_URL, start_refusal
from koppel_testing.configuration import STRONG_SECRET as STRONG


@pytest.fixture(autouse=True)
def _no_tokens_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KOPPEL_ENVIRONMENT", "MATCHER_API_TOKENS", "MATCHER_API_TOKENS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", PRODUCTION_DATABASE_URL)


@pytest.mark.parametrize(
    ("tokens", "complaint"),
    [
        (None, "MATCHER_API_TOKENS (or MATCHER_API_TOKENS_FILE) must be set"),
        (" ", "MATCHER_API_TOKENS is empty"),
        ("demo:demo-matcher-token", "MATCHER_API_TOKENS: the token of 'demo' is a published"),
        ("ops:placeholder", "MATCHER_API_TOKENS: the token of 'ops' is a placeholder"),
        ("ops:0123456789abcdef", "MATCHER_API_TOKENS: the token of 'ops' is shorter than 32"),
        ("0123456789abcdef", "MATCHER_API_TOKENS entry 1 is not of the form name:token"),
    ],
)
def test_production_refuses_missing_malformed_or_weak_tokens(
    monkeypatch: pytest.MonkeyPatch, tokens: str | None, complaint: str
) -> None:
    if tokens is not None:
        monkeypatch.setenv("MATCHER_API_TOKENS", tokens)
    message = start_refusal(MatcherSettings, "koppel-matcher")
    assert message.startswith(f"koppel-matcher: invalid configuration: {complaint}")
    assert "0123456789abcdef" not in message
    assert "\n" not in message


def test_production_accepts_strong_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MATCHER_API_TOKENS", f"ops:{STRONG}")
    assert MatcherSettings().callers().authenticate(f"Bearer {STRONG}") == "ops"


def test_development_falls_back_to_the_documented_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOPPEL_ENVIRONMENT", "development")
    assert MatcherSettings().callers().identify("demo-matcher-token") == "demo"


@pytest.mark.parametrize(
    ("environment", "migrates"),
    [
        ({}, True),
        ({"MATCHER_MIGRATE_ON_START": "false"}, False),
        ({"MATCHER_AUTO_MIGRATE": "false"}, False),
        ({"MATCHER_MIGRATE_ON_START": "true", "MATCHER_AUTO_MIGRATE": "false"}, True),
    ],
)
def test_migrate_on_start_like_the_notifier_and_under_its_former_name(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], migrates: bool
) -> None:
    monkeypatch.setenv("KOPPEL_ENVIRONMENT", "development")
    for name in ("MATCHER_MIGRATE_ON_START", "MATCHER_AUTO_MIGRATE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert MatcherSettings().migrate_on_start is migrates
