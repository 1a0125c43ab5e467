"""The matcher's operations API (port 8001): matches from the ledger, health and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Protocol

from fastapi import Depends, FastAPI, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from koppel.contract.common import ID_PATTERN
from koppel.http_metrics import RequestLatencyMiddleware
from koppel_matcher.adapters.match_queries import CurrentMatch, MatchQueries
from koppel_matcher.metrics import HTTP_LATENCY


class AssignmentMatches(BaseModel):
    assignment_id: str
    matches: list[CurrentMatch]


class ConsultantMatches(BaseModel):
    consultant_id: str
    matches: list[CurrentMatch]


class Readiness(Protocol):
    """What /readyz asks: the database, the broker, and whether the initial load is done."""

    async def database_ok(self) -> bool: ...

    async def broker_ok(self) -> bool: ...

    def loaded(self) -> bool: ...


EntityIdPath = Annotated[str, Path(pattern=ID_PATTERN)]
Limit = Annotated[int, Query(ge=1, le=1000)]


def _queries(request: Request) -> MatchQueries:
    queries: MatchQueries = request.app.state.queries
    return queries


Queries = Annotated[MatchQueries, Depends(_queries)]


def create_app(
    queries: MatchQueries,
    readiness: Readiness,
    *,
    on_shutdown: Callable[[], Awaitable[None]] | None = None,
) -> FastAPI:
    """The app; `on_shutdown` runs in the lifespan's shutdown, before uvicorn exits."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if on_shutdown is not None:
            await on_shutdown()

    app = FastAPI(title="Koppel matcher", version="1", lifespan=lifespan)
    app.state.queries = queries
    app.add_middleware(RequestLatencyMiddleware, histogram=HTTP_LATENCY)

    @app.get("/v1/assignments/{assignment_id}/matches")
    async def assignment_matches(
        assignment_id: EntityIdPath, queries: Queries, limit: Limit = 100
    ) -> AssignmentMatches:
        """Consultants currently matched to the assignment, best score first."""
        matches = await queries.for_assignment(assignment_id, limit)
        return AssignmentMatches(assignment_id=assignment_id, matches=matches)

    @app.get("/v1/consultants/{consultant_id}/matches")
    async def consultant_matches(
        consultant_id: EntityIdPath, queries: Queries, limit: Limit = 100
    ) -> ConsultantMatches:
        """Assignments currently matched to the consultant, best score first."""
        matches = await queries.for_consultant(consultant_id, limit)
        return ConsultantMatches(consultant_id=consultant_id, matches=matches)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        checks = {
            "database": await readiness.database_ok(),
            "broker": await readiness.broker_ok(),
            "initial_load": readiness.loaded(),
        }
        ready = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": checks},
            status_code=200 if ready else 503,
        )

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
