"""HTTP on port 8002: health, readiness, metrics, one-click unsubscribe (RFC 8058) and the
consultant's page with its answer links (`consultant_page`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, FastAPI, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from koppel.http_metrics import RequestLatencyMiddleware
from koppel_notifier.adapters.unsubscribe_tokens import InvalidToken, UnsubscribeTokens
from koppel_notifier.metrics import NotifierMetrics
from koppel_notifier.service_layer.ports import Unsubscribes

Token = Annotated[str, Path(min_length=1, max_length=512)]

_NOT_READY_BECAUSE = {
    "database": "database unreachable",
    "consumer": "consumer has not joined its group yet",
}


def create_app(
    *,
    store: Unsubscribes,
    tokens: UnsubscribeTokens,
    metrics: NotifierMetrics,
    ready: Callable[[], Awaitable[dict[str, bool]]],
    consultant_page: APIRouter,
) -> FastAPI:
    app = FastAPI(title="Koppel notifier", version="1", docs_url=None, redoc_url=None)
    app.add_middleware(RequestLatencyMiddleware, histogram=metrics.http_latency)
    pages = Environment(
        loader=PackageLoader("koppel_notifier", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",)),
    )

    def page(name: str, status: int = 200, **context: str) -> HTMLResponse:
        headers = {"cache-control": "no-store", "referrer-policy": "no-referrer"}
        return HTMLResponse(pages.get_template(name).render(context), status, headers=headers)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        checks = await ready()
        failing = [name for name, ok in checks.items() if not ok]
        if not failing:
            return JSONResponse({"ready": True, "checks": checks})
        reason = "; ".join(_NOT_READY_BECAUSE.get(name, f"{name} not ready") for name in failing)
        body = {"ready": False, "reason": reason, "checks": checks}
        return JSONResponse(body, status_code=503)

    @app.get("/metrics")
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/unsubscribe/{token}", response_class=HTMLResponse)
    async def confirm_page(token: Token, request: Request) -> HTMLResponse:
        """A page with a button; a GET never unsubscribes (link scanners follow GETs)."""
        try:
            tokens.consultant_of(token)
        except InvalidToken:
            return page("invalid_link.html", 404)
        return page("unsubscribe_confirm.html", action=str(request.url.path))

    @app.post("/v1/unsubscribe/{token}", response_class=HTMLResponse)
    async def unsubscribe(token: Token) -> HTMLResponse:
        """RFC 8058 one-click (and the page's button): effective at once, idempotent."""
        try:
            consultant_id = tokens.consultant_of(token)
        except InvalidToken:
            return page("invalid_link.html", 404)
        await store.unsubscribe(consultant_id)
        return page("unsubscribed.html")

    app.include_router(consultant_page)
    return app
