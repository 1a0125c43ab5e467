"""The uvicorn server every service runs, configured from `ServiceSettings` in one place.

Why each limit is what it is: the settings' descriptions and docs/security-http.md.
"""

from __future__ import annotations

from typing import Any

import uvicorn

from koppel.settings import ServiceSettings


def server_config(app: Any, settings: ServiceSettings, *, host: str, port: int) -> uvicorn.Config:
    """uvicorn's `Config` for `app` with the shared HTTP limits.

    `http="h11"`: only uvicorn's h11 protocol bounds the size of a request's head
    (`h11_max_incomplete_event_size`); with httptools it is unbounded. Logging is left to
    the service's structlog setup, and no proxy headers are trusted (no service sits
    behind a proxy it could tell apart from a client).
    """
    return uvicorn.Config(
        app,
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
