"""Per-request trace context, log context and Prometheus metrics, as a plain ASGI middleware."""

from __future__ import annotations

import time

import structlog
from starlette.types import ASGIApp, Receive, Scope, Send

from koppel import tracing
from koppel.http_metrics import ResponseStatus, route_template
from koppel_intake import metrics

log = structlog.get_logger(__name__)


class ObservabilityMiddleware:
    """Continues or starts the W3C trace, binds it in logs, counts and times every request.

    It runs in the request's own task, so what it binds never leaks into another request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, tracing.PLAIN_HEADER.encode())
        traceparent = tracing.continue_trace(incoming)
        scope.setdefault("state", {})["traceparent"] = traceparent
        status = ResponseStatus(send)
        started = time.perf_counter()
        # Restore the log context afterwards, whatever the route bound (event and entity
        # ids): under uvicorn each request has its own task, but callers in one task do not.
        outer = structlog.contextvars.get_contextvars()
        structlog.contextvars.bind_contextvars(
            **tracing.log_context(traceparent),
            method=scope["method"],
            path=scope["path"],
        )
        try:
            await self.app(scope, receive, status)
        finally:
            elapsed = time.perf_counter() - started
            template = route_template(scope)
            metrics.HTTP_REQUESTS.labels(
                route=template, method=scope["method"], status=str(status.code)
            ).inc()
            metrics.HTTP_LATENCY.labels(
                route=template, method=scope["method"], status=str(status.code)
            ).observe(elapsed)
            if template not in {"/healthz", "/readyz", "/metrics"}:
                log.info("request handled", status=status.code, ms=round(elapsed * 1000, 1))
            structlog.contextvars.clear_contextvars()
            structlog.contextvars.bind_contextvars(**outer)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            try:
                return str(value.decode("latin-1"))
            except UnicodeDecodeError:
                return None
    return None
