"""`koppel-intake` as a process: serves, publishes, degrades without a broker, stops cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from koppel.cloudevents import decode
from koppel.topics import ASSIGNMENTS
from koppel_demo.sandbox import free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "process-token"


def _start(bootstrap: str, port: int) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "KOPPEL_ENVIRONMENT": "development",
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "INTAKE_API_TOKENS": f"proc:{TOKEN}",
        "INTAKE_PORT": str(port),
        "INTAKE_HOST": "127.0.0.1",
        "INTAKE_RAW_CONSUMER": "false",
        "INTAKE_PUBLISH_TIMEOUT_SECONDS": "2",
        "LOG_JSON": "true",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "koppel_intake"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


async def _wait_until_serving(client: httpx.AsyncClient, process: subprocess.Popen[str]) -> None:
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
    pytest.fail("koppel-intake did not start serving")


def _terminate(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    return output


async def test_process_publishes_and_stops_gracefully_on_sigterm(
    kafka: str,
    reader: Callable[[str], Awaitable[Any]],
    make_assignment: Callable[..., dict[str, Any]],
    new_id: Callable[[str], str],
) -> None:
    port = free_port()
    assignment_id = new_id("A")
    assignments = await reader(ASSIGNMENTS)
    process = _start(kafka, port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            await _wait_until_serving(client, process)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if (await client.get("/readyz")).status_code == 200:
                    break
                await asyncio.sleep(0.1)
            response = await client.put(
                f"/v1/assignments/{assignment_id}",
                json=make_assignment(assignment_id),
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
    finally:
        output = _terminate(process)

    assert response.status_code == 202, output
    [record] = await assignments.wait_for(assignment_id.encode())
    assert decode(record.value, record.headers).id == response.json()["event_id"]
    assert process.returncode in {0, -signal.SIGTERM}
    assert '"intake stopped"' in output
    assert TOKEN not in output


async def test_without_a_broker_it_stays_alive_and_answers_503(
    make_assignment: Callable[..., dict[str, Any]],
) -> None:
    port = free_port()
    process = _start(f"127.0.0.1:{free_port()}", port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            await _wait_until_serving(client, process)
            health = await client.get("/healthz")
            ready = await client.get("/readyz")
            response = await client.put(
                "/v1/assignments/A-1",
                json=make_assignment("A-1"),
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
    finally:
        _terminate(process)

    assert health.status_code == 200
    assert ready.status_code == 503
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
