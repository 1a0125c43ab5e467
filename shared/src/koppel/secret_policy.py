"""Which secrets a service accepts: outside development, none that anyone could know.

A secret printed in this repository (a development default in the code, a value in
docker-compose.yml, deploy/ or the README) is known to everyone who read it, a placeholder
is known to everyone who guesses, and a short one is guessed by brute force. Production is
the default environment, so a service that is merely left unconfigured refuses to start
rather than run with a secret that protects nothing. `KOPPEL_ENVIRONMENT=development`
accepts anything and fills in the documented development defaults.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from types import MappingProxyType

from pydantic import SecretStr

ENVIRONMENT_VARIABLE = "KOPPEL_ENVIRONMENT"
MIN_SECRET_BYTES = 32


class Environment(StrEnum):
    """`KOPPEL_ENVIRONMENT`. There is no `test` or `staging`: a shared test system holds
    real-looking data and is reachable by more than its developer, so it is production."""

    PRODUCTION = "production"
    DEVELOPMENT = "development"


DEVELOPMENT_DEFAULTS = MappingProxyType(
    {
        "INTAKE_API_TOKENS": "demo:demo-token",
        "MATCHER_API_TOKENS": "demo:demo-matcher-token",
        "INTAKE_MATCHER_API_TOKEN": "demo-matcher-token",
        "NOTIFIER_UNSUBSCRIBE_SECRET": "development-unsubscribe-secret",
    }
)
"""What an unset secret is in development (`make run` prints these); refused elsewhere."""

# Every secret value written down in this repository, besides the development defaults:
# docker-compose.yml, deploy/k8s/base/secret.yaml, the README's examples, the test suites.
_PUBLISHED = frozenset(
    {
        "demo-token",
        "demo-matcher-token",
        "development-unsubscribe-secret",
        "change-me-dev-token",
        "change-me-dev-matcher-token",
        "dev-unsubscribe-secret-change-me",
        "dev-only-local-unsubscribe-secret",
        "change-me",
        "integration-test-secret-0123456789",
    }
)
_PLACEHOLDERS = frozenset(
    {"", "secret", "password", "token", "development", "dev", "test", "none", "null", "..."}
)
# Words that only a placeholder contains; too long to occur by chance in a random secret.
_PLACEHOLDER_WORDS = ("changeme", "change-me", "change_me", "placeholder", "replace-me", "example")
_ADVICE = (
    f"set a random secret of {MIN_SECRET_BYTES}+ bytes (e.g. `openssl rand -hex 32`),"
    f" or {ENVIRONMENT_VARIABLE}=development on a developer's machine"
)


def known_value(secret: str) -> str | None:
    """Why anyone could know `secret` (a placeholder or a published value), or None."""
    lowered = secret.strip().lower()
    if lowered in _PLACEHOLDERS or any(word in lowered for word in _PLACEHOLDER_WORDS):
        return "is a placeholder"
    if secret in _PUBLISHED or secret in DEVELOPMENT_DEFAULTS.values():
        return "is a published value (a development default or an example)"
    return None


def weakness(secret: str) -> str | None:
    """Why `secret` may not protect anything outside development, or None when it may."""
    known = known_value(secret)
    if known is not None:
        return known
    if len(secret.encode()) < MIN_SECRET_BYTES:
        return f"is shorter than {MIN_SECRET_BYTES} bytes"
    return None


def read_secret_file(path: object) -> str:
    """The secret in the file at `path` (a mounted secret), without surrounding whitespace."""
    try:
        return Path(str(path)).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read the file ({type(exc).__name__})") from None


def configured_secret(
    variable: str, value: SecretStr | None, file: Path | None, environment: Environment
) -> str | None:
    """The secret from `<variable>` or the file `<variable>_FILE` names, as configured.

    Unset in development: the development default (or None when there is none). Unset
    elsewhere: a `ValueError` naming the variable. The value itself is never in a message.
    """
    if value is not None and file is not None:
        raise ValueError(f"set {variable} or {variable}_FILE, not both")
    if file is not None:
        try:
            return read_secret_file(file)
        except ValueError as exc:
            raise ValueError(f"{variable}_FILE: {exc}") from None
    if value is not None:
        return value.get_secret_value()
    if environment is Environment.DEVELOPMENT:
        return DEVELOPMENT_DEFAULTS.get(variable)
    raise ValueError(
        f"{variable} (or {variable}_FILE) must be set unless {ENVIRONMENT_VARIABLE}=development"
    )


def refuse_weak_secret(variable: str, secret: str, environment: Environment) -> None:
    """Raise a `ValueError` naming `variable` when `secret` is weak outside development."""
    if environment is Environment.DEVELOPMENT:
        return
    reason = weakness(secret)
    if reason is not None:
        raise ValueError(f"{variable} {reason}; {_ADVICE}")
