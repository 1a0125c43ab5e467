"""The matcher's operations API (port 8001): matches from the ledger, health and metrics.

Matches name consultants and say why they fit: every `/v1` route needs a bearer token of
`MATCHER_API_TOKENS`. Health and metrics stay open for probes and scrapers; the metrics
are labelled by route template, shard and topic, never by an id.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Protocol

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from koppel.api_tokens import ApiTokens, BearerRefusedError, challenge
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


_NOT_READY_BECAUSE = {
    "database": "database unreachable",
    "broker": "broker unreachable",
    "initial_load": "initial load not finished",
}

EntityIdPath = Annotated[str, Path(pattern=ID_PATTERN)]
Limit = Annotated[int, Query(ge=1, le=1000)]


def _queries(request: Request) -> MatchQueries:
    queries: MatchQueries = request.app.state.queries
    return queries


Queries = Annotated[MatchQueries, Depends(_queries)]

# Documents the scheme in OpenAPI; `_caller` checks the header itself (auto_error=False).
_bearer = HTTPBearer(auto_error=False, description="a token from MATCHER_API_TOKENS")


async def _caller(
    request: Request, _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> str:
    # Solved before the path and query parameters: an anonymous caller learns nothing.
    tokens: ApiTokens = request.app.state.tokens
    return tokens.authenticate(request.headers.get("authorization", ""))


async def _unauthorized(_request: Request, exc: Exception) -> Response:
    """401 as an RFC 9457 problem, with the challenge RFC 6750 asks for."""
    return JSONResponse(
        {"type": "about:blank", "title": "Unauthorized", "status": 401, "detail": str(exc)},
        status_code=401,
        headers=challenge("koppel-matcher"),
        media_type="application/problem+json",
    )


def create_app(
    queries: MatchQueries,
    readiness: Readiness,
    tokens: ApiTokens,
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
    app.state.tokens = tokens
    app.add_middleware(RequestLatencyMiddleware, histogram=HTTP_LATENCY)
    app.add_exception_handler(BearerRefusedError, _unauthorized)
    reads = APIRouter(prefix="/v1", dependencies=[Depends(_caller)])

    @reads.get("/assignments/{assignment_id}/matches")
    async def assignment_matches(
        assignment_id: EntityIdPath, queries: Queries, limit: Limit = 100
    ) -> AssignmentMatches:
        """Consultants currently matched to the assignment, best score first."""
        matches = await queries.for_assignment(assignment_id, limit)
        return AssignmentMatches(assignment_id=assignment_id, matches=matches)

    @reads.get("/consultants/{consultant_id}/matches")
    async def consultant_matches(
        consultant_id: EntityIdPath, queries: Queries, limit: Limit = 100
    ) -> ConsultantMatches:
        """Assignments currently matched to the consultant, best score first."""
        matches = await queries.for_consultant(consultant_id, limit)
        return ConsultantMatches(consultant_id=consultant_id, matches=matches)

    app.include_router(reads)

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
        failing = [name for name, ok in checks.items() if not ok]
        if not failing:
            return JSONResponse({"status": "ready", "checks": checks})
        reason = "; ".join(_NOT_READY_BECAUSE[name] for name in failing)
        body = {"status": "not_ready", "reason": reason, "checks": checks}
        return JSONResponse(body, status_code=503)

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
