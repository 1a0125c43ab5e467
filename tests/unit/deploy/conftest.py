"""The kustomize binary the Kubernetes tests render the overlays with, and a shell without
Koppel's variables for the tests that build the services' settings."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
INSTALL_KUSTOMIZE = REPO / "deploy" / "k8s" / "install-kustomize.sh"


@pytest.fixture(scope="session")
def kustomize() -> Path:
    """kustomize from deploy/k8s/install-kustomize.sh (built with Go into .local/bin).

    Skips only when there is no Go toolchain to build it with; any other install failure
    is an error, shown with the script's output.
    """
    if shutil.which("go") is None:
        pytest.skip("kustomize cannot be installed: no Go toolchain on PATH")
    result = subprocess.run(
        ["bash", str(INSTALL_KUSTOMIZE)], capture_output=True, text=True, check=False, timeout=600
    )
    if result.returncode != 0:
        pytest.fail(f"install-kustomize.sh failed:\n{result.stdout}\n{result.stderr}")
    return Path(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def empty_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    """No Koppel variable of the shell running the tests reaches the settings built here."""
    for name in list(os.environ):
        if name.startswith(("KOPPEL_", "INTAKE_", "MATCHER_", "NOTIFIER_")):
            monkeypatch.delenv(name)
