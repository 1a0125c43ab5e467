"""The FastAPI application: routes of DOMAIN.md §5 and §8.1, health, metrics and OpenAPI."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Body, Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ValidationError

from koppel.api_tokens import ApiTokens
from koppel.contract import Assignment, AssignmentClose, ConsultantProfile, ResponseCommand
from koppel.contract.common import ID_PATTERN, ContractModel
from koppel.http_problems import (
    MAX_LISTED_ERRORS,
    VALIDATION_TYPE,
    FieldProblem,
    ProblemError,
    field_name,
    invalid_field,
    not_found,
    problem_responses,
    validation_detail,
)
from koppel_intake.entrypoints.http.bodies import (
    ASSIGNMENT_EXAMPLES,
    CONSULTANT_EXAMPLES,
    RESPONSE_EXAMPLES,
    Accepted,
    AssignmentUpsert,
    ConsultantUpsert,
    Health,
)
from koppel_intake.entrypoints.http.guard import guarded_route
from koppel_intake.entrypoints.http.observability import ObservabilityMiddleware
from koppel_intake.entrypoints.http.problems import (
    MATCH_NOT_FOUND_TYPE,
    MATCHER_UNAVAILABLE_TYPE,
    RETRY_AFTER_SECONDS,
    install_problem_handlers,
)
from koppel_intake.service_layer.answers import Answers, MatchNotFoundError
from koppel_intake.service_layer.commands import Accepted as Published
from koppel_intake.service_layer.commands import Intake
from koppel_intake.service_layer.ports import DirectoryUnavailableError, EventPublisher
from koppel_intake.service_layer.webhook_secrets import SECRET_FIELD, SecretRefusedError
from koppel_intake.settings import DEFAULT_MAX_BODY_BYTES

Entity = TypeVar("Entity", bound=ContractModel)
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]

EntityIdPath = Annotated[
    str,
    Path(pattern=ID_PATTERN, min_length=1, max_length=64, description="entity id"),
]

MatchIdPath = Annotated[
    str,
    Path(pattern=ID_PATTERN, min_length=1, max_length=64, description="the match id"),
]
ConsultantIdQuery = Annotated[
    str,
    Query(
        pattern=ID_PATTERN,
        min_length=1,
        max_length=64,
        description="the consultant whose answer is taken back (the match's consultant)",
    ),
]

# Only documents the scheme in OpenAPI; `GuardedRoute` authenticates before the body is read.
_bearer = HTTPBearer(auto_error=False, description="a token from INTAKE_API_TOKENS")


async def _caller(
    request: Request, _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> str:
    # async: FastAPI runs a plain `def` dependency in a worker thread, a thread hop per request.
    return str(request.state.caller)


Caller = Annotated[str, Depends(_caller)]


def _traceparent(request: Request) -> str:
    return str(request.state.traceparent)


def create_app(
    *,
    intake: Intake,
    answers: Answers,
    publisher: EventPublisher,
    tokens: ApiTokens,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    lifespan: Lifespan | None = None,
) -> FastAPI:
    """The API wired to `intake` and `answers`; `publisher` answers readiness."""
    app = FastAPI(
        title="Koppel intake",
        version="1.0.0",
        summary="Upserts, closes and erasures of assignments and consultant profiles;"
        " consultants' answers to their matches.",
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    app.add_middleware(ObservabilityMiddleware)
    app.include_router(_commands(intake, tokens, max_body_bytes))
    app.include_router(_answers(answers, tokens, max_body_bytes))
    app.include_router(_operations(publisher))
    return app


def _commands(intake: Intake, tokens: ApiTokens, max_body_bytes: int) -> APIRouter:
    router = APIRouter(
        prefix="/v1",
        route_class=guarded_route(tokens, max_body_bytes=max_body_bytes),
        responses=problem_responses(400, 401, 413, 415, 422, 503),
    )

    @router.put("/assignments/{id}", status_code=202, response_model=Accepted)
    async def upsert_assignment(
        id: EntityIdPath,
        body: Annotated[AssignmentUpsert, Body(openapi_examples=ASSIGNMENT_EXAMPLES)],
        _caller: Caller,
        request: Request,
    ) -> Accepted:
        """Full upsert of an assignment; 202 once Kafka acknowledged the event."""
        assignment = _validated(Assignment, body, id)
        accepted = await intake.upsert_assignment(assignment, traceparent=_traceparent(request))
        return Accepted(event_id=accepted.event_id, id=accepted.entity_id)

    @router.post("/assignments/{id}/close", status_code=202, response_model=Accepted)
    async def close_assignment(
        id: EntityIdPath,
        body: Annotated[AssignmentClose, Body()],
        _caller: Caller,
        request: Request,
    ) -> Accepted:
        """The assignment left the market (filled, withdrawn or expired)."""
        accepted = await intake.close_assignment(id, body, traceparent=_traceparent(request))
        return Accepted(event_id=accepted.event_id, id=accepted.entity_id)

    @router.put("/consultants/{id}", status_code=202, response_model=Accepted)
    async def upsert_consultant(
        id: EntityIdPath,
        body: Annotated[ConsultantUpsert, Body(openapi_examples=CONSULTANT_EXAMPLES)],
        _caller: Caller,
        request: Request,
    ) -> Accepted:
        """Full upsert of a consultant profile."""
        profile = _validated(ConsultantProfile, body, id)
        try:
            accepted = await intake.upsert_consultant(profile, traceparent=_traceparent(request))
        except SecretRefusedError as exc:
            raise invalid_field(
                field_name(("body", *SECRET_FIELD)),
                str(exc),
                type_="secret_refused",
                detail="the sealed webhook secret does not open for this consultant",
            ) from None
        return Accepted(event_id=accepted.event_id, id=accepted.entity_id)

    @router.delete("/consultants/{id}", status_code=202, response_model=Accepted)
    async def erase_consultant(
        id: EntityIdPath,
        _caller: Caller,
        request: Request,
    ) -> Accepted:
        """GDPR/AVG erasure: a tombstone for the consultant's key on the compacted topic."""
        accepted = await intake.erase_consultant(id, traceparent=_traceparent(request))
        return Accepted(event_id=accepted.event_id, id=accepted.entity_id)

    return router


