"""The three Koppel services as subprocesses of a benchmark, on a fresh database.

`Stack` creates a database of its own (asyncpg, `CREATE DATABASE`), gives every service
unique consumer group ids and free ports, starts the notifier's group at the end of its
topics (it would otherwise replay the shared topics' whole history) and the matcher at
`latest`, waits for `/readyz`, and stops everything (SIGTERM, then SIGKILL) at the end.
Service output goes to `bench/results/logs/<service>.log`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import asyncpg
import httpx

from koppel.topic_reconciliation import ensure_topics
from koppel.topics import CONSULTANTS, MATCHES
from koppel_demo.sandbox import drop_database, free_port, start_group_at_end
from koppel_demo.secret_keys import development_secret_keys

BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
SERVER_DSN = os.environ.get("DATABASE_URL", "postgresql://koppel:koppel@127.0.0.1:5432/koppel")
TOKEN = "bench-token-" + "k" * 24
LOG_DIR = Path("bench/results/logs")


def _terminate_with_parent() -> None:
    """Linux: SIGTERM this child when the benchmark dies (even by SIGKILL), no orphans."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


_PR_SET_PDEATHSIG = 1


@dataclass
class Service:
    name: str
    argv: list[str]
    env: dict[str, str]
    port: int
    process: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None
    starts: int = 0
    pids: list[int] = field(default_factory=list)
    """Every process id this service has had, so arrivals can be traced to it."""

    def start(self) -> None:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        if self.log is None:
            self.log = (LOG_DIR / f"{self.name}.log").open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own services, fixed argv
            self.argv,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            preexec_fn=_terminate_with_parent,
        )
        self.starts += 1
        self.pids.append(self.process.pid)

    def exited(self) -> bool:
        """True when the process ended without the harness killing or stopping it."""
        return self.process is not None and self.process.poll() is not None

    async def wait_ready(self, within: float = 120) -> float:
        """Seconds until `/readyz` answers 200; raises when the process exits first."""
        started = time.monotonic()
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() - started < within:
                if self.process is None or self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited; see {LOG_DIR}/{self.name}.log")
                try:
                    response = await client.get(f"http://127.0.0.1:{self.port}/readyz")
                    if response.status_code == 200:
                        return time.monotonic() - started
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready within {within} s")

    def kill(self) -> None:
        """SIGKILL: the crash the fault tests are about."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.log is not None:
            self.log.close()
            self.log = None


@dataclass
class Stack:
    """Intake, matcher and notifier for one run; `smtp_port` is the mail sink.

    `bootstrap` and `server_dsn` default to the shared broker and server (or what
    KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL say); the fault tests pass an isolated pair.
    `env` adds or overrides variables per service (e.g. a short retry schedule).
    """

    smtp_port: int
    bootstrap: str = BOOTSTRAP
    server_dsn: str = SERVER_DSN
    env: dict[str, dict[str, str]] = field(default_factory=dict)
    notifier_from_start: bool = False
    """Let the notifier's new group read the topics from the beginning (its own default)."""
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    services: dict[str, Service] = field(default_factory=dict)
    database: str = ""

    @property
    def dsn(self) -> str:
        return f"{self.server_dsn.rpartition('/')[0]}/{self.database}"

    @property
    def intake_url(self) -> str:
        return f"http://127.0.0.1:{self.services['intake'].port}"

    async def start(self, only: tuple[str, ...] = ("intake", "matcher", "notifier")) -> None:
        await ensure_topics(self.bootstrap)
        self.database = f"koppel_bench_{self.run_id}"
        admin = await asyncpg.connect(self.server_dsn)
        try:
            await admin.execute(f'CREATE DATABASE "{self.database}"')
        finally:
            await admin.close()
        common = {
            **os.environ,
            "KOPPEL_ENVIRONMENT": "development",
            **development_secret_keys(),
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "DATABASE_URL": self.dsn,
            "LOG_LEVEL": "WARNING",
            "LOG_JSON": "true",
        }
        ports = {name: free_port() for name in only}
        envs = {
            "intake": {
                "INTAKE_API_TOKENS": f"bench:{TOKEN}",
                "INTAKE_PORT": str(ports.get("intake", 0)),
                "INTAKE_RAW_CONSUMER": "false",
            },
            "matcher": {
                "MATCHER_GROUP_ID": f"bench-matcher-{self.run_id}",
                "MATCHER_INITIAL_OFFSET": "latest",
                "MATCHER_PORT": str(ports.get("matcher", 0)),
            },
            "notifier": {
                "NOTIFIER_GROUP_ID": f"bench-notifier-{self.run_id}",
                "NOTIFIER_PORT": str(ports.get("notifier", 0)),
                "SMTP_HOST": "127.0.0.1",
                "SMTP_PORT": str(self.smtp_port),
                "SMTP_FROM": "Koppel <opdrachten@koppel.bench>",
                "PUBLIC_BASE_URL": "http://127.0.0.1:8002",
                "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8,::1/128",
            },
        }
        if "notifier" in only and not self.notifier_from_start:
            await start_group_at_end(
                self.bootstrap, f"bench-notifier-{self.run_id}", (MATCHES, CONSULTANTS)
            )
        for name in only:
            self.services[name] = Service(
                name=name,
                argv=[sys.executable, "-m", f"koppel_{name}"],
                env={**common, **envs[name], **self.env.get(name, {})},
                port=ports[name],
            )
            self.services[name].start()
        await asyncio.gather(*(service.wait_ready() for service in self.services.values()))

    async def stop(self) -> None:
        for service in self.services.values():
            service.stop()
        if self.database:
            await drop_database(self.server_dsn, self.database)
