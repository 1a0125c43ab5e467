"""The matcher's read API (port 8001): matches from the ledger, why a pair does not match,
health and metrics.

Matches name consultants and say why they fit: every `/v1` route needs a bearer token of
`MATCHER_API_TOKENS`. Health and metrics stay open for probes and scrapers; the metrics
are labelled by route template, shard and topic, never by an id.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Literal, Protocol

import structlog
from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError

from koppel.api_tokens import ApiTokens
from koppel.contract import Assignment
from koppel.contract.common import ID_PATTERN
from koppel.contract.match import match_id_for
from koppel.http_metrics import RequestLatencyMiddleware
from koppel.http_problems import install_problem_handlers, not_found, problem_responses
from koppel.vocabulary import Language
from koppel_matcher.adapters.match_queries import (
    After,
    CurrentMatch,
    MatchQueries,
    MatchStatus,
    PageQuery,
)
from koppel_matcher.domain.verdict import verdict
from koppel_matcher.entrypoints.pages import decode_cursor, encode_cursor, negotiated_language
from koppel_matcher.entrypoints.read_bodies import (
    AssignmentMatches,
    CandidateVerdict,
    ConsultantMatches,
    verdict_body,
)
from koppel_matcher.entrypoints.translation import TranslationError, assignment_spec, profile_spec
from koppel_matcher.metrics import HTTP_LATENCY

log = structlog.get_logger(__name__)


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
Limit = Annotated[int, Query(ge=1, le=1000, description="matches per page (at most 1000)")]
Cursor = Annotated[
    str | None,
    Query(max_length=512, description="`next_cursor` of the previous page; omit for the first"),
]
MinScore = Annotated[float, Query(ge=0, le=1, description="only matches scoring at least this")]
StatusFilter = Annotated[
    Literal["found", "withdrawn", "all"],
    Query(description="current matches (`found`, the default), withdrawn ones, or both"),
]
_STATUSES: dict[str, tuple[MatchStatus, ...]] = {
    "found": ("found",),
    "withdrawn": ("withdrawn",),
    "all": ("found", "withdrawn"),
}


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


def _page_query(limit: int, min_score: float, status: str, cursor: str | None) -> PageQuery:
    """One more than `limit`: whether that one comes back says if there is a next page."""
    after = None if cursor is None else decode_cursor(cursor)
    return PageQuery(limit=limit + 1, min_score=min_score, statuses=_STATUSES[status], after=after)


def _next(
    request: Request, found: list[CurrentMatch], limit: int, key: Callable[[CurrentMatch], str]
) -> tuple[list[CurrentMatch], str | None, str | None]:
    """The page, and the cursor and path of the next one (None on the last page)."""
    if len(found) <= limit:
        return found, None, None
    page = found[:limit]
    cursor = encode_cursor(After(score=page[-1].score, key=key(page[-1])))
    url = request.url.include_query_params(cursor=cursor)
    return page, cursor, f"{url.path}?{url.query}"


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
    install_problem_handlers(app, realm="koppel-matcher")
    reads = APIRouter(
        prefix="/v1", dependencies=[Depends(_caller)], responses=problem_responses(401, 422)
    )

    @reads.get("/matches/{match_id}", responses=problem_responses(404))
    async def match(match_id: EntityIdPath, queries: Queries) -> CurrentMatch:
        """One match by its id, found or withdrawn (intake checks answers against it)."""
        found = await queries.by_id(match_id)
        if found is None:
            raise not_found("no match with this id")
        return found

    @reads.get("/assignments/{assignment_id}/matches")
    async def assignment_matches(
        assignment_id: EntityIdPath,
        queries: Queries,
        request: Request,
        limit: Limit = 100,
        cursor: Cursor = None,
        min_score: MinScore = 0.0,
        status: StatusFilter = "found",
    ) -> AssignmentMatches:
        """The assignment's matches, best score first (then by consultant id), a page at a
        time."""
        query = _page_query(limit, min_score, status, cursor)
        found = await queries.for_assignment(assignment_id, query)
        page, next_cursor, next_path = _next(request, found, limit, lambda m: m.consultant_id)
        return AssignmentMatches(
            assignment_id=assignment_id, matches=page, next_cursor=next_cursor, next=next_path
        )

    @reads.get("/consultants/{consultant_id}/matches")
    async def consultant_matches(
        consultant_id: EntityIdPath,
        queries: Queries,
        request: Request,
        limit: Limit = 100,
        cursor: Cursor = None,
        min_score: MinScore = 0.0,
        status: StatusFilter = "found",
    ) -> ConsultantMatches:
        """The consultant's matches, best score first (then by assignment id), a page at a
        time."""
        query = _page_query(limit, min_score, status, cursor)
        found = await queries.for_consultant(consultant_id, query)
        page, next_cursor, next_path = _next(request, found, limit, lambda m: m.assignment_id)
        return ConsultantMatches(
            consultant_id=consultant_id, matches=page, next_cursor=next_cursor, next=next_path
        )

    @reads.get(
        "/assignments/{assignment_id}/candidates/{consultant_id}",
        responses=problem_responses(404),
    )
    async def candidate(
        assignment_id: EntityIdPath,
        consultant_id: EntityIdPath,
        queries: Queries,
        language: Annotated[
            Language | None, Query(description="overrides Accept-Language; default nl")
        ] = None,
        accept_language: Annotated[str | None, Header(max_length=1024)] = None,
    ) -> CandidateVerdict:
        """Whether the consultant matches the assignment now and, if not, which hard filters
        fail, in the caller's language (`?language=`, else `Accept-Language`, else Dutch)."""
        chosen = negotiated_language(language, accept_language)
        documents = await queries.pair(assignment_id, consultant_id)
        unknown = not_found(
            "the matcher knows no such assignment, or no such consultant"
            " (it keeps only active profiles with consent)"
        )
        if documents is None:
            raise unknown
        try:
            a = assignment_spec(Assignment.model_validate(documents.assignment))
            p = profile_spec(documents.profile)
        except (ValidationError, TranslationError):
            log.error("stored_pair_unreadable", assignment_id=assignment_id)
            raise unknown from None
        match_id = match_id_for(assignment_id, consultant_id)
        known = await queries.by_id(match_id)
        return verdict_body(
            verdict(a, p, datetime.now(UTC), chosen),
            assignment_id=assignment_id,
            consultant_id=consultant_id,
            match_id=match_id,
            language=chosen,
            status=None if known is None else known.status,
        )

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
