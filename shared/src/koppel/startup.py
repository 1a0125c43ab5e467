"""Starting a service whose dependencies may not be there yet, without exiting.

A service that exits when PostgreSQL is not up yet crash-loops, and says why only in the
log of each short life. Instead the HTTP server starts first, behind a `StartupGate` that
answers `/healthz` (alive) and `/readyz` (503 with the reason) itself, while
`keep_trying` connects and migrates with a capped, jittered backoff; once the service is
built the gate hands every request to its app. `serve_behind_gate` runs that sequence,
the same for every service with dependencies to wait for.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Coroutine, MutableMapping
from typing import Any, TypeVar

import asyncpg
import structlog
import uvicorn
from aiokafka.errors import KafkaError

from koppel.backoff import Backoff
from koppel.http_server import server_config
from koppel.settings import ServiceSettings

log = structlog.get_logger(__name__)

T = TypeVar("T")
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DATABASE_UNREACHABLE = "database unreachable"
_UNREACHABLE = (
    OSError,  # refused, no route, unknown host
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,  # starting up, shutting down, in recovery
    asyncpg.InterfaceError,
)


def startup_reason(error: Exception) -> str:
    """What keeps the service from starting, for `/readyz`: never a DSN, host or password."""
    if isinstance(error, asyncpg.InvalidAuthorizationSpecificationError):
        return "database refused the credentials"
    if isinstance(error, asyncpg.InvalidCatalogNameError):
        return "database does not exist"
    if isinstance(error, KafkaError):
        return "broker unreachable"
    if isinstance(error, _UNREACHABLE):
        return DATABASE_UNREACHABLE
    return f"start-up failed ({type(error).__name__})"


class StartupGate:
    """An ASGI app that stands in for the service's own until `open(app)`.

    Until then `/healthz` is 200 (the process is alive: do not restart it) and everything
    else 503 with `{"ready": false, "reason": ...}`. It also owns the lifespan, so that
    `on_shutdown` runs on SIGTERM whether or not the service got as far as starting.
    """

    def __init__(self) -> None:
        self.reason = "starting"
        self.on_shutdown: Callable[[], Awaitable[None]] | None = None
        self._app: ASGIApp | None = None

    def open(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if self._app is not None:
            await self._app(scope, receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["path"] == "/healthz":
            await _json(send, 200, {"status": "ok"})
            return
        body = {"ready": False, "status": "not_ready", "reason": self.reason}
        await _json(send, 503, body, retry_after=True)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.on_shutdown is not None:
                    await self.on_shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def keep_trying(
    start: Callable[[], Awaitable[T]], gate: StartupGate, *, backoff: Backoff | None = None
) -> T:
    """`await start()` until it succeeds; each failure sets the gate's reason and waits.

    Every error is retried: one that will not pass by itself (a wrong password, a bug in a
    migration) then shows on `/readyz` of a live process rather than in a restart loop.
    """
    backoff = backoff or Backoff(initial_s=0.5, cap_s=30.0)
    while True:
        try:
            return await start()
        except Exception as exc:
            gate.reason = startup_reason(exc)
            delay = backoff.next_delay()
            # The type only: a connection error's text names the host and port.
            log.warning(
                "start-up failed; retrying",
                reason=gate.reason,
                error=type(exc).__name__,
                retry_in_s=round(delay, 2),
            )
            await asyncio.sleep(delay)


async def _json(
    send: Send, status: int, body: dict[str, Any], *, retry_after: bool = False
) -> None:
    content = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
    ]
    if retry_after:
        headers.append((b"retry-after", b"5"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


async def stop_started(starting: asyncio.Task[T], stop: Callable[[T], Awaitable[None]]) -> None:
    """Cancel a start still under way, or `stop` what it started (for the shutdown)."""
    if not starting.done():
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)
        return
    if starting.cancelled() or starting.exception() is not None:
        return
    await stop(starting.result())


async def serve_behind_gate(
    settings: ServiceSettings,
    *,
    host: str,
    port: int,
    start: Callable[[StartupGate], Coroutine[Any, Any, T]],
    stop: Callable[[T], Awaitable[None]],
) -> None:
    """Serve HTTP at once behind a `StartupGate` while `start(gate)` runs, until SIGTERM.

    `start` builds the service (through `keep_trying`, so it never gives up) and opens the
    gate to the service's app. On SIGTERM or SIGINT a start still under way is cancelled and
    a finished one is stopped with `stop`.
    """
    gate = StartupGate()
    starting = asyncio.create_task(start(gate), name="start")

    async def shutdown() -> None:
        await stop_started(starting, stop)

    # Stopping in the lifespan: uvicorn re-raises SIGTERM once its shutdown is complete.
    gate.on_shutdown = shutdown
    server = uvicorn.Server(server_config(gate, settings, host=host, port=port))
    try:
        await server.serve()
    finally:
        await shutdown()
