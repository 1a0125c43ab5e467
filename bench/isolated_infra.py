"""A Kafka broker and a PostgreSQL cluster of the fault tests' own, which they may restart.

The shared broker and server (127.0.0.1:9092 / :5432) serve everyone else's tests, so the
fault tests never touch them: `IsolatedInfra` starts a second pair on free ports with
`deploy/local/kafka.sh` and `deploy/local/postgres.sh` (their `KOPPEL_*` overrides), state
under `.local/chaos/<run>/`, restarts them on request, and stops and deletes them at the end.
Being alone on that broker also means no other notifier sees the run's consultants (see
docs/benchmarks.md, "Fault tests", on the webhooks that arrived twice).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from koppel_demo.sandbox import free_ports

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "deploy" / "local"
CHAOS_DIR = REPO / ".local" / "chaos"


OWNER_FILE = "owner.json"


def abandoned_runs() -> list[tuple[str, dict[str, int]]]:
    """`.local/chaos/<run>/` directories whose owner process is gone, with their ports."""
    found = []
    for base in CHAOS_DIR.iterdir() if CHAOS_DIR.is_dir() else ():
        try:
            owner = json.loads((base / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if not Path(f"/proc/{owner['pid']}").exists():
            found.append((base.name, owner))
    return found


async def reap_abandoned() -> None:
    """Stop and delete the broker and cluster of earlier runs whose harness has died.

    A run killed outright (SIGKILL, a test timeout) cannot stop what it started; the
    next run does. (Its services end with it: `stack` asks for SIGTERM on parent death.)
    """
    for run_id, owner in abandoned_runs():
        print(f"[chaos] stopping the broker and cluster of abandoned run {run_id}")
        await IsolatedInfra(
            run_id=run_id,
            kafka_port=owner["kafka_port"],
            controller_port=owner["controller_port"],
            postgres_port=owner["postgres_port"],
        ).stop()


@dataclass
class IsolatedInfra:
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    kafka_port: int = 0
    controller_port: int = 0
    postgres_port: int = 0

    def __post_init__(self) -> None:
        if not (self.kafka_port and self.controller_port and self.postgres_port):
            self.kafka_port, self.controller_port, self.postgres_port = free_ports(3)

    @property
    def base(self) -> Path:
        return CHAOS_DIR / self.run_id

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def server_dsn(self) -> str:
        return f"postgresql://koppel:koppel@127.0.0.1:{self.postgres_port}/koppel"

    def _env(self) -> dict[str, str]:
        return {
            "KOPPEL_KAFKA_PORT": str(self.kafka_port),
            "KOPPEL_KAFKA_CONTROLLER_PORT": str(self.controller_port),
            "KOPPEL_KAFKA_DIR": str(self.base / "kafka"),
            "KOPPEL_KAFKA_LOG_DIR": str(self.base / "logs"),
            "KOPPEL_POSTGRES_PORT": str(self.postgres_port),
            "KOPPEL_POSTGRES_DIR": str(self.base / "postgres"),
            "KAFKA_HEAP_OPTS": "-Xms128m -Xmx512m",
        }

    async def _script(self, name: str, *args: str) -> float:
        """Runs `deploy/local/<name>.sh args`; seconds it took. Raises with its output."""
        started = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            "bash",
            str(SCRIPTS / f"{name}.sh"),
            *args,
            env={**os.environ, **self._env()},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"{name}.sh {' '.join(args)} failed:\n{output.decode()[-3000:]}")
        return time.monotonic() - started

    async def start(self) -> None:
        await reap_abandoned()
        self.base.mkdir(parents=True, exist_ok=True)
        (self.base / OWNER_FILE).write_text(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "kafka_port": self.kafka_port,
                    "controller_port": self.controller_port,
                    "postgres_port": self.postgres_port,
                }
            )
        )
        await asyncio.gather(self._script("kafka", "start"), self._script("postgres", "start"))

    async def restart_kafka(self, down_for: float = 0.0) -> tuple[float, float]:
        """Stop the broker (SIGTERM), wait `down_for` s, start it; (stop s, start s)."""
        stopping = await self._script("kafka", "stop")
        await asyncio.sleep(down_for)
        return stopping, await self._script("kafka", "start")

    async def restart_postgres(self, down_for: float = 0.0) -> tuple[float, float]:
        """Stop the cluster (fast shutdown), wait `down_for` s, start it; (stop s, start s)."""
        stopping = await self._script("postgres", "stop")
        await asyncio.sleep(down_for)
        return stopping, await self._script("postgres", "start")

    async def stop(self) -> None:
        """Stop both and delete their state."""
        try:
            await asyncio.gather(
                self._script("kafka", "stop", "--purge"),
                self._script("postgres", "stop", "--purge"),
                return_exceptions=True,
            )
        finally:
            shutil.rmtree(self.base, ignore_errors=True)
