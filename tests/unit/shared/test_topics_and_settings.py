"""Topic specs match DOMAIN.md section 4; settings read DOMAIN.md section 7's variables;
logging never writes a secret-looking key's value."""

from __future__ import annotations

import json
import logging
import logging.config
from collections.abc import Iterator

import pytest
import structlog
import uvicorn.config
from pydantic import ValidationError

from koppel import topics
from koppel.logging import configure_logging
from koppel.settings import DatabaseSettings, ServiceSettings, settings_from_environment
from koppel.topic_reconciliation import merged_config, partition_warning
from koppel_testing.configuration import start_refusal

CANONICAL = [
    "koppel.intake.raw.v1",
    "koppel.assignments.v1",
    "koppel.consultants.v1",
    "koppel.matches.v1",
    "koppel.notifications.v1",
    "koppel.responses.v1",
]
SPECS = {spec.name: spec for spec in topics.TOPICS}


# --- topics ----------------------------------------------------------------------------------


def test_topic_names_are_the_ones_in_domain_md() -> None:
    assert [
        topics.RAW,
        topics.ASSIGNMENTS,
        topics.CONSULTANTS,
        topics.MATCHES,
        topics.NOTIFICATIONS,
        topics.RESPONSES,
    ] == CANONICAL


def test_specs_are_exactly_the_canonical_topics_and_their_dead_letters() -> None:
    assert len(SPECS) == len(topics.TOPICS), "duplicate topic spec"
    assert set(SPECS) == {*CANONICAL, *(f"{name}.dlq" for name in CANONICAL)}


@pytest.mark.parametrize("name", CANONICAL)
def test_every_canonical_topic_has_a_dead_letter_topic(name: str) -> None:
    assert topics.dlq(name) == f"{name}.dlq"
    assert topics.dlq(name) in SPECS
    dead = SPECS[topics.dlq(name)]
    assert dead.config.get("cleanup.policy", "delete") == "delete"
    assert int(dead.config["retention.ms"]) >= int(SPECS[name].config.get("retention.ms", 0))


def test_only_the_full_state_topics_are_compacted() -> None:
    """Assignments, profiles and answers are state (the latest record per key counts)."""
    compacted = {
        name for name, spec in SPECS.items() if spec.config.get("cleanup.policy") == "compact"
    }
    assert compacted == {"koppel.assignments.v1", "koppel.consultants.v1", "koppel.responses.v1"}


@pytest.mark.parametrize("name", ["koppel.assignments.v1", "koppel.consultants.v1"])
def test_compacted_topics_bound_how_long_erased_data_lingers(name: str) -> None:
    """Tombstones must be seen by every consumer, then vanish (GDPR/AVG erasure)."""
    config = SPECS[name].config
    assert int(config["delete.retention.ms"]) > 0
    assert int(config["max.compaction.lag.ms"]) > 0
    assert "retention.ms" not in config, "time retention would drop live assignments"


DAY_MS = 24 * 3600 * 1000
# DOMAIN.md: erasure removes personal data from every topic; on delete-policy topics that
# takes until the record's segment is deleted: at most segment.ms + retention.ms.
ERASED_WITHIN_DAYS = {
    topics.RAW: 4,
    topics.MATCHES: 7,
    topics.NOTIFICATIONS: 7,
    **{topics.dlq(name): 14 for name in CANONICAL},
}


@pytest.mark.parametrize("name", sorted(ERASED_WITHIN_DAYS))
def test_delete_policy_topics_hold_a_record_for_a_short_bounded_time(name: str) -> None:
    config = SPECS[name].config
    assert config.get("cleanup.policy", "delete") == "delete"
    retention, segment = int(config["retention.ms"]), int(config["segment.ms"])
    assert 0 < segment <= DAY_MS, "an open segment is never deleted: roll it daily"
    assert retention > 0
    assert retention + segment <= ERASED_WITHIN_DAYS[name] * DAY_MS


def test_every_topic_has_partitions() -> None:
    assert all(spec.partitions >= 1 for spec in topics.TOPICS)
    assert {SPECS[name].partitions for name in CANONICAL} == {topics.DEFAULT_PARTITIONS}


def test_reconciling_keeps_the_operators_overrides_and_sets_koppels_keys() -> None:
    current = {"retention.ms": "1", "segment.ms": "600000"}
    assert merged_config(current, {"retention.ms": "2"}) == {
        "retention.ms": "2",
        "segment.ms": "600000",
    }
    assert merged_config({**current, "retention.ms": "2"}, {"retention.ms": "2"}) is None


