"""Intake settings from the environment, and refusing a malformed or weak token list at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from koppel.settings import settings_from_environment
from koppel_intake.settings import Settings

STRONG = "Vq3xT9kLm2Rz7Hc4Wd8Np1Bs6Gf5Yj0Ae"


MATCHER_TOKEN = "Hc4Wd8Np1Bs6Gf5Yj0AeVq3xT9kLm2Rz7"


@pytest.fixture(autouse=True)
def _no_tokens_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    """No token of the shell's; the matcher token is a strong one unless a test says not."""
    for name in (
        "INTAKE_API_TOKENS",
        "INTAKE_API_TOKENS_FILE",
        "INTAKE_MATCHER_API_TOKEN_FILE",
        "INTAKE_MATCHER_URL",
        "KOPPEL_ENVIRONMENT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INTAKE_MATCHER_API_TOKEN", MATCHER_TOKEN)


def test_defaults_follow_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("INTAKE_PORT", "PORT", "KAFKA_BOOTSTRAP_SERVERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KOPPEL_ENVIRONMENT", "development")

    settings = Settings()

    assert settings.port == 8000
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.raw_consumer_group == "koppel-intake"
    assert settings.kafka_bootstrap_servers == "127.0.0.1:9092"
    assert settings.callers().identify("demo-token") == "demo"


@pytest.mark.parametrize(("name", "value"), [("INTAKE_PORT", "8100"), ("PORT", "8100")])
def test_port_comes_from_intake_port_or_port(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.delenv("INTAKE_PORT", raising=False)
    monkeypatch.delenv("PORT", raising=False)
    monkeypatch.setenv(name, value)
    monkeypatch.setenv("INTAKE_API_TOKENS", f"crm:{STRONG}")

    assert Settings().port == 8100


def test_tokens_never_show_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_API_TOKENS", f"crm:very-secret-value-{STRONG}")

    assert "very-secret-value" not in repr(Settings())


def _refusal(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exited:
        settings_from_environment(Settings, "koppel-intake")
    return str(exited.value.code)


def test_malformed_token_list_stops_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    message = _refusal(monkeypatch, INTAKE_API_TOKENS="crm-without-separator")
    assert message == (
        "koppel-intake: invalid configuration: "
        "INTAKE_API_TOKENS entry 1 is not of the form name:token"
    )


@pytest.mark.parametrize(
    ("tokens", "complaint"),
    [
        (None, "INTAKE_API_TOKENS (or INTAKE_API_TOKENS_FILE) must be set"),
        ("", "INTAKE_API_TOKENS is empty"),
        ("demo:demo-token", "the token of 'demo' is a published value"),
        ("dev:change-me-dev-token", "the token of 'dev' is a placeholder"),
        (f"crm:{STRONG},ats:0123456789abcdef", "the token of 'ats' is shorter than 32 bytes"),
    ],
)
def test_production_refuses_a_weak_or_missing_token_list(
    monkeypatch: pytest.MonkeyPatch, tokens: str | None, complaint: str
) -> None:
    """Production is the default: nothing set means nothing accepted, not a demo token."""
    env = {} if tokens is None else {"INTAKE_API_TOKENS": tokens}
    message = _refusal(monkeypatch, **env)
    assert message.startswith("koppel-intake: invalid configuration: ")
    assert complaint in message
    assert "\n" not in message
    assert "0123456789abcdef" not in message


def test_production_takes_strong_tokens_from_the_variable_or_a_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("INTAKE_API_TOKENS", f"crm:{STRONG}")
    assert Settings().callers().identify(STRONG) == "crm"
    monkeypatch.delenv("INTAKE_API_TOKENS")
    path = tmp_path / "tokens"
    path.write_text(f"ats:{STRONG}\n", encoding="utf-8")
    monkeypatch.setenv("INTAKE_API_TOKENS_FILE", str(path))
    assert Settings().callers().identify(STRONG) == "ats"


def test_development_accepts_the_demo_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOPPEL_ENVIRONMENT", "development")
    monkeypatch.setenv("INTAKE_API_TOKENS", "dev:change-me-dev-token")
    assert Settings().callers().identify("change-me-dev-token") == "dev"


def test_the_matcher_is_asked_on_its_local_port_with_the_development_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KOPPEL_ENVIRONMENT", "development")
    monkeypatch.delenv("INTAKE_MATCHER_API_TOKEN")

    settings = Settings()

    assert str(settings.matcher_url) == "http://127.0.0.1:8001/"
    assert settings.matcher_token() == "demo-matcher-token"
    assert settings.matcher_timeout_seconds == 5


@pytest.mark.parametrize(
    ("token", "complaint"),
    [
        (None, "INTAKE_MATCHER_API_TOKEN (or INTAKE_MATCHER_API_TOKEN_FILE) must be set"),
        ("demo-matcher-token", "INTAKE_MATCHER_API_TOKEN is a published value"),
        ("change-me-dev-matcher-token", "INTAKE_MATCHER_API_TOKEN is a placeholder"),
        ("0123456789abcdef", "INTAKE_MATCHER_API_TOKEN is shorter than 32 bytes"),
    ],
)
def test_production_refuses_a_weak_or_missing_matcher_token(
    monkeypatch: pytest.MonkeyPatch, token: str | None, complaint: str
) -> None:
    monkeypatch.delenv("INTAKE_MATCHER_API_TOKEN")
    env = {"INTAKE_API_TOKENS": f"crm:{STRONG}"}
    if token is not None:
        env["INTAKE_MATCHER_API_TOKEN"] = token
    message = _refusal(monkeypatch, **env)
    assert complaint in message
    assert "0123456789abcdef" not in message


def test_the_matcher_token_comes_from_the_variable_or_a_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("INTAKE_API_TOKENS", f"crm:{STRONG}")
    monkeypatch.setenv("INTAKE_MATCHER_URL", "https://matcher.koppel.internal:8443")
    assert Settings().matcher_token() == MATCHER_TOKEN
    assert str(Settings().matcher_url) == "https://matcher.koppel.internal:8443/"
    assert MATCHER_TOKEN not in repr(Settings())
    monkeypatch.delenv("INTAKE_MATCHER_API_TOKEN")
    path = tmp_path / "matcher-token"
    path.write_text(f"{STRONG}\n", encoding="utf-8")
    monkeypatch.setenv("INTAKE_MATCHER_API_TOKEN_FILE", str(path))
    assert Settings().matcher_token() == STRONG
    monkeypatch.setenv("INTAKE_MATCHER_API_TOKEN", MATCHER_TOKEN)
    assert "not both" in _refusal(monkeypatch)


def test_a_matcher_url_that_is_no_http_url_stops_the_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message = _refusal(
        monkeypatch, INTAKE_API_TOKENS=f"crm:{STRONG}", INTAKE_MATCHER_URL="matcher:8001"
    )
    assert "INTAKE_MATCHER_URL" in message
