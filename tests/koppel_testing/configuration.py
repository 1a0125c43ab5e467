"""What the settings tests of every service share: a strong secret, a production DSN, and
the message a service exits with when it refuses its environment."""

from __future__ import annotations

import pytest
from pydantic_settings import BaseSettings

from koppel.settings import settings_from_environment

STRONG_SECRET = "Vq3xT9kLm2Rz7Hc4Wd8Np1Bs6Gf5Yj0Ae"
"""34 random-looking bytes: a token or secret every secret policy accepts."""

PRODUCTION_DATABASE_URL = "postgresql://koppel:Gf5Yj0AeVq3xT9kLm2Rz7Hc4W@db:5432/koppel"
"""A DSN production accepts: the default one carries a password everyone knows."""


def start_refusal(settings: type[BaseSettings], program: str) -> str:
    """The message `program` exits with when it refuses to build `settings` from the
    environment (the test fails if it starts instead)."""
    with pytest.raises(SystemExit) as exited:
        settings_from_environment(settings, program)
    return str(exited.value.code)
