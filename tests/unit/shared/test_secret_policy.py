"""Production is the default environment, and outside development no secret anyone could
know (placeholder, published, short) is accepted; the messages never show a secret."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from pydantic import SecretStr

from koppel.api_tokens import ApiTokens, BearerRefusedError, TokenConfigError, challenge
from koppel.secret_policy import (
    DEVELOPMENT_DEFAULTS,
    Environment,
    configured_secret,
    refuse_weak_secret,
    weakness,
)
from koppel.settings import ServiceSettings, settings_from_environment

REPO = Path(__file__).resolve().parents[3]
PRODUCTION, DEVELOPMENT = Environment.PRODUCTION, Environment.DEVELOPMENT
STRONG = "Vq3xT9kLm2Rz7Hc4Wd8Np1Bs6Gf5Yj0Ae"  # 34 random-looking bytes
_COMPOSE_DEFAULT = re.compile(r"\$\{(?P<name>[A-Z_]+):-(?P<default>[^}]*)\}")
_SECRET_VARIABLES = (
    "INTAKE_API_TOKENS",
    "MATCHER_API_TOKENS",
    "INTAKE_MATCHER_API_TOKEN",
    "NOTIFIER_UNSUBSCRIBE_SECRET",
)


def _secrets_of(variable: str, value: str) -> list[str]:
    """The secrets a variable's value holds: the tokens of a token list, else the value."""
    if variable.endswith("_API_TOKENS"):
        return [entry.partition(":")[2] for entry in value.split(",") if entry]
    return [value]


def published_secrets() -> set[str]:
    """Every secret value written in the repository's compose file, manifests, README and
    local scripts: whoever read them knows these."""
    found: set[str] = set()
    compose = (REPO / "docker-compose.yml").read_text(encoding="utf-8")
    for match in _COMPOSE_DEFAULT.finditer(compose):
        if match["name"] in _SECRET_VARIABLES:
            found.update(_secrets_of(match["name"], match["default"]))
    manifest = yaml.safe_load((REPO / "deploy/k8s/base/secret.yaml").read_text(encoding="utf-8"))
    for variable in _SECRET_VARIABLES:
        if variable in manifest["stringData"]:
            found.update(_secrets_of(variable, manifest["stringData"][variable]))
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    found.update(re.findall(r"Bearer ([A-Za-z0-9._-]+)", readme))
    local = (REPO / "deploy/local/development-defaults.sh").read_text(encoding="utf-8")
    for name, value in re.findall(r'"([A-Z_]+)\|([^|"]*)\|', local):
        if name in _SECRET_VARIABLES:
            found.update(_secrets_of(name, value))
    for variable, value in DEVELOPMENT_DEFAULTS.items():
        found.update(_secrets_of(variable, value))
    return found


# --- the environment -----------------------------------------------------------------------


def test_production_is_the_default_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KOPPEL_ENVIRONMENT", raising=False)
    assert ServiceSettings().environment is PRODUCTION


def test_development_is_chosen_explicitly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOPPEL_ENVIRONMENT", "development")
    assert ServiceSettings().environment is DEVELOPMENT


@pytest.mark.parametrize("value", ["test", "staging", "dev", "Production "])
def test_an_unknown_environment_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """`test` is not development-like: a shared test system is reachable by others."""
    monkeypatch.setenv("KOPPEL_ENVIRONMENT", value)
    with pytest.raises(SystemExit) as exited:
        settings_from_environment(ServiceSettings, "koppel-test")
    message = str(exited.value.code)
    assert message.startswith("koppel-test: invalid configuration: KOPPEL_ENVIRONMENT: ")
    assert message.endswith("Input should be 'production' or 'development'")


# --- what a weak secret is -------------------------------------------------------------------


def test_the_repository_publishes_secrets_the_check_knows() -> None:
    """The compose file, the manifests, the README and the scripts do hold secrets."""
    found = published_secrets()
    assert {"demo-token", "demo-matcher-token", "change-me-dev-token", "change-me"} <= found


@pytest.mark.parametrize("secret", sorted(published_secrets()))
def test_every_published_secret_is_refused(secret: str) -> None:
    assert weakness(secret) is not None


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        ("", "placeholder"),
        ("changeme", "placeholder"),
        ("CHANGE-ME", "placeholder"),
        ("please-change-me-before-you-deploy-this-thing", "placeholder"),
        ("placeholder-0123456789-0123456789-0123456789", "placeholder"),
        ("development-unsubscribe-secret", "published"),
        ("demo-matcher-token", "published"),
        ("a" * 31, "shorter than 32 bytes"),
        ("é" * 15, "shorter than 32 bytes"),  # 30 bytes in 15 characters
    ],
)
def test_weak_secrets_and_why(secret: str, reason: str) -> None:
    assert reason in (weakness(secret) or "")


