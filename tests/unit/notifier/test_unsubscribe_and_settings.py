from __future__ import annotations

import pytest
from pydantic import ValidationError

from koppel_notifier.adapters.unsubscribe_tokens import InvalidToken, UnsubscribeTokens
from koppel_notifier.settings import Settings


def test_tokens_round_trip_and_resist_tampering() -> None:
    tokens = UnsubscribeTokens("a-long-enough-test-secret")
    token = tokens.issue("c-42")
    assert tokens.consultant_of(token) == "c-42"
    with pytest.raises(InvalidToken):
        tokens.consultant_of(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    with pytest.raises(InvalidToken):
        UnsubscribeTokens("another-long-test-secret").consultant_of(token)
    with pytest.raises(InvalidToken):
        tokens.consultant_of("garbage")


def test_placeholder_secret_is_refused_outside_development() -> None:
    with pytest.raises(ValidationError, match="NOTIFIER_UNSUBSCRIBE_SECRET"):
        Settings(KOPPEL_ENVIRONMENT="production")
    with pytest.raises(ValidationError, match="NOTIFIER_UNSUBSCRIBE_SECRET"):
        Settings(KOPPEL_ENVIRONMENT="production", NOTIFIER_UNSUBSCRIBE_SECRET="changeme")
    settings = Settings(KOPPEL_ENVIRONMENT="production", NOTIFIER_UNSUBSCRIBE_SECRET="x" * 32)
    assert settings.unsubscribe_secret.get_secret_value() == "x" * 32


def test_defaults_and_schedule_validation() -> None:
    settings = Settings()
    assert settings.digest_hour == 8
    assert settings.allow_private_targets is False
    assert settings.retry_delays[:3] == (0, 5, 300)
    with pytest.raises(ValidationError, match="retry schedule"):
        Settings(NOTIFIER_RETRY_SCHEDULE="soon")
