"""deploy/local/kafka.sh and postgres.sh: defaults unchanged, isolated-instance overrides;
development-defaults.sh: what `make run` and `make up` use when no secret is set.

The scripts are sourced (which defines their settings and functions without running a
command), so these tests start nothing; `bench/chaos.py` and tests/e2e/test_chaos_quick.py
start real isolated instances with the same overrides.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from koppel.secret_policy import DEVELOPMENT_DEFAULTS
from koppel.secret_sealing import SecretKeyring
from koppel_demo.sandbox import free_port

REPO = Path(__file__).resolve().parents[3]
KAFKA = REPO / "deploy" / "local" / "kafka.sh"
POSTGRES = REPO / "deploy" / "local" / "postgres.sh"
OVERRIDES = (
    "KOPPEL_KAFKA_VERSION",
    "KOPPEL_KAFKA_PORT",
    "KOPPEL_KAFKA_CONTROLLER_PORT",
    "KOPPEL_KAFKA_DIR",
    "KOPPEL_KAFKA_LOG_DIR",
    "KOPPEL_POSTGRES_PORT",
    "KOPPEL_POSTGRES_DIR",
)


def _is_override(name: str) -> bool:
    return name in OVERRIDES


def bash(script: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `script` without the isolated-instance overrides of this shell, plus `env`."""
    return run_bash(script, env)


