"""docker-compose.yml holds what DOMAIN.md §7 and the services need (Docker cannot run here);
its placeholder secrets pass in development only."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from compose_spec import PyCompose
from pydantic import ValidationError
from pydantic_settings import BaseSettings

from koppel.secret_sealing import SecretKeyring
from koppel_intake.settings import Settings as IntakeSettings
from koppel_matcher.settings import Settings as MatcherSettings
from koppel_notifier.settings import Settings as NotifierSettings

REPO = Path(__file__).resolve().parents[3]
SERVICES = {"intake": 8000, "matcher": 8001, "notifier": 8002}
INFRASTRUCTURE = ("kafka", "postgres", "mailpit")
HEALTHCHECKED = ("kafka", "postgres", "intake", "matcher", "notifier")

# Which service reads which DOMAIN.md §7 variable (and the setup job, which runs the
# topics command and both services' migrations).
NEEDS: dict[str, set[str]] = {
    "intake": {
        "KAFKA_BOOTSTRAP_SERVERS",
        "INTAKE_API_TOKENS",
        "KOPPEL_SECRET_KEYS",
        "INTAKE_MATCHER_URL",
        "INTAKE_MATCHER_API_TOKEN",
    },
    "matcher": {"KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "MATCHER_API_TOKENS"},
    "notifier": {
        "KAFKA_BOOTSTRAP_SERVERS",
        "DATABASE_URL",
        "SMTP_HOST",
        "SMTP_PORT",
        "SMTP_FROM",
        "PUBLIC_BASE_URL",
        "WEBHOOK_ALLOW_PRIVATE_TARGETS",
        "WEBHOOK_ALLOWED_NETWORKS",
        "NOTIFIER_UNSUBSCRIBE_SECRET",
        "KOPPEL_SECRET_KEYS",
    },
    "setup": {
        "KAFKA_BOOTSTRAP_SERVERS",
        "DATABASE_URL",
        "MATCHER_API_TOKENS",
        "NOTIFIER_UNSUBSCRIBE_SECRET",
        "KOPPEL_SECRET_KEYS",
    },
}
# The settings each container builds (the setup job runs both services' migrations), and
# the secrets among its variables.
SETTINGS: dict[str, tuple[type[BaseSettings], ...]] = {
    "intake": (IntakeSettings,),
    "matcher": (MatcherSettings,),
    "notifier": (NotifierSettings,),
    "setup": (MatcherSettings, NotifierSettings),
}
SECRETS = {
    "intake": ("INTAKE_API_TOKENS", "KOPPEL_SECRET_KEYS", "INTAKE_MATCHER_API_TOKEN"),
    "matcher": ("MATCHER_API_TOKENS", "POSTGRES_PASSWORD"),
    "notifier": ("NOTIFIER_UNSUBSCRIBE_SECRET", "KOPPEL_SECRET_KEYS", "POSTGRES_PASSWORD"),
    "setup": (
        "MATCHER_API_TOKENS",
        "NOTIFIER_UNSUBSCRIBE_SECRET",
        "KOPPEL_SECRET_KEYS",
        "POSTGRES_PASSWORD",
    ),
}
# Compose builds DATABASE_URL from POSTGRES_PASSWORD: the refusal names DATABASE_URL.
REFUSED_AS = {"POSTGRES_PASSWORD": "DATABASE_URL"}
READERS: dict[type[BaseSettings], set[str]] = {
    IntakeSettings: {"INTAKE_API_TOKENS", "KOPPEL_SECRET_KEYS", "INTAKE_MATCHER_API_TOKEN"},
    MatcherSettings: {"MATCHER_API_TOKENS", "POSTGRES_PASSWORD"},
    NotifierSettings: {"NOTIFIER_UNSUBSCRIBE_SECRET", "KOPPEL_SECRET_KEYS", "POSTGRES_PASSWORD"},
}
REAL = {
    "INTAKE_API_TOKENS": "crm:Vq3xT9kLm2Rz7Hc4Wd8Np1Bs6Gf5Yj0Ae",
    "MATCHER_API_TOKENS": "ops:Hc4Wd8Np1Bs6Gf5Yj0AeVq3xT9kLm2Rz7",
    "INTAKE_MATCHER_API_TOKEN": "Hc4Wd8Np1Bs6Gf5Yj0AeVq3xT9kLm2Rz7",
    "NOTIFIER_UNSUBSCRIBE_SECRET": "Np1Bs6Gf5Yj0AeVq3xT9kLm2Rz7Hc4Wd8",
    "KOPPEL_SECRET_KEYS": "k1:q3xT9kJs2Rz7Hc4Wd8Nt1Bs6GfnljT0B5erxvS5Nuh4=",
    "POSTGRES_PASSWORD": "Bs6Gf5Yj0AeVq3xT9kLm2Rz7Hc4Wd8Np1",
}
DOMAIN_VARIABLES = {
    "KAFKA_BOOTSTRAP_SERVERS",
    "DATABASE_URL",
    "INTAKE_API_TOKENS",
    "SMTP_HOST",
    "SMTP_PORT",
    "SMTP_FROM",
    "PUBLIC_BASE_URL",
    "WEBHOOK_ALLOW_PRIVATE_TARGETS",
}
_DEFAULTED = re.compile(r"^\$\{(?P<name>[A-Z_]+):-(?P<default>[^}]*)\}$")
_VARIABLE = re.compile(r"\$\{(?P<name>[A-Z_]+)(?::-(?P<default>[^}]*))?\}")


def interpolated(text: str) -> str:
    """The file as `docker compose` reads it with an empty environment: every default taken."""

    def default(match: re.Match[str]) -> str:
        assert match["default"] is not None, f"{match[0]} has no default"
        return match["default"]

    return _VARIABLE.sub(default, text)


def spec_checked(text: str) -> PyCompose:
    """Parsed by the compose_spec parser (strict: unknown keys, bad values and durations fail).

    It reads no YAML merge keys, so PyYAML resolves them first, as compose does.
    """
    return PyCompose.from_json(json.dumps(yaml.safe_load(interpolated(text))))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    assert isinstance(env, dict), "environment as a mapping, so merges and checks are exact"
    return {str(key): str(value) for key, value in env.items()}


def test_the_file_follows_the_compose_specification() -> None:
    text = (REPO / "docker-compose.yml").read_text(encoding="utf-8")
    parsed = spec_checked(text)
    assert set(parsed.service_names()) == {*INFRASTRUCTURE, "setup", *SERVICES}


@pytest.mark.parametrize(
    ("correct", "mistake"),
    [
        ("condition: service_healthy", "condition: service_healty"),
        ("restart: unless-stopped", "restrat: unless-stopped"),
        ("start_period: 30s", "start_period: 30 seconds"),
    ],
)
def test_the_specification_check_catches_mistakes(correct: str, mistake: str) -> None:
    text = (REPO / "docker-compose.yml").read_text(encoding="utf-8")
    assert correct in text
    with pytest.raises(ValueError, match=r"."):
        spec_checked(text.replace(correct, mistake, 1))


def test_every_service_of_the_stack_is_there(compose: dict[str, Any]) -> None:
    assert set(services(compose)) == {*INFRASTRUCTURE, "setup", *SERVICES}


def test_the_domain_variables_are_all_used_somewhere(compose: dict[str, Any]) -> None:
    used = {name for service in services(compose).values() for name in environment(service)}
    assert used >= DOMAIN_VARIABLES


@pytest.mark.parametrize("name", sorted(NEEDS))
def test_each_service_gets_the_variables_it_reads(compose: dict[str, Any], name: str) -> None:
    env = environment(services(compose)[name])
    assert NEEDS[name] <= set(env)
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    if "DATABASE_URL" in env:
        assert env["DATABASE_URL"].startswith("postgresql://")
        assert "@postgres:5432/" in env["DATABASE_URL"]


def test_notifier_talks_to_mailpit(compose: dict[str, Any]) -> None:
    env = environment(services(compose)["notifier"])
    assert env["SMTP_HOST"] == "mailpit"
    assert env["SMTP_PORT"] == "1025"
    assert env["LOG_JSON"] == "true"


def test_the_notifier_sends_webhooks_to_public_targets_only_by_default(
    compose: dict[str, Any],
) -> None:
    # Nothing in the stack receives webhooks; a receiver of one's own is allowed by naming
    # its network in WEBHOOK_ALLOWED_NETWORKS (docs/security.md, webhook targets).
    notifier = environment(services(compose)["notifier"])
    for name, default in (
        ("WEBHOOK_ALLOWED_NETWORKS", ""),
        ("WEBHOOK_ALLOW_PRIVATE_TARGETS", "false"),
    ):
        setting = _DEFAULTED.match(notifier[name])
        assert setting is not None, name
        assert (setting["name"], setting["default"]) == (name, default)


@pytest.mark.parametrize(
    ("service", "variable"), [("intake", "INTAKE_API_TOKENS"), ("matcher", "MATCHER_API_TOKENS")]
)
def test_token_lists_come_from_the_environment_with_a_dev_default(
    compose: dict[str, Any], service: str, variable: str
) -> None:
    tokens = _DEFAULTED.match(environment(services(compose)[service])[variable])
    assert tokens is not None, f"{variable}: ${{{variable}:-name:token}}"
    assert tokens["name"] == variable
    name, _, token = tokens["default"].partition(":")
    assert name
    assert token


def test_the_unsubscribe_secret_comes_from_the_environment_with_a_dev_default(
    compose: dict[str, Any],
) -> None:
    notifier = environment(services(compose)["notifier"])
    secret = _DEFAULTED.match(notifier["NOTIFIER_UNSUBSCRIBE_SECRET"])
    assert secret is not None
    assert secret["name"] == "NOTIFIER_UNSUBSCRIBE_SECRET"
    for service in ("intake", "notifier", "setup"):
        keys = _DEFAULTED.match(environment(services(compose)[service])["KOPPEL_SECRET_KEYS"])
        assert keys is not None, f"{service}: KOPPEL_SECRET_KEYS: ${{KOPPEL_SECRET_KEYS:-id:key}}"
        SecretKeyring.parse(keys["default"])


@pytest.mark.parametrize(("name", "port"), sorted(SERVICES.items()))
def test_services_publish_their_port(compose: dict[str, Any], name: str, port: int) -> None:
    service = services(compose)[name]
    assert f"127.0.0.1:{port}:{port}" in service["ports"]
    assert service["build"]["args"] == {"SERVICE": name, "PORT": port}
    assert service["restart"] == "unless-stopped"


@pytest.mark.parametrize("name", HEALTHCHECKED)
def test_long_running_containers_have_healthchecks(compose: dict[str, Any], name: str) -> None:
    check = services(compose)[name]["healthcheck"]
    assert check["test"][0] == "CMD"
    assert not check.get("disable", False)
    assert {"interval", "timeout", "retries"} <= set(check)


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_service_healthchecks_ask_healthz_with_the_python_stdlib(
    compose: dict[str, Any], name: str
) -> None:
    command = " ".join(services(compose)[name]["healthcheck"]["test"])
    assert "urllib.request" in command
    assert "/healthz" in command


def test_kafka_is_the_official_image_of_the_local_stacks_version_with_a_working_healthcheck(
    compose: dict[str, Any],
) -> None:
    """One variable picks the Kafka version everywhere, with kafka.sh's default."""
    default = subprocess.run(
        [
            "bash",
            "-c",
            f'source "{REPO / "deploy" / "local" / "kafka.sh"}"; echo "$DEFAULT_VERSION"',
        ],
        env={k: v for k, v in os.environ.items() if k != "KOPPEL_KAFKA_VERSION"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    kafka = services(compose)["kafka"]
    assert kafka["image"] == f"apache/kafka:${{KOPPEL_KAFKA_VERSION:-{default}}}"
    assert kafka["healthcheck"]["test"][1] == "/opt/kafka/bin/kafka-broker-api-versions.sh"
    assert "kafka:9092" in kafka["healthcheck"]["test"]


def test_kafka_is_a_single_kraft_node_that_supports_transactions(compose: dict[str, Any]) -> None:
    env = environment(services(compose)["kafka"])
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == "1"
    assert env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == "1"
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def pairs(value: str, separator: str) -> dict[str, str]:
    """`A://x,B://y` as {A: x, B: y}."""
    return dict(item.split(separator, 1) for item in value.split(","))


def test_kafka_listeners_serve_containers_and_the_host(compose: dict[str, Any]) -> None:
    kafka = services(compose)["kafka"]
    env = environment(kafka)
    listeners = pairs(env["KAFKA_LISTENERS"], "://")
    advertised = pairs(env["KAFKA_ADVERTISED_LISTENERS"], "://")
    protocols = pairs(env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"], ":")
    assert set(listeners) == set(protocols)
    assert set(advertised) == set(listeners) - {env["KAFKA_CONTROLLER_LISTENER_NAMES"]}
    assert advertised[env["KAFKA_INTER_BROKER_LISTENER_NAME"]] == "kafka:9092"
    external = next(name for name in advertised if advertised[name].startswith("127.0.0.1:"))
    host_port = advertised[external].removeprefix("127.0.0.1:")
    container_port = listeners[external].removeprefix(":")
    # The host reaches the external listener on exactly the address it is advertised as.
    assert f"127.0.0.1:{host_port}:{container_port}" in kafka["ports"]


@pytest.mark.parametrize("name", ["setup", *sorted(SERVICES)])
def test_koppel_containers_start_in_order(compose: dict[str, Any], name: str) -> None:
    depends = services(compose)[name]["depends_on"]
    if name == "setup":
        assert depends["kafka"]["condition"] == "service_healthy"
        assert depends["postgres"]["condition"] == "service_healthy"
    else:
        assert depends["setup"]["condition"] == "service_completed_successfully"


def test_setup_is_a_one_shot_job_of_the_setup_target(compose: dict[str, Any]) -> None:
    setup = services(compose)["setup"]
    assert setup["build"]["target"] == "setup"
    assert setup["build"]["args"] == {"SERVICE": "setup"}
    assert setup["restart"] == "no"
    assert "ports" not in setup


def test_postgres_has_a_volume_and_pg_isready(compose: dict[str, Any]) -> None:
    postgres = services(compose)["postgres"]
    assert "pg_isready" in postgres["healthcheck"]["test"]
    assert any(volume.endswith(":/var/lib/postgresql/data") for volume in postgres["volumes"])
    assert re.fullmatch(r"postgres:16\.\d+-bookworm", postgres["image"])


def test_mailpit_serves_smtp_and_the_inbox(compose: dict[str, Any]) -> None:
    mailpit = services(compose)["mailpit"]
    assert re.fullmatch(r"axllent/mailpit:v1\.\d+\.\d+", mailpit["image"])
    assert {"127.0.0.1:1025:1025", "127.0.0.1:8025:8025"} <= set(mailpit["ports"])


@pytest.mark.parametrize("name", [*INFRASTRUCTURE, "setup", *sorted(SERVICES)])
def test_every_image_is_pinned(compose: dict[str, Any], name: str) -> None:
    image = services(compose)[name]["image"]
    repository, _, tag = image.rpartition(":")
    assert repository
    assert "/" not in tag
    assert tag
    assert tag != "latest"


def built_from(settings: type[BaseSettings], env: dict[str, str]) -> BaseSettings:
    """`settings` built with `env` as its values, as the service reads its container's."""
    values: dict[str, Any] = dict(env)  # field values only, never BaseSettings' `_` options
    return settings(**values)


def as_run(service: dict[str, Any], shell: dict[str, str]) -> dict[str, str]:
    """The container's environment when compose runs with `shell` as its environment."""

    def value(match: re.Match[str]) -> str:
        return shell.get(match["name"], match["default"] or "")

    return {name: _VARIABLE.sub(value, text) for name, text in environment(service).items()}


@pytest.mark.parametrize("name", ["setup", *sorted(SERVICES)])
def test_compose_runs_koppel_as_development_unless_told_otherwise(
    compose: dict[str, Any], name: str
) -> None:
    """The services default to production; this laptop stack says it is development."""
    env = environment(services(compose)[name])
    assert env["KOPPEL_ENVIRONMENT"] == "${KOPPEL_ENVIRONMENT:-development}"


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_the_compose_defaults_start_the_services_in_development(
    compose: dict[str, Any], name: str, empty_shell: None
) -> None:
    env = as_run(services(compose)[name], {})
    for settings in SETTINGS[name]:
        built_from(settings, env)


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_production_refuses_the_compose_placeholders(
    compose: dict[str, Any], name: str, empty_shell: None
) -> None:
    """An operator who sets production and forgets a secret gets a refusal, not a demo."""
    service = services(compose)[name]
    for secret in SECRETS[name]:
        shell = {"KOPPEL_ENVIRONMENT": "production", **REAL}
        del shell[secret]
        env = as_run(service, shell)
        readers = [s for s in SETTINGS[name] if secret in READERS[s]]
        assert readers, secret
        for settings in readers:
            with pytest.raises(ValidationError, match=REFUSED_AS.get(secret, secret)):
                built_from(settings, env)
    production = as_run(service, {"KOPPEL_ENVIRONMENT": "production", **REAL})
    for settings in SETTINGS[name]:
        built_from(settings, production)
