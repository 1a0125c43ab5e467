"""The services as processes: alive and saying why while PostgreSQL is away; HTTP limits on.

Each process is started as `python -m <package>` with a DATABASE_URL whose port nothing
listens on: it must keep serving `/healthz`, answer `/readyz` with 503 and a reason that
names no host, keep running, and stop cleanly on SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time

import httpx
import pytest

from koppel_demo.sandbox import free_port
from koppel_testing.integration_processes import start_service, stop_service, wait_until_serving

pytestmark = pytest.mark.integration

HEADER_LIMIT = 4096


def _start(package: str, port: int, kafka: str, database_port: int) -> subprocess.Popen[str]:
    env = {
        "KOPPEL_ENVIRONMENT": "development",
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "DATABASE_URL": f"postgresql://koppel:koppel@127.0.0.1:{database_port}/koppel",
        "PORT": str(port),
        "INTAKE_HOST": "127.0.0.1",
        "MATCHER_HOST": "127.0.0.1",
        "NOTIFIER_HOST": "127.0.0.1",
        "INTAKE_API_TOKENS": "proc:process-token-0123456789abcdef0123456789",
        "INTAKE_RAW_CONSUMER": "false",
        "NOTIFIER_UNSUBSCRIBE_SECRET": "process-test-secret-0123456789abcdef0123",
        "HTTP_MAX_HEADER_BYTES": str(HEADER_LIMIT),
        "LOG_JSON": "true",
    }
    # PORT must win over a service-specific port the test's own environment may set.
    return start_service(package, env, unset=("INTAKE_PORT", "MATCHER_PORT", "NOTIFIER_PORT"))


@pytest.mark.parametrize("package", ["koppel_matcher", "koppel_notifier"])
async def test_without_the_database_the_service_waits_alive_and_says_why(
    package: str, kafka: str
) -> None:
    port, database_port = free_port(), free_port()
    process = _start(package, port, kafka, database_port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            await wait_until_serving(client, process)
            assert (await client.get("/healthz")).status_code == 200

            async def says_unreachable() -> bool:
                ready = await client.get("/readyz")
                assert ready.status_code == 503
                return bool(ready.json().get("reason") == "database unreachable")

            deadline = time.monotonic() + 30
            while not await says_unreachable():
                assert time.monotonic() < deadline, "no reason given on /readyz"
                await asyncio.sleep(0.2)
            ready = await client.get("/readyz")
            assert ready.json()["ready"] is False
            assert "127.0.0.1" not in ready.text
            assert str(database_port) not in ready.text

            await asyncio.sleep(3.0)  # several retries later
            assert process.poll() is None, "the process exited"
            assert (await client.get("/healthz")).status_code == 200
    finally:
        output = stop_service(process)
    assert process.returncode in {0, -signal.SIGTERM}, output
    assert f":{database_port}" not in output  # the DSN's host and port are never logged


async def _status_of_slow_request(port: int, padding: int) -> bytes:
    """Send a request head with a `padding`-byte header, pausing before its end.

    The pause leaves the head incomplete in the server's buffer, which is what the
    limit bounds (a head arriving in one read is parsed whole).
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: svc\r\nX-Padding: " + b"a" * padding)
        await writer.drain()
        await asyncio.sleep(0.3)
        writer.write(b"\r\nConnection: close\r\n\r\n")
        await writer.drain()
        async with asyncio.timeout(10):
            return (await reader.readline()).split(b" ")[1]
    finally:
        writer.close()


@pytest.mark.parametrize("package", ["koppel_intake", "koppel_matcher", "koppel_notifier"])
async def test_a_request_head_over_the_configured_limit_is_refused(
    package: str, kafka: str
) -> None:
    port = free_port()
    process = _start(package, port, kafka, free_port())
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            await wait_until_serving(client, process)
        assert await _status_of_slow_request(port, HEADER_LIMIT // 2) == b"200"
        assert await _status_of_slow_request(port, HEADER_LIMIT + 1000) == b"400"
        assert process.poll() is None
    finally:
        stop_service(process)