def run_bash(
    script: str,
    env: Mapping[str, str],
    *,
    unset: Callable[[str], bool] = _is_override,
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run `script` with this environment less the variables `unset` picks, plus `env`."""
    clean = {k: v for k, v in os.environ.items() if not unset(k)}
    return subprocess.run(
        ["bash", "-c", script],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=check,
        timeout=30,
    )


def isolated_kafka(tmp_path: Path) -> dict[str, str]:
    """The overrides of a broker of its own, with its state under `tmp_path`."""
    return {
        "KOPPEL_KAFKA_PORT": "19092",
        "KOPPEL_KAFKA_CONTROLLER_PORT": "19093",
        "KOPPEL_KAFKA_DIR": str(tmp_path / "kafka"),
        "KOPPEL_KAFKA_LOG_DIR": str(tmp_path / "logs"),
    }


def sourced(path: Path, expression: str, **env: str) -> str:
    result = run_bash(f'source "{path}"; {expression}', env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize("script", [KAFKA, POSTGRES])
def test_scripts_parse(script: Path) -> None:
    assert bash(f'bash -n "{script}"').returncode == 0


LOCAL = REPO / ".local"


@pytest.mark.parametrize(
    ("script", "printing", "defaults"),
    [
        (
            KAFKA,
            'echo "$BOOTSTRAP $CONTROLLER_PORT $KDIR $LIBS $LOGS"',
            [
                "127.0.0.1:9092",
                "9093",
                str(LOCAL / "kafka" / "3.9.1"),
                str(LOCAL / "kafka" / "3.9.1" / "libs"),
                str(LOCAL / "logs"),
            ],
        ),
        (
            POSTGRES,
            'echo "$PORT $URL $LINK $LOCK ${CUSTOM_BASE:-none}"',
            [
                "5432",
                "postgresql://koppel:koppel@127.0.0.1:5432/koppel",
                str(LOCAL / "postgres"),
                str(LOCAL / ".postgres-start.lock"),
                "none",
            ],
        ),
    ],
    ids=["kafka", "postgres"],
)
def test_the_defaults_are_the_shared_broker_and_cluster(
    script: Path, printing: str, defaults: list[str]
) -> None:
    assert sourced(script, printing).split() == defaults


def test_kafka_overrides_move_ports_and_state_but_share_the_jars(tmp_path: Path) -> None:
    printed = sourced(
        KAFKA,
        'echo "$BOOTSTRAP $CONTROLLER_PORT $KDIR $DATA $PIDFILE $LIBS $LOGS"',
        **isolated_kafka(tmp_path),
    )
    assert printed.split() == [
        "127.0.0.1:19092",
        "19093",
        str(tmp_path / "kafka"),
        str(tmp_path / "kafka" / "data"),
        str(tmp_path / "kafka" / "kafka.pid"),
        str(REPO / ".local" / "kafka" / "3.9.1" / "libs"),
        str(tmp_path / "logs"),
    ]


def test_kafka_config_for_an_isolated_broker_names_its_ports(tmp_path: Path) -> None:
    sourced(KAFKA, "write_config", **isolated_kafka(tmp_path))
    config = (tmp_path / "kafka" / "server.properties").read_text()
    assert "listeners=PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093" in config
    assert "controller.quorum.voters=1@127.0.0.1:19093" in config
    assert f"log.dirs={tmp_path / 'kafka' / 'data'}" in config
    log4j = (tmp_path / "kafka" / "log4j.properties").read_text()
    assert f"File={tmp_path / 'logs' / 'kafka-3.9.1.log'}" in log4j


def test_a_kafka_4_broker_has_its_own_jars_and_state_and_logs_through_log4j_2(
    tmp_path: Path,
) -> None:
    """KOPPEL_KAFKA_VERSION picks the jars, the default state directory and the log file."""
    printed = sourced(KAFKA, 'echo "$KDIR $LIBS $BROKER_LOG"', KOPPEL_KAFKA_VERSION="4.4.0")
    assert printed.split() == [
        str(LOCAL / "kafka" / "4.4.0"),
        str(LOCAL / "kafka" / "4.4.0" / "libs"),
        str(LOCAL / "logs" / "kafka-4.4.0.log"),
    ]
    tool = sourced(
        KAFKA,
        'write_config; tool_cmd; echo "${TOOL_CMD[*]}"',
        KOPPEL_KAFKA_VERSION="4.4.0",
        **isolated_kafka(tmp_path),
    )
    log4j2 = tmp_path / "kafka" / "log4j2.properties"
    assert f"appender.file.fileName = {tmp_path / 'logs' / 'kafka-4.4.0.log'}" in (
        log4j2.read_text()
    )
    tools_config = tmp_path / "kafka" / "tools-log4j2.properties"
    assert f"-Dlog4j2.configurationFile={tools_config}" in tool.split()
    assert "rootLogger.level = WARN" in tools_config.read_text()


@pytest.mark.parametrize("version", ["3.8.1", "5.0.0", "4.4", "latest"])
def test_kafka_refuses_a_version_it_cannot_run(version: str) -> None:
    result = bash(f'"{KAFKA}" status', KOPPEL_KAFKA_VERSION=version)
    assert result.returncode == 1
    assert "KOPPEL_KAFKA_VERSION must be a 3.9.x or 4.x release" in result.stderr


@pytest.fixture
def broker_4_4_on_a_port(tmp_path: Path) -> Iterator[int]:
    """A listening process whose command line reads as kafka.sh's Kafka 4.4.0 broker."""
    if shutil.which("ss") is None:
        pytest.skip("ss (iproute2) is not installed")
    libs = tmp_path / "libs"
    libs.mkdir()
    (libs / "kafka_2.13-4.4.0.jar").write_bytes(b"")
    port = free_port()
    listener = (
        "import socket, sys, time\n"
        "s = socket.create_server(('127.0.0.1', int(sys.argv[1])))\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", listener, str(port), "-cp", f"{libs}/*", "kafka.Kafka"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        yield port
    finally:
        process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()


def test_a_broker_of_another_version_on_the_port_is_reported_not_reused(
    broker_4_4_on_a_port: int, tmp_path: Path
) -> None:
    env = {
        **isolated_kafka(tmp_path),
        "KOPPEL_KAFKA_PORT": str(broker_4_4_on_a_port),
        "KOPPEL_KAFKA_CONTROLLER_PORT": str(free_port()),
    }
    refused = bash(f'"{KAFKA}" start', **env, KOPPEL_KAFKA_VERSION="3.9.1")
    assert refused.returncode == 1
    assert (
        f"Kafka 4.4.0 already runs on 127.0.0.1:{broker_4_4_on_a_port}, not the 3.9.1 asked for"
    ) in refused.stderr
    status = bash(f'"{KAFKA}" status', **env, KOPPEL_KAFKA_VERSION="3.9.1")
    assert f"127.0.0.1:{broker_4_4_on_a_port} answers (4.4.0)" in status.stdout
    reused = bash(f'"{KAFKA}" start', **env, KOPPEL_KAFKA_VERSION="4.4.0")
    assert reused.returncode == 0, reused.stderr
    assert "reusing it" in reused.stderr


@pytest.mark.parametrize(
    ("port", "controller", "complaint"),
    [("90x2", "19093", "must be port numbers"), ("19092", "19092", "must differ")],
)
def test_kafka_refuses_bad_ports(port: str, controller: str, complaint: str) -> None:
    result = bash(
        f'"{KAFKA}" status', KOPPEL_KAFKA_PORT=port, KOPPEL_KAFKA_CONTROLLER_PORT=controller
    )
    assert result.returncode == 1
    assert complaint in result.stderr


def test_kafka_status_of_an_isolated_broker_not_started(tmp_path: Path) -> None:
    result = bash(
        f'"{KAFKA}" status',
        KOPPEL_KAFKA_PORT=str(free_port()),
        KOPPEL_KAFKA_DIR=str(tmp_path / "kafka"),
    )
    assert (result.returncode, result.stdout.strip()) == (3, "kafka: stopped")


def test_postgres_overrides_move_port_and_cluster(tmp_path: Path) -> None:
    base = tmp_path / "pg"
    base.mkdir()
    printed = sourced(
        POSTGRES,
        'existing_dirs; echo "$PORT $URL $BASE $DATA $LOCK"',
        KOPPEL_POSTGRES_PORT="15432",
        KOPPEL_POSTGRES_DIR=str(base),
    )
    assert printed.split() == [
        "15432",
        "postgresql://koppel:koppel@127.0.0.1:15432/koppel",
        str(base),
        str(base / "data"),
        str(base / ".start.lock"),
    ]


def test_postgres_refuses_a_bad_port() -> None:
    result = bash(f'"{POSTGRES}" status', KOPPEL_POSTGRES_PORT="five")
    assert result.returncode == 1
    assert "KOPPEL_POSTGRES_PORT must be a port number" in result.stderr


def test_postgres_status_and_stop_of_an_isolated_cluster_never_created(tmp_path: Path) -> None:
    env = {"KOPPEL_POSTGRES_PORT": str(free_port()), "KOPPEL_POSTGRES_DIR": str(tmp_path / "x")}
    status = bash(f'"{POSTGRES}" status', **env)
    assert (status.returncode, status.stdout.strip()) == (3, "postgres: stopped")
    stop = bash(f'"{POSTGRES}" stop', **env)
    assert stop.returncode == 0, stop.stderr
    assert not (tmp_path / "x").exists()


# --- development defaults of `make run` / `make up` ------------------------------------------

DEFAULTS = REPO / "deploy" / "local" / "development-defaults.sh"
_SECRETS = ("KOPPEL_ENVIRONMENT", *DEVELOPMENT_DEFAULTS)


def with_defaults(**env: str) -> subprocess.CompletedProcess[str]:
    """Source development-defaults.sh in an environment without Koppel's secrets, plus `env`."""
    script = f'source "{DEFAULTS}"; koppel_development_defaults "[run]"; ' + "; ".join(
        f'echo "{name}=${{{name}:-}}"' for name in _SECRETS
    )
    return run_bash(script, env, unset=_is_secret, check=True)


def _is_secret(name: str) -> bool:
    return name in _SECRETS or name.endswith("_FILE")


def test_a_local_run_is_development_with_the_documented_defaults_and_says_so() -> None:
    """`make run` needs no secret set, and prints which development defaults it used."""
    result = with_defaults()
    exported = dict(line.split("=", 1) for line in result.stdout.splitlines())
    assert exported == {"KOPPEL_ENVIRONMENT": "development", **DEVELOPMENT_DEFAULTS}
    assert result.stderr == (
        "[run] development defaults: KOPPEL_ENVIRONMENT=development, "
        f"INTAKE_API_TOKENS={DEVELOPMENT_DEFAULTS['INTAKE_API_TOKENS']}, "
        f"MATCHER_API_TOKENS={DEVELOPMENT_DEFAULTS['MATCHER_API_TOKENS']}, "
        f"INTAKE_MATCHER_API_TOKEN={DEVELOPMENT_DEFAULTS['INTAKE_MATCHER_API_TOKEN']}, "
        "NOTIFIER_UNSUBSCRIBE_SECRET=<development value>\n"
    )


@pytest.mark.parametrize("source", ["variable", "file"])
def test_intake_asks_the_matcher_with_the_first_of_the_operators_tokens(
    tmp_path: Path, source: str
) -> None:
    tokens = "ops: first-token-of-mine ,crm:second-token"
    tokens_file = tmp_path / "matcher-tokens"
    tokens_file.write_text(tokens + "\n", encoding="utf-8")
    env = (
        {"MATCHER_API_TOKENS": tokens}
        if source == "variable"
        else {"MATCHER_API_TOKENS_FILE": str(tokens_file)}
    )

    result = with_defaults(**env)

    exported = dict(line.split("=", 1) for line in result.stdout.splitlines())
    assert exported["INTAKE_MATCHER_API_TOKEN"] == "first-token-of-mine"
    assert "INTAKE_MATCHER_API_TOKEN" not in result.stderr
    mine = with_defaults(**env, INTAKE_MATCHER_API_TOKEN="set-by-me")
    assert "INTAKE_MATCHER_API_TOKEN=set-by-me" in mine.stdout


def test_what_the_operator_set_is_kept_and_not_listed(tmp_path: Path) -> None:
    tokens_file = tmp_path / "tokens"
    result = with_defaults(
        KOPPEL_ENVIRONMENT="production",
        INTAKE_API_TOKENS="crm:mine",
        MATCHER_API_TOKENS_FILE=str(tokens_file),
    )
    exported = dict(line.split("=", 1) for line in result.stdout.splitlines())
    assert exported["KOPPEL_ENVIRONMENT"] == "production"
    assert exported["INTAKE_API_TOKENS"] == "crm:mine"
    assert exported["MATCHER_API_TOKENS"] == ""  # its _FILE is set: setting both is refused
    assert result.stderr == (
        "[run] development defaults: NOTIFIER_UNSUBSCRIBE_SECRET=<development value>\n"
    )
    assert "crm:mine" not in result.stderr


@pytest.mark.parametrize("script", ["run.sh", "services.sh"])
def test_make_run_and_make_up_use_the_development_defaults(script: str) -> None:
    text = (REPO / "deploy" / "local" / script).read_text(encoding="utf-8")
    assert 'source "$SCRIPT_DIR/development-defaults.sh"' in text
    assert "koppel_development_defaults " in text
    for name in DEVELOPMENT_DEFAULTS:
        assert f"{name}=${{{name}:-" not in text, f"{script} sets its own {name}"


def test_make_run_prints_its_defaults_before_starting_anything() -> None:
    text = (REPO / "deploy" / "local" / "run.sh").read_text(encoding="utf-8")
    assert text.index("koppel_development_defaults ") < text.index('bash "$SCRIPT_DIR/up.sh"')


def with_secret_keys(root: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Call koppel_development_secret_keys for a checkout at `root`; print the exports."""
    script = (
        f'source "{DEFAULTS}"; koppel_development_secret_keys "[run]" "{root}"; '
        'echo "${KOPPEL_SECRET_KEYS_FILE:-}"'
    )
    return run_bash(script, env, unset=_is_secret_key, check=True)


def _is_secret_key(name: str) -> bool:
    return name.startswith("KOPPEL_SECRET_KEYS")


def test_a_local_run_seals_with_a_random_key_made_once_per_checkout(tmp_path: Path) -> None:
    first = with_secret_keys(tmp_path)
    path = tmp_path / ".local" / "secret-keys"
    assert first.stdout.strip() == str(path)
    assert "new random key" in first.stderr
    assert path.stat().st_mode & 0o777 == 0o600
    made = path.read_text()
    assert SecretKeyring.parse(made).key_ids == ("dev",)

    again = with_secret_keys(tmp_path)
    assert again.stdout.strip() == str(path)
    assert path.read_text() == made
    with_secret_keys(tmp_path / "other")
    assert (tmp_path / "other" / ".local" / "secret-keys").read_text() != made


def test_keys_the_operator_set_are_kept(tmp_path: Path) -> None:
    result = with_secret_keys(tmp_path, KOPPEL_SECRET_KEYS="k1:whatever")
    assert result.stdout.strip() == ""
    assert result.stderr == ""
    assert not (tmp_path / ".local").exists()


@pytest.mark.parametrize("script", ["run.sh", "services.sh"])
def test_make_run_and_make_up_pass_a_development_key(script: str) -> None:
    text = (REPO / "deploy" / "local" / script).read_text(encoding="utf-8")
    assert 'koppel_development_secret_keys "[' in text