def _answers(answers: Answers, tokens: ApiTokens, max_body_bytes: int) -> APIRouter:
    router = APIRouter(
        prefix="/v1",
        route_class=guarded_route(tokens, max_body_bytes=max_body_bytes),
        responses=problem_responses(400, 401, 404, 413, 415, 422, 503),
        tags=["answers"],
    )

    @router.put("/matches/{match_id}/response", status_code=202, response_model=Accepted)
    async def respond(
        match_id: MatchIdPath,
        body: Annotated[ResponseCommand, Body(openapi_examples=RESPONSE_EXAMPLES)],
        _caller: Caller,
        request: Request,
    ) -> Accepted:
        """The consultant's answer to their match, given on their behalf (the last answer
        wins); 202 once Kafka acknowledged `nl.koppel.match.responded`. An unknown match,
        an unknown consultant and another consultant's match are the same 404."""
        traceparent = _traceparent(request)
        accepted = await _checked(answers.respond(match_id, body, traceparent=traceparent))
        return Accepted(event_id=accepted.event_id, id=accepted.entity_id)

    @router.delete("/matches/{match_id}/response", status_code=202, response_model=Accepted)
    async def withdraw_response(
        match_id: MatchIdPath,
        consultant_id: ConsultantIdQuery,
        _caller: Caller,
        request: Request,
    ) -> Accepted:
        """Take the answer back (the pair counts as unanswered again); 202 once Kafka
        acknowledged `nl.koppel.match.response_withdrawn`, whether or not there was one."""
        accepted = await _checked(
            answers.withdraw(match_id, consultant_id, traceparent=_traceparent(request))
        )
        return Accepted(event_id=accepted.event_id, id=accepted.entity_id)

    return router


async def _checked(answering: Coroutine[Any, Any, Published]) -> Published:
    """The answer's outcome, with the matcher's verdict turned into 404 or 503."""
    try:
        return await answering
    except MatchNotFoundError:
        raise not_found(
            "no match with this id for this consultant", type_=MATCH_NOT_FOUND_TYPE
        ) from None
    except DirectoryUnavailableError:
        raise ProblemError(
            503,
            "the matcher could not confirm the match; the answer is not accepted, retry later",
            type_=MATCHER_UNAVAILABLE_TYPE,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        ) from None


def _validated(model: type[Entity], body: BaseModel, path_id: str) -> Entity:
    """`body` as the contract `model`, with the path's id; a different body id is a 422."""
    data = body.model_dump(mode="json")
    if data.get("id") not in (None, path_id):
        raise invalid_field(
            "body.id",
            f"must equal the id in the path ({path_id!r}) or be left out",
            type_="id_mismatch",
            detail="the id in the body differs from the id in the path",
        )
    data["id"] = path_id
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        # The body already passed the same rules; this only guards against a 500.
        details = exc.errors(include_url=False, include_input=False)
        problems = [
            FieldProblem(field=field_name(("body", *detail["loc"])), message=detail["msg"])
            for detail in details[:MAX_LISTED_ERRORS]
        ]
        raise ProblemError(
            422,
            "the body does not satisfy the contract: " + validation_detail(len(details), problems),
            type_=VALIDATION_TYPE,
            errors=problems,
        ) from exc


def _operations(publisher: EventPublisher) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", response_model=Health)
    async def healthz() -> Health:
        """The process is alive and serving."""
        return Health(status="ok")

    @router.get(
        "/readyz",
        response_model=Health,
        responses={503: {"model": Health, "description": "Kafka is not reachable"}},
    )
    async def readyz() -> Response:
        """Ready when the Kafka broker answers a metadata request."""
        reachable = await publisher.ready()
        body = Health(status="ready" if reachable else "unavailable", kafka=reachable)
        return JSONResponse(body.model_dump(), status_code=200 if reachable else 503)

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