def test_a_random_secret_of_32_bytes_is_accepted() -> None:
    assert weakness(STRONG) is None
    assert weakness("0123456789abcdef" * 2) is None


def test_weak_secrets_pass_in_development_only() -> None:
    refuse_weak_secret("NOTIFIER_UNSUBSCRIBE_SECRET", "changeme", DEVELOPMENT)
    with pytest.raises(ValueError, match=r"^NOTIFIER_UNSUBSCRIBE_SECRET is a placeholder"):
        refuse_weak_secret("NOTIFIER_UNSUBSCRIBE_SECRET", "changeme", PRODUCTION)


# --- where a secret comes from ---------------------------------------------------------------


def test_an_unset_secret_is_the_development_default_in_development_only() -> None:
    variable = "NOTIFIER_UNSUBSCRIBE_SECRET"
    assert configured_secret(variable, None, None, DEVELOPMENT) == DEVELOPMENT_DEFAULTS[variable]
    with pytest.raises(ValueError, match=rf"^{variable} \(or {variable}_FILE\) must be set"):
        configured_secret(variable, None, None, PRODUCTION)


def test_a_secret_is_read_from_its_file(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_text(STRONG + "\n", encoding="utf-8")
    assert configured_secret("X", None, path, PRODUCTION) == STRONG
    with pytest.raises(ValueError, match=r"^X_FILE: cannot read the file"):
        configured_secret("X", None, tmp_path / "missing", PRODUCTION)
    with pytest.raises(ValueError, match=r"^set X or X_FILE, not both"):
        configured_secret("X", SecretStr(STRONG), path, PRODUCTION)


# --- API tokens ------------------------------------------------------------------------------


def test_token_lists_outside_development_hold_only_strong_tokens() -> None:
    good = SecretStr(f"crm:{STRONG},ats:{STRONG[::-1]}")
    assert ApiTokens.configured("X_TOKENS", good, None, PRODUCTION).names == ("crm", "ats")
    with pytest.raises(ValueError, match=r"^X_TOKENS is empty"):
        ApiTokens.configured("X_TOKENS", SecretStr(" , "), None, PRODUCTION)
    with pytest.raises(ValueError, match=r"must be set unless KOPPEL_ENVIRONMENT=development"):
        ApiTokens.configured("X_TOKENS", None, None, PRODUCTION)
    with pytest.raises(ValueError, match=r"^X_TOKENS: the token of 'ats' is shorter") as refused:
        ApiTokens.configured("X_TOKENS", SecretStr(f"crm:{STRONG},ats:short"), None, PRODUCTION)
    assert "short;" not in str(refused.value)


def test_token_lists_in_development_take_anything_and_default_to_the_demo_token() -> None:
    tokens = ApiTokens.configured("INTAKE_API_TOKENS", None, None, DEVELOPMENT)
    assert tokens.identify("demo-token") == "demo"
    assert ApiTokens.configured("X", SecretStr("a:b"), None, DEVELOPMENT).identify("b") == "a"
    assert ApiTokens.configured("X", SecretStr(""), None, DEVELOPMENT).names == ()


def test_a_malformed_token_list_is_refused_in_every_environment() -> None:
    for environment in Environment:
        with pytest.raises(TokenConfigError, match=r"^X entry 1 is not of the form name:token"):
            ApiTokens.configured("X", SecretStr("no-separator"), None, environment)


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        ("", "a bearer token is required"),
        ("Basic dXNlcjpwYXNz", "a bearer token is required"),
        ("Bearer ", "a bearer token is required"),
        (f"Bearer {STRONG}x", "the bearer token is not valid"),
    ],
)
def test_a_request_without_a_known_bearer_token_is_refused(header: str, detail: str) -> None:
    tokens = ApiTokens.parse(f"crm:{STRONG}")
    with pytest.raises(BearerRefusedError, match=detail):
        tokens.authenticate(header)


def test_a_known_bearer_token_names_its_caller() -> None:
    tokens = ApiTokens.parse(f"crm:{STRONG}")
    assert tokens.authenticate(f"Bearer {STRONG}") == "crm"
    assert tokens.authenticate(f"bearer  {STRONG} ") == "crm"
    assert challenge("koppel-matcher") == {"WWW-Authenticate": 'Bearer realm="koppel-matcher"'}
