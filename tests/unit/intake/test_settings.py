"""Intake settings from the environment, and refusing a malformed token list at start."""

from __future__ import annotations

import pytest

from koppel_intake.bootstrap import build_app
from koppel_intake.domain.tokens import TokenConfigError
from koppel_intake.settings import Settings


def test_defaults_follow_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("INTAKE_PORT", "PORT", "INTAKE_API_TOKENS", "KAFKA_BOOTSTRAP_SERVERS"):
        monkeypatch.delenv(name, raising=False)

    settings = Settings()

    assert settings.port == 8000
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.raw_consumer_group == "koppel-intake"
    assert settings.kafka_bootstrap_servers == "127.0.0.1:9092"


@pytest.mark.parametrize(("name", "value"), [("INTAKE_PORT", "8100"), ("PORT", "8100")])
def test_port_comes_from_intake_port_or_port(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.delenv("INTAKE_PORT", raising=False)
    monkeypatch.delenv("PORT", raising=False)
    monkeypatch.setenv(name, value)

    assert Settings().port == 8100


def test_tokens_never_show_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_API_TOKENS", "crm:very-secret-value")

    assert "very-secret-value" not in repr(Settings())


def test_malformed_token_list_stops_the_start() -> None:
    settings = Settings(INTAKE_API_TOKENS="crm-without-separator")

    with pytest.raises(TokenConfigError):
        build_app(settings)
