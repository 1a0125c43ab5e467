"""The matcher's configuration, from the environment (built in `bootstrap`, never on import)."""

from __future__ import annotations

import socket
from typing import Literal

from pydantic import AliasChoices, Field

from koppel.settings import DatabaseSettings


class MatcherSettings(DatabaseSettings):
    port: int = Field(
        default=8001, ge=1, le=65535, validation_alias=AliasChoices("MATCHER_PORT", "PORT")
    )
    host: str = Field(default="0.0.0.0", validation_alias="MATCHER_HOST")  # noqa: S104
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
        default=500, ge=0, le=60_000, validation_alias="MATCHER_FETCH_MAX_WAIT_MS"
    )
    fetch_min_bytes: int = Field(
        default=1,
        ge=1,
        validation_alias="MATCHER_FETCH_MIN_BYTES",
        description="With MATCHER_FETCH_MAX_WAIT_MS: how much the broker gathers per fetch.",
    )
    auto_migrate: bool = Field(default=True, validation_alias="MATCHER_AUTO_MIGRATE")
    test_crash_after_db_commits: int | None = Field(
        default=None,
        ge=1,
        validation_alias="MATCHER_TEST_CRASH_AFTER_DB_COMMITS",
        description="Crash test only: see entrypoints.fault_injection.",
    )