def test_the_key_pinned_topics_are_the_compacted_state_topics() -> None:
    compacted = {n for n, spec in SPECS.items() if spec.config.get("cleanup.policy") == "compact"}
    assert compacted == topics.KEY_PINNED


@pytest.mark.parametrize("adding", [False, True])
def test_partition_warnings(adding: bool) -> None:
    assert partition_warning(topics.MATCHES, 6, 6, adding=adding) is None
    more = partition_warning(topics.CONSULTANTS, 12, 6, adding=adding)
    assert more is not None
    assert "12 partitions, the spec 6" in more
    assert "two matcher shards" in more
    fewer = partition_warning(topics.CONSULTANTS, 3, 6, adding=adding)
    assert fewer is not None
    assert "not changed" in fewer
    plain = partition_warning(topics.MATCHES, 3, 6, adding=adding)
    assert (plain is None) is adding


# --- settings --------------------------------------------------------------------------------


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No settings leak in from the shell that runs the tests (`make test` sets some)."""
    for name in (
        "KAFKA_BOOTSTRAP_SERVERS",
        "LOG_LEVEL",
        "LOG_JSON",
        "DATABASE_URL",
        "KOPPEL_ENVIRONMENT",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_service_settings_defaults(clean_environment: pytest.MonkeyPatch) -> None:
    settings = ServiceSettings()
    assert settings.kafka_bootstrap_servers == "127.0.0.1:9092"
    assert settings.log_level == "INFO"
    assert settings.log_json is None


def test_service_settings_read_the_environment(clean_environment: pytest.MonkeyPatch) -> None:
    clean_environment.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka-0:9092,kafka-1:9092")
    clean_environment.setenv("LOG_LEVEL", "debug")
    clean_environment.setenv("LOG_JSON", "false")
    settings = ServiceSettings()
    assert settings.kafka_bootstrap_servers == "kafka-0:9092,kafka-1:9092"
    assert settings.log_level == "debug"
    assert settings.log_json is False


def test_unrelated_environment_variables_are_ignored(
    clean_environment: pytest.MonkeyPatch,
) -> None:
    clean_environment.setenv("KOPPEL_SOMETHING_ELSE", "x")
    assert ServiceSettings().kafka_bootstrap_servers == "127.0.0.1:9092"


def test_bad_log_json_is_a_clear_error(clean_environment: pytest.MonkeyPatch) -> None:
    clean_environment.setenv("LOG_JSON", "sometimes")
    with pytest.raises(ValidationError, match="LOG_JSON"):
        ServiceSettings()


def test_database_settings_default(clean_environment: pytest.MonkeyPatch) -> None:
    clean_environment.setenv("KOPPEL_ENVIRONMENT", "development")
    settings = DatabaseSettings()
    assert settings.database_dsn == "postgresql://koppel:koppel@127.0.0.1:5432/koppel"
    assert settings.kafka_bootstrap_servers == "127.0.0.1:9092"


def test_production_refuses_the_default_database_url(clean_environment: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="DATABASE_URL must be set"):
        DatabaseSettings()


@pytest.mark.parametrize("password", ["change-me", "demo-token", "secret"])
def test_production_refuses_a_database_password_anyone_knows(
    clean_environment: pytest.MonkeyPatch, password: str
) -> None:
    clean_environment.setenv("DATABASE_URL", f"postgresql://koppel:{password}@db:5432/koppel")
    with pytest.raises(ValidationError, match="DATABASE_URL's password is a"):
        DatabaseSettings()


def test_production_takes_a_database_url_without_a_password(
    clean_environment: pytest.MonkeyPatch,
) -> None:
    clean_environment.setenv(
        "DATABASE_URL", "postgresql://koppel@db:5432/koppel?sslmode=verify-full"
    )
    assert DatabaseSettings().database_dsn.startswith("postgresql://koppel@db")


def test_database_settings_read_database_url(clean_environment: pytest.MonkeyPatch) -> None:
    clean_environment.setenv("DATABASE_URL", "postgresql://m:pw@db.internal:6543/matcher")
    clean_environment.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    settings = DatabaseSettings()
    assert settings.database_dsn == "postgresql://m:pw@db.internal:6543/matcher"
    assert settings.kafka_bootstrap_servers == "kafka:9092"


@pytest.mark.parametrize("url", ["mysql://u:p@h/db", "not a url"])
def test_database_url_must_be_postgres(clean_environment: pytest.MonkeyPatch, url: str) -> None:
    clean_environment.setenv("DATABASE_URL", url)
    with pytest.raises(ValidationError, match="DATABASE_URL"):
        DatabaseSettings()


def test_settings_are_frozen(clean_environment: pytest.MonkeyPatch) -> None:
    settings = ServiceSettings()
    with pytest.raises(ValidationError):
        settings.log_level = "DEBUG"  # type: ignore[misc]  # writing to frozen settings is the test


# --- logging ---------------------------------------------------------------------------------


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """configure_logging is process-global: undo it so other tests see a fresh process."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    quiet = {name: logging.getLogger(name).level for name in ("httpx", "httpcore")}
    yield
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in quiet.items():
        logging.getLogger(name).setLevel(old)


