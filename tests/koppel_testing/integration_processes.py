"""A service run as `python -m <package>`, as a deployment runs it, for process-level tests."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
"""The repository root, where the services are started from."""


def start_service(
    package: str, env: dict[str, str], *, unset: tuple[str, ...] = ()
) -> subprocess.Popen[str]:
    """`python -m <package>` with `env` on top of the test's environment less `unset`;
    output to a pipe read when the process stops (for tests whose services log little)."""
    inherited = {name: value for name, value in os.environ.items() if name not in unset}
    return subprocess.Popen(
        [sys.executable, "-m", package],
        cwd=ROOT,
        env={**inherited, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


async def wait_until_serving(client: httpx.AsyncClient, process: subprocess.Popen[str]) -> None:
    """Until `/healthz` answers at all; fails if the process exits first."""
    # Generous: a Python process importing FastAPI, pydantic and aiokafka on a loaded
    # 2-core machine can take many seconds; a working one answers as soon as it can.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0]
        try:
            await client.get("/healthz")
        except httpx.TransportError:
            await asyncio.sleep(0.1)
            continue
        return
    pytest.fail(f"{process.args!r} did not start serving")


def stop_service(process: subprocess.Popen[str]) -> str:
    """SIGTERM, and the process's whole output; fails if it does not stop within 30 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail(f"{process.args!r} did not stop on SIGTERM:\n{output}")
    return output


class ServiceProcess:
    """`python -m <package>` (or another command) logging to a file, never to a pipe nobody
    reads: a service logging hundreds of lines would fill a pipe and stall."""

    def __init__(self, env: dict[str, str], port: int, log_path: Path, command: list[str]) -> None:
        self.port = port
        self.log_path = log_path
        with log_path.open("ab") as log_file:
            # Popen returns at once (it does not wait for the child): fine in async code.
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env={**os.environ, **env},
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )

    @classmethod
    def start(cls, package: str, env: dict[str, str], port: int, log_path: Path) -> ServiceProcess:
        return cls(env, port, log_path, [sys.executable, "-m", package])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def assert_alive(self) -> None:
        assert self.process.poll() is None, f"{self.process.args!r} exited:\n{self.log()[-5000:]}"

    async def wait_ready(self, within: float = 60.0) -> None:
        """Until `/readyz` answers 200; fails if the process exits or `within` s pass."""
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(base_url=self.url) as client:
            while time.monotonic() < deadline:
                self.assert_alive()
                try:
                    if (await client.get("/readyz", timeout=5)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        self.stop()
        pytest.fail(f"{self.process.args!r} never became ready:\n{self.log()[-5000:]}")

    async def wait_exit(self, within: float = 30.0) -> int:
        deadline = time.monotonic() + within
        while self.process.poll() is None:
            assert time.monotonic() < deadline, f"{self.process.args!r} did not exit"
            await asyncio.sleep(0.1)
        return self.process.returncode

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        """SIGTERM; SIGKILL if it has not stopped within 30 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
