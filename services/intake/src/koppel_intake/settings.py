"""Configuration of the intake service, from the environment (DOMAIN.md §7)."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import AliasChoices, AnyHttpUrl, Field, SecretStr, model_validator

from koppel.api_tokens import ApiTokens
from koppel.secret_keys import SecretKeySettings
from koppel.secret_policy import configured_secret, refuse_weak_secret
from koppel_intake.service_layer.commands import KAFKA_DEFAULT_MAX_RECORD_BYTES

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
"""The contract's body limit (§5: over 1 MiB is a 413)."""
DEFAULT_RAW_GROUP = "koppel-intake"
"""The consumer group that reads `koppel.intake.raw.v1`."""


class Settings(SecretKeySettings):
    """Build it in `bootstrap.py`, never at import time; the secret keys seal webhook secrets."""

    host: str = Field(
        default="0.0.0.0",  # noqa: S104 - a service in a container listens on every interface
        validation_alias="INTAKE_HOST",
    )
    port: int = Field(
        default=8000, ge=1, le=65535, validation_alias=AliasChoices("INTAKE_PORT", "PORT")
    )
    api_tokens: SecretStr | None = Field(
        default=None,
        validation_alias="INTAKE_API_TOKENS",
        description="comma-separated name:token pairs; required unless development",
    )
    api_tokens_file: Path | None = Field(default=None, validation_alias="INTAKE_API_TOKENS_FILE")
    max_body_bytes: int = Field(
        default=DEFAULT_MAX_BODY_BYTES, ge=1, validation_alias="INTAKE_MAX_BODY_BYTES"
    )
    max_record_bytes: int = Field(
        default=KAFKA_DEFAULT_MAX_RECORD_BYTES,
        ge=1024,
        validation_alias="INTAKE_MAX_RECORD_BYTES",
        description="The largest Kafka record intake produces: the producer's max.request.size."
        " Keep it at or below the max.message.bytes of koppel.assignments.v1 and"
        " koppel.consultants.v1 (Kafka's default, 1 MiB). A body whose event would be larger"
        " is answered 413 instead of being refused by the broker on every retry (503).",
    )
    publish_timeout_seconds: float = Field(
        default=10.0, gt=0, validation_alias="INTAKE_PUBLISH_TIMEOUT_SECONDS"
    )
    raw_consumer_enabled: bool = Field(default=True, validation_alias="INTAKE_RAW_CONSUMER")
    raw_consumer_group: str = Field(default=DEFAULT_RAW_GROUP, validation_alias="INTAKE_RAW_GROUP")
    matcher_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("http://127.0.0.1:8001"),
        validation_alias="INTAKE_MATCHER_URL",
        description="The matcher's read API, which says whose a match is before an answer"
        " to it is accepted.",
    )
    matcher_api_token: SecretStr | None = Field(
        default=None,
        validation_alias="INTAKE_MATCHER_API_TOKEN",
        description="intake's token in MATCHER_API_TOKENS; required unless development",
    )
    matcher_api_token_file: Path | None = Field(
        default=None, validation_alias="INTAKE_MATCHER_API_TOKEN_FILE"
    )
    matcher_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        le=60,
        validation_alias="INTAKE_MATCHER_TIMEOUT_SECONDS",
        description="How long an answer waits for the matcher before it is refused with 503.",
    )

    @model_validator(mode="after")
    def _acceptable_tokens(self) -> Self:
        self.callers()
        self.matcher_token()
        return self

    def callers(self) -> ApiTokens:
        """The callers' tokens; a malformed or (outside development) weak list is refused."""
        return ApiTokens.configured(
            "INTAKE_API_TOKENS", self.api_tokens, self.api_tokens_file, self.environment
        )

    def matcher_token(self) -> str:
        """The bearer token for the matcher's read API; weak or unset only in development."""
        variable = "INTAKE_MATCHER_API_TOKEN"
        token = configured_secret(
            variable, self.matcher_api_token, self.matcher_api_token_file, self.environment
        )
        if not token:
            raise ValueError(f"{variable} is empty: the matcher would refuse every lookup")
        refuse_weak_secret(variable, token, self.environment)
        return token
