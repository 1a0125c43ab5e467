"""The uvicorn server every service runs, configured from `ServiceSettings` in one place.

Why each limit is what it is: the settings' descriptions and docs/security.md (HTTP servers).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

from koppel.settings import ServiceSettings

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def server_config(app: Any, settings: ServiceSettings, *, host: str, port: int) -> uvicorn.Config:
    """uvicorn's `Config` for `app` with the shared HTTP limits.

    `http="h11"`: only uvicorn's h11 protocol bounds the size of a request's head
    (`h11_max_incomplete_event_size`); with httptools it is unbounded. Logging is left to
    the service's structlog setup, and no proxy headers are trusted (no service sits
    behind a proxy it could tell apart from a client).
    """
    return uvicorn.Config(
        FramingGuard(app, max_target_bytes=settings.http_max_header_bytes),
        host=host,
        port=port,
        http="h11",
        limit_concurrency=settings.http_limit_concurrency,
        timeout_keep_alive=settings.http_keep_alive_seconds,
        h11_max_incomplete_event_size=settings.http_max_header_bytes,
        timeout_graceful_shutdown=settings.http_shutdown_grace_seconds,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
    )


class FramingGuard:
    """Refuses, before the application sees them, requests h11 parses but should not pass.

    - `Content-Length` together with `Transfer-Encoding`: the request smuggling pattern
      (RFC 9112 §6.1); h11 would silently prefer the chunked framing.
    - A request target longer than the head limit: h11 bounds a head only while it is
      still arriving, so a long target that comes in one read would reach the routes.

    Both are a `400` problem and the connection is closed, as a parser refusal would be.
    """

    def __init__(self, app: Any, *, max_target_bytes: int) -> None:
        self._app = app
        self._max_target_bytes = max_target_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            problem = self._problem(scope)
            if problem is not None:
                await _refuse(send, problem)
                return
        await self._app(scope, receive, send)

    def _problem(self, scope: Scope) -> str | None:
        names = {name.lower() for name, _ in scope.get("headers", ())}
        if b"content-length" in names and b"transfer-encoding" in names:
            return "Content-Length and Transfer-Encoding must not be sent together"
        target = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
        if target > self._max_target_bytes:
            return f"the request target exceeds {self._max_target_bytes} bytes"
        return None


async def _refuse(send: Send, detail: str) -> None:
    body = json.dumps(
        {"type": "about:blank", "title": "Bad Request", "status": 400, "detail": detail}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 400,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
