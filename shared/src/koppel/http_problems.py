"""RFC 9457 problem details: how every service's HTTP API answers an error.

One module so that a caller of intake and of the matcher reads the same `problem+json`
body, the same 422 naming each offending field, and the same 401 challenge. A service
installs these handlers and adds only the problems that are its own (Kafka refusing a
record, say); routes and guards raise `ProblemError` or one of the helpers below.
"""

from __future__ import annotations

import http
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from koppel.api_tokens import BearerRefusedError, challenge

PROBLEM_CONTENT_TYPE = "application/problem+json"
VALIDATION_TYPE = "urn:koppel:problem:validation"
MALFORMED_TYPE = "urn:koppel:problem:malformed-json"
NOT_FOUND_TYPE = "urn:koppel:problem:not-found"
# A 1 MiB body can hold 100,000 invalid list items; listing each would make a 50 MB answer.
MAX_LISTED_ERRORS = 50

log = structlog.get_logger(__name__)


class FieldProblem(BaseModel):
    """One offending field: `body.hours_per_week.min`, `query.min_score`, `path.id`, …"""

    field: str
    message: str
    type: str | None = None


class Problem(BaseModel):
    """`application/problem+json` (RFC 9457); `errors` lists every offending field of a 422."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldProblem] | None = None


class ProblemError(Exception):
    """Raised by routes and guards; rendered as a problem response."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        type_: str = "about:blank",
        errors: Sequence[FieldProblem] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.type = type_
        self.errors = list(errors)
        self.headers = dict(headers or {})


class InvalidFieldError(ProblemError):
    """A 422 for one field a route checks itself (an id mismatch, a forged cursor)."""

    def __init__(self, problem: FieldProblem, detail: str) -> None:
        super().__init__(422, detail, type_=VALIDATION_TYPE, errors=[problem])
        self.field = problem.field


def invalid_field(
    field: str, message: str, *, type_: str | None, detail: str | None = None
) -> InvalidFieldError:
    """A 422 naming one offending field; `detail` defaults to `1 invalid field(s): <field>`."""
    problem = FieldProblem(field=field, message=message, type=type_)
    return InvalidFieldError(problem, detail or validation_detail(1, [problem]))


def not_found(detail: str, *, type_: str = NOT_FOUND_TYPE) -> ProblemError:
    """A 404 for an id the service does not know."""
    return ProblemError(404, detail, type_=type_)


def problem_response(
    status: int,
    detail: str | None,
    *,
    type_: str = "about:blank",
    errors: Iterable[FieldProblem] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    problem = Problem(
        type=type_,
        title=http.HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        errors=list(errors) or None,
    )
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=status,
        headers=dict(headers or {}),
        media_type=PROBLEM_CONTENT_TYPE,
    )


def field_name(location: Iterable[int | str]) -> str:
    return ".".join(str(part) for part in location) or "(root)"


def validation_detail(count: int, listed: Sequence[FieldProblem]) -> str:
    """`N invalid field(s): a, b, …`; says so when only the first `listed` are named."""
    fields = ", ".join(problem.field for problem in listed)
    if count > len(listed):
        return f"{count} invalid field(s), the first {len(listed)} listed: {fields}, …"
    return f"{count} invalid field(s): {fields}"


async def _api_problem(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return problem_response(
        exc.status, exc.detail, type_=exc.type, errors=exc.errors, headers=exc.headers
    )


async def _http_exception(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return problem_response(exc.status_code, str(exc.detail), headers=exc.headers)


async def _validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors: list[dict[str, Any]] = list(exc.errors())
    malformed = [error for error in errors if error.get("type") == "json_invalid"]
    if malformed:
        reason = malformed[0].get("ctx", {}).get("error", "invalid JSON")
        position = malformed[0]["loc"][-1]
        return problem_response(
            400, f"request body is not valid JSON: {reason} (at {position})", type_=MALFORMED_TYPE
        )
    problems = [
        FieldProblem(field=field_name(error["loc"]), message=error["msg"], type=error["type"])
        for error in errors[:MAX_LISTED_ERRORS]
    ]
    return problem_response(
        422, validation_detail(len(errors), problems), type_=VALIDATION_TYPE, errors=problems
    )


async def _server_fault(_request: Request, exc: Exception) -> Response:
    log.error("unhandled server fault", exc_info=exc)
    return problem_response(500, "internal error; it has been logged")


def install_problem_handlers(app: FastAPI, *, realm: str) -> None:
    """Render every error, including FastAPI's own 404/405/422, as problem+json.

    A refused bearer token becomes a 401 with the `WWW-Authenticate` challenge of `realm`
    (RFC 6750). The app's OpenAPI document names those answers `application/problem+json`.
    """

    async def unauthorized(_request: Request, exc: Exception) -> Response:
        return problem_response(401, str(exc), headers=challenge(realm))

    app.add_exception_handler(ProblemError, _api_problem)
    app.add_exception_handler(BearerRefusedError, unauthorized)
    app.add_exception_handler(HTTPException, _http_exception)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _server_fault)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = use_problem_media_type(FastAPI.openapi(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for these error statuses (see `use_problem_media_type`)."""
    return {
        status: {"model": Problem, "description": http.HTTPStatus(status).phrase}
        for status in statuses
    }


def use_problem_media_type(schema: dict[str, Any]) -> dict[str, Any]:
    """Document error responses as `application/problem+json`, which is what they are."""
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                schema_ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
                if status[:1] in {"4", "5"} and schema_ref.endswith("/Problem"):
                    content[PROBLEM_CONTENT_TYPE] = content.pop("application/json")
    return schema
