"""HTTP request latency for a service's /metrics, as a plain ASGI middleware."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Histogram

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def http_latency_histogram(service: str, registry: CollectorRegistry = REGISTRY) -> Histogram:
    """`koppel_<service>_http_request_duration_seconds{route,method,status}`."""
    return Histogram(
        f"koppel_{service}_http_request_duration_seconds",
        "Time to answer an HTTP request, by route template, method and status.",
        ["route", "method", "status"],
        registry=registry,
    )


class ResponseStatus:
    """An ASGI `send` that notes the status the app answers with (500 until it answers)."""

    def __init__(self, send: Send) -> None:
        self.code = 500
        self._send = send

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.code = message["status"]
        await self._send(message)


def route_template(scope: Scope) -> str:
    """The matched route's template (`/v1/assignments/{id}`), so ids never become labels."""
    return getattr(scope.get("route"), "path", None) or "unmatched"


class RequestLatencyMiddleware:
    """Times every HTTP request; labels by route *template* so ids never explode the series."""

    def __init__(self, app: ASGIApp, histogram: Histogram) -> None:
        self.app = app
        self._histogram = histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = ResponseStatus(send)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, status)
        finally:
            self._histogram.labels(
                route_template(scope), scope["method"], str(status.code)
            ).observe(time.perf_counter() - started)
