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


class RequestLatencyMiddleware:
    """Times every HTTP request; labels by route *template* so ids never explode the series."""

    def __init__(self, app: ASGIApp, histogram: Histogram) -> None:
        self.app = app
        self._histogram = histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self._histogram.labels(route, scope["method"], str(status)).observe(
                time.perf_counter() - started
            )
