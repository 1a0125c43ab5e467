"""The notifier's configuration, read from the environment (built in `bootstrap`)."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator

from koppel.secret_keys import SecretKeySettings
from koppel.secret_policy import configured_secret, refuse_weak_secret
from koppel.settings import DatabaseSettings
from koppel_notifier.domain.address_policy import TargetPolicy, parse_allowed_networks
from koppel_notifier.domain.retry_policy import DEFAULT_SCHEDULE, parse_schedule

UNSUBSCRIBE_SECRET = "NOTIFIER_UNSUBSCRIBE_SECRET"  # noqa: S105 - a variable's name

FETCH_MAX_WAIT_MS = 50
FETCH_MIN_BYTES = 1 << 20
"""Fetch defaults: a fetch is answered when 1 MiB waits, or after 50 ms.

Answering at the first byte would wake a fetch, and a database transaction here, for every
match transaction the matcher commits; gathering puts several matches in one fetch and one
transaction, at the cost of up to 50 ms of latency (figures: docs/benchmarks.md)."""


class Settings(DatabaseSettings, SecretKeySettings):
    """The secret keys open the sealed webhook secrets (and seal any that come in clear)."""

    port: int = Field(
        default=8002, ge=1, le=65535, validation_alias=AliasChoices("NOTIFIER_PORT", "PORT")
    )
    host: str = Field(default="0.0.0.0", validation_alias="NOTIFIER_HOST")  # noqa: S104
    group_id: str = Field(default="koppel-notifier", validation_alias="NOTIFIER_GROUP_ID")
    public_base_url: str = Field(
        default="http://localhost:8002", validation_alias="PUBLIC_BASE_URL"
    )

    smtp_host: str = Field(default="127.0.0.1", validation_alias="SMTP_HOST")
    smtp_port: int = Field(default=1025, validation_alias="SMTP_PORT")
    smtp_from: str = Field(default="Koppel <opdrachten@koppel.local>", validation_alias="SMTP_FROM")
    smtp_username: str | None = Field(default=None, validation_alias="SMTP_USERNAME")
    smtp_password: SecretStr | None = Field(default=None, validation_alias="SMTP_PASSWORD")
    smtp_starttls: bool = Field(default=False, validation_alias="SMTP_STARTTLS")
    smtp_timeout_s: float = Field(default=10.0, validation_alias="SMTP_TIMEOUT_SECONDS")

    allow_private_targets: bool = Field(
        default=False,
        validation_alias="WEBHOOK_ALLOW_PRIVATE_TARGETS",
        description="Also allow webhooks to loopback and private ranges (no link-local).",
    )
    allowed_networks: str = Field(
        default="",
        validation_alias="WEBHOOK_ALLOWED_NETWORKS",
        description="Comma-separated CIDRs webhooks may reach besides public addresses.",
    )
    unsubscribe_secret: SecretStr | None = Field(
        default=None,
        validation_alias=UNSUBSCRIBE_SECRET,
        description="signs unsubscribe links, page links and answer links (one salt each);"
        " required unless development",
    )
    unsubscribe_secret_file: Path | None = Field(
        default=None, validation_alias=f"{UNSUBSCRIBE_SECRET}_FILE"
    )
    digest_hour: int = Field(default=8, ge=0, le=23, validation_alias="NOTIFIER_DIGEST_HOUR")
    retry_schedule: str = Field(
        default=DEFAULT_SCHEDULE, validation_alias="NOTIFIER_RETRY_SCHEDULE"
    )
    retry_jitter: float = Field(default=0.2, ge=0, le=1, validation_alias="NOTIFIER_RETRY_JITTER")

    send_concurrency: int = Field(default=64, ge=1, validation_alias="NOTIFIER_SEND_CONCURRENCY")
    endpoint_concurrency: int = Field(
        default=4, ge=1, validation_alias="NOTIFIER_ENDPOINT_CONCURRENCY"
    )
    connections_per_origin: int = Field(
        default=8, ge=1, validation_alias="NOTIFIER_CONNECTIONS_PER_ORIGIN"
    )
    email_concurrency: int = Field(default=4, ge=1, validation_alias="NOTIFIER_EMAIL_CONCURRENCY")
    lease_s: float = Field(default=30.0, gt=0, validation_alias="NOTIFIER_LEASE_SECONDS")
    poll_interval_s: float = Field(default=0.5, gt=0, validation_alias="NOTIFIER_POLL_SECONDS")
    webhook_connect_timeout_s: float = Field(
        default=5.0, gt=0, validation_alias="NOTIFIER_WEBHOOK_CONNECT_TIMEOUT"
    )
    webhook_total_timeout_s: float = Field(
        default=15.0, gt=0, validation_alias="NOTIFIER_WEBHOOK_TOTAL_TIMEOUT"
    )
    database_pool_size: int = Field(default=10, ge=2, validation_alias="NOTIFIER_DB_POOL_SIZE")
    digest_check_s: float = Field(
        default=30.0, gt=0, validation_alias="NOTIFIER_DIGEST_CHECK_SECONDS"
    )
    migrate_on_start: bool = Field(default=True, validation_alias="NOTIFIER_MIGRATE_ON_START")
    fetch_max_wait_ms: int = Field(
        default=FETCH_MAX_WAIT_MS,
        ge=0,
        le=60_000,
        validation_alias="NOTIFIER_FETCH_MAX_WAIT_MS",
        description="How long the broker may gather matches and profiles for one fetch.",
    )
    fetch_min_bytes: int = Field(
        default=FETCH_MIN_BYTES,
        ge=1,
        validation_alias="NOTIFIER_FETCH_MIN_BYTES",
        description="A fetch is answered before NOTIFIER_FETCH_MAX_WAIT_MS once this much waits.",
    )

    @field_validator("allowed_networks")
    @classmethod
    def _no_blocked_network(cls, value: str) -> str:
        parse_allowed_networks(value)
        return value

    @field_validator("retry_schedule")
    @classmethod
    def _parsable_schedule(cls, value: str) -> str:
        parse_schedule(value)
        return value

    @model_validator(mode="after")
    def _real_secret_outside_development(self) -> Self:
        self.unsubscribe_key()
        return self

    def unsubscribe_key(self) -> str:
        """The secret signing unsubscribe, page and answer links (itsdangerous derives one key
        per purpose from it); weak ones are refused outside development."""
        secret = configured_secret(
            UNSUBSCRIBE_SECRET,
            self.unsubscribe_secret,
            self.unsubscribe_secret_file,
            self.environment,
        )
        if not secret:
            raise ValueError(f"{UNSUBSCRIBE_SECRET} is empty")
        refuse_weak_secret(UNSUBSCRIBE_SECRET, secret, self.environment)
        return secret

    @property
    def target_policy(self) -> TargetPolicy:
        """Where webhooks may go (WEBHOOK_ALLOWED_NETWORKS, WEBHOOK_ALLOW_PRIVATE_TARGETS)."""
        return TargetPolicy.configured(
            parse_allowed_networks(self.allowed_networks), allow_private=self.allow_private_targets
        )

    @property
    def retry_delays(self) -> tuple[float, ...]:
        return parse_schedule(self.retry_schedule)
