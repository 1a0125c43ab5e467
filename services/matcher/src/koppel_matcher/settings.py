"""The matcher's configuration, from the environment (built in `bootstrap`, never on import)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Literal, Self

from pydantic import AliasChoices, Field, SecretStr, model_validator

from koppel.api_tokens import ApiTokens
from koppel.settings import DatabaseSettings

FETCH_MAX_WAIT_MS = 50
FETCH_MIN_BYTES = 1 << 20
"""The shard consumers' fetch defaults: a fetch is answered when 1 MiB waits, or after 50 ms.

Every shard fetches every assignment partition, so answering as soon as one byte waits
would cost one fetch per record per shard, encoded and decoded in Python, mostly for
assignments that match no one in that shard. Gathering bounds a shard to about 20 fetches a
second (more only when 1 MiB waits sooner) for at most 50 ms of latency (figures:
docs/benchmarks.md)."""


class Settings(DatabaseSettings):
    port: int = Field(
        default=8001, ge=1, le=65535, validation_alias=AliasChoices("MATCHER_PORT", "PORT")
    )
    host: str = Field(default="0.0.0.0", validation_alias="MATCHER_HOST")  # noqa: S104
    api_tokens: SecretStr | None = Field(
        default=None,
        validation_alias="MATCHER_API_TOKENS",
        description="name:token pairs for the read API; required unless development",
    )
    api_tokens_file: Path | None = Field(default=None, validation_alias="MATCHER_API_TOKENS_FILE")
    group_id: str = Field(
        default="koppel-matcher", min_length=1, validation_alias="MATCHER_GROUP_ID"
    )
    instance_id: str = Field(
        default_factory=socket.gethostname, min_length=1, validation_alias="MATCHER_INSTANCE_ID"
    )
    initial_offset: Literal["earliest", "latest"] = Field(
        default="earliest",
        validation_alias="MATCHER_INITIAL_OFFSET",
        description="Where a shard with no committed offsets starts reading.",
    )
    sweep_interval_seconds: float = Field(
        default=30.0, gt=0, validation_alias="MATCHER_SWEEP_INTERVAL_SECONDS"
    )
    max_batch: int = Field(default=500, ge=1, le=10_000, validation_alias="MATCHER_MAX_BATCH")
    commit_interval_seconds: float = Field(
        default=0.2,
        gt=0,
        le=60,
        validation_alias="MATCHER_COMMIT_INTERVAL_SECONDS",
        description="How long records that publish nothing may wait before their commit.",
    )
    max_events_per_transaction: int = Field(
        default=5_000,
        ge=1,
        le=100_000,
        validation_alias="MATCHER_MAX_EVENTS_PER_TRANSACTION",
        description="A batch whose records publish more match events is split into several "
        "transactions (bounds memory and transaction time).",
    )
    fetch_max_wait_ms: int = Field(
        default=FETCH_MAX_WAIT_MS,
        ge=0,
        le=60_000,
        validation_alias="MATCHER_FETCH_MAX_WAIT_MS",
        description="How long the broker may gather records for a shard's fetch.",
    )
    fetch_min_bytes: int = Field(
        default=FETCH_MIN_BYTES,
        ge=1,
        validation_alias="MATCHER_FETCH_MIN_BYTES",
        description="A fetch is answered before MATCHER_FETCH_MAX_WAIT_MS once this much waits.",
    )
    migrate_on_start: bool = Field(
        default=True,
        # MATCHER_AUTO_MIGRATE is still read, so deployments that set it keep their choice.
        validation_alias=AliasChoices("MATCHER_MIGRATE_ON_START", "MATCHER_AUTO_MIGRATE"),
        description="Apply the migrations at start-up (under an advisory lock).",
    )

    @model_validator(mode="after")
    def _acceptable_tokens(self) -> Self:
        self.callers()
        return self

    def callers(self) -> ApiTokens:
        """Who may read matches; a malformed or (outside development) weak list is refused."""
        return ApiTokens.configured(
            "MATCHER_API_TOKENS", self.api_tokens, self.api_tokens_file, self.environment
        )