SECRETS = {
    "token": "tok-very-secret-1",
    "webhook_secret": "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0",
    "authorization": "Bearer tok-very-secret-2",
    "password": "pw-very-secret-3",
    "secret": "very-secret-4",
}


def test_json_logs_redact_secret_keys(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("intake", level="INFO", json=True)
    structlog.get_logger().info("profile stored", consultant_id="c-1", **SECRETS)
    err = capsys.readouterr().err
    (line,) = [line for line in err.splitlines() if line.startswith("{")]
    record = json.loads(line)
    assert record["event"] == "profile stored"
    assert record["service"] == "intake"
    assert record["level"] == "info"
    assert record["consultant_id"] == "c-1"
    for key, value in SECRETS.items():
        assert record[key] == "[redacted]"
        assert value not in err


def test_console_logs_redact_secret_keys(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("notifier", json=False)
    structlog.get_logger().warning("signing", webhook_secret=SECRETS["webhook_secret"])
    err = capsys.readouterr().err
    assert "signing" in err
    assert SECRETS["webhook_secret"] not in err
    assert "[redacted]" in err


def test_log_level_filters(restore_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("matcher", level="warning", json=True)
    log = structlog.get_logger()
    log.info("quiet")
    log.warning("loud")
    err = capsys.readouterr().err
    assert "loud" in err
    assert "quiet" not in err


def test_library_log_lines_are_json_with_the_same_keys_and_context(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("matcher", level="INFO", json=True)
    structlog.contextvars.bind_contextvars(trace_id="4bf92f3577b34da6a3ce929d0e0e4736")
    structlog.get_logger().info("ours")
    logging.getLogger("aiokafka.consumer").warning("Heartbeat failed for group %s", "g-1")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    ours, theirs = lines
    assert theirs["event"] == "Heartbeat failed for group g-1"
    assert theirs["level"] == "warning"
    assert theirs["logger"] == "aiokafka.consumer"
    assert set(ours) <= set(theirs)
    assert theirs["service"] == "matcher"
    assert theirs["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_library_exceptions_are_json_with_the_traceback(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("intake", json=True)
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    (line,) = capsys.readouterr().err.splitlines()
    record = json.loads(line)
    assert record["level"] == "error"
    assert "ValueError: boom" in record["exception"]


def test_uvicorn_lines_are_json_even_after_uvicorn_configured_its_own_handlers(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    logging.config.dictConfig(uvicorn.config.LOGGING_CONFIG)
    configure_logging("intake", json=True)
    logging.getLogger("uvicorn.error").warning("Invalid HTTP request received.")
    (line,) = capsys.readouterr().err.splitlines()
    assert json.loads(line)["event"] == "Invalid HTTP request received."


def test_configuring_twice_installs_one_handler(restore_logging: None) -> None:
    configure_logging("intake", json=True)
    configure_logging("intake", json=True)
    root = logging.getLogger()
    assert sum(type(h).__name__ == "_KoppelHandler" for h in root.handlers) == 1


def test_bad_configuration_exits_with_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://koppel:hunter2-secret@db/koppel")
    message = start_refusal(DatabaseSettings, "koppel-test")
    assert message.startswith("koppel-test: invalid configuration: DATABASE_URL: ")
    assert "\n" not in message
    assert "hunter2" not in message


def test_good_configuration_is_returned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker:9092")
    monkeypatch.setenv("DATABASE_URL", "postgresql://koppel:Gf5Yj0AeVq3xT9kLm2Rz7Hc4W@db/koppel")
    settings = settings_from_environment(DatabaseSettings, "koppel-test")
    assert settings.kafka_bootstrap_servers == "broker:9092"
