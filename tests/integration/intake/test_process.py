"""`koppel-intake` as a process: serves, publishes, degrades without a broker, stops cleanly."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import Callable

import httpx
import pytest

from koppel.cloudevents import decode
from koppel.topics import ASSIGNMENTS
from koppel_demo.sandbox import free_port
from koppel_testing import builders
from koppel_testing.integration_processes import start_service, stop_service, wait_until_serving
from koppel_testing.kafka_reading import OpenReader

pytestmark = pytest.mark.integration

TOKEN = "process-token"


def _start(bootstrap: str, port: int) -> subprocess.Popen[str]:
    env = {
        "KOPPEL_ENVIRONMENT": "development",
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "INTAKE_API_TOKENS": f"proc:{TOKEN}",
        "INTAKE_PORT": str(port),
        "INTAKE_HOST": "127.0.0.1",
        "INTAKE_RAW_CONSUMER": "false",
        "INTAKE_PUBLISH_TIMEOUT_SECONDS": "2",
        "LOG_JSON": "true",
    }
    return start_service("koppel_intake", env)


async def test_process_publishes_and_stops_gracefully_on_sigterm(
    kafka: str,
    reader: OpenReader,
    new_id: Callable[[str], str],
) -> None:
    port = free_port()
    assignment_id = new_id("A")
    assignments = await reader(ASSIGNMENTS)
    process = _start(kafka, port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            await wait_until_serving(client, process)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if (await client.get("/readyz")).status_code == 200:
                    break
                await asyncio.sleep(0.1)
            response = await client.put(
                f"/v1/assignments/{assignment_id}",
                json=builders.assignment_document(assignment_id),
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
    finally:
        output = stop_service(process)

    assert response.status_code == 202, output
    [record] = await assignments.wait_for(assignment_id.encode())
    assert decode(record.value, record.headers).id == response.json()["event_id"]
    assert process.returncode in {0, -signal.SIGTERM}
    assert '"intake stopped"' in output
    assert TOKEN not in output


async def test_without_a_broker_it_stays_alive_and_answers_503() -> None:
    port = free_port()
    process = _start(f"127.0.0.1:{free_port()}", port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            await wait_until_serving(client, process)
            health = await client.get("/healthz")
            ready = await client.get("/readyz")
            response = await client.put(
                "/v1/assignments/A-1",
                json=builders.assignment_document("A-1"),
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
    finally:
        stop_service(process)

    assert health.status_code == 200
    assert ready.status_code == 503
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
