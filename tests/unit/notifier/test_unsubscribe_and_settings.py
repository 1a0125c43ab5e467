from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from koppel.secret_policy import DEVELOPMENT_DEFAULTS
from koppel_notifier.adapters.unsubscribe_tokens import InvalidToken, UnsubscribeTokens
from koppel_notifier.settings import Settings
from koppel_testing.configuration import PRODUCTION_DATABASE_URL, start_refusal
from koppel_testing.configuration import STRONG_SECRET as STRONG


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


@pytest.fixture(autouse=True)
def _no_secret_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "KOPPEL_ENVIRONMENT",
        "NOTIFIER_UNSUBSCRIBE_SECRET",
        "NOTIFIER_UNSUBSCRIBE_SECRET_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", PRODUCTION_DATABASE_URL)


@pytest.mark.parametrize(
    ("secret", "complaint"),
    [
        (None, "NOTIFIER_UNSUBSCRIBE_SECRET (or NOTIFIER_UNSUBSCRIBE_SECRET_FILE) must be set"),
        ("changeme", "NOTIFIER_UNSUBSCRIBE_SECRET is a placeholder"),
        ("dev-unsubscribe-secret-change-me", "NOTIFIER_UNSUBSCRIBE_SECRET is a placeholder"),
        ("development-unsubscribe-secret", "NOTIFIER_UNSUBSCRIBE_SECRET is a published value"),
        ("dev-only-local-unsubscribe-secret", "NOTIFIER_UNSUBSCRIBE_SECRET is a published value"),
        ("0123456789abcdef0123456789abcde", "NOTIFIER_UNSUBSCRIBE_SECRET is shorter than 32 bytes"),
    ],
)
def test_production_is_the_default_and_refuses_a_weak_or_missing_secret(
    monkeypatch: pytest.MonkeyPatch, secret: str | None, complaint: str
) -> None:
    """Nothing set used to mean the published development secret signed the links."""
    if secret is not None:
        monkeypatch.setenv("NOTIFIER_UNSUBSCRIBE_SECRET", secret)
    message = start_refusal(Settings, "koppel-notifier")
    assert message.startswith(f"koppel-notifier: invalid configuration: {complaint}")
    assert "0123456789abcdef" not in message


def test_production_takes_a_strong_secret_from_the_variable_or_a_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert Settings(NOTIFIER_UNSUBSCRIBE_SECRET=STRONG).unsubscribe_key() == STRONG
    path = tmp_path / "secret"
    path.write_text(STRONG, encoding="utf-8")
    monkeypatch.setenv("NOTIFIER_UNSUBSCRIBE_SECRET_FILE", str(path))
    assert Settings().unsubscribe_key() == STRONG


def test_development_uses_the_documented_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOPPEL_ENVIRONMENT", "development")
    assert Settings().unsubscribe_key() == DEVELOPMENT_DEFAULTS["NOTIFIER_UNSUBSCRIBE_SECRET"]
    assert Settings(NOTIFIER_UNSUBSCRIBE_SECRET="changeme").unsubscribe_key() == "changeme"


def test_defaults_and_schedule_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOPPEL_ENVIRONMENT", "development")
    settings = Settings()
    assert settings.digest_hour == 8
    assert settings.allow_private_targets is False
    assert settings.retry_delays[:3] == (0, 5, 300)
    with pytest.raises(ValidationError, match="retry schedule"):
        Settings(NOTIFIER_RETRY_SCHEDULE="soon")
