"""RFC 9457 problem details for every error the read API returns, as intake's API does."""

from __future__ import annotations

import http
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from koppel.api_tokens import BearerRefusedError, challenge

PROBLEM_CONTENT_TYPE = "application/problem+json"
VALIDATION_TYPE = "urn:koppel:problem:validation"
NOT_FOUND_TYPE = "urn:koppel:problem:not-found"
_MAX_LISTED_ERRORS = 20


class FieldProblem(BaseModel):
    """One offending parameter: `query.min_score`, `path.assignment_id`, …"""

    field: str
    message: str
    type: str | None = None


class Problem(BaseModel):
    """`application/problem+json` (RFC 9457); `errors` names every offending field of a 422."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldProblem] | None = None


class NotFoundError(Exception):
    """Raised by a route for an unknown match, assignment or consultant."""


class InvalidParameterError(Exception):
    """A parameter the route itself checks (a forged cursor, say): a 422 naming it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def problem_response(
    status: int,
    detail: str,
    *,
    type_: str = "about:blank",
    errors: list[FieldProblem] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    problem = Problem(
        type=type_,
        title=http.HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        errors=errors,
    )
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=status,
        headers=dict(headers or {}),
        media_type=PROBLEM_CONTENT_TYPE,
    )


async def _unauthorized(_request: Request, exc: Exception) -> Response:
    """401 with the challenge RFC 6750 asks for."""
    return problem_response(401, str(exc), headers=challenge("koppel-matcher"))


async def _not_found(_request: Request, exc: Exception) -> Response:
    return problem_response(404, str(exc), type_=NOT_FOUND_TYPE)


async def _http_exception(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return problem_response(exc.status_code, str(exc.detail), headers=exc.headers)


async def _invalid(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors: list[dict[str, Any]] = list(exc.errors())
    problems = [
        FieldProblem(
            field=".".join(str(part) for part in error["loc"]),
            message=error["msg"],
            type=error["type"],
        )
        for error in errors[:_MAX_LISTED_ERRORS]
    ]
    fields = ", ".join(problem.field for problem in problems)
    return problem_response(
        422, f"{len(errors)} invalid field(s): {fields}", type_=VALIDATION_TYPE, errors=problems
    )


async def _invalid_parameter(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, InvalidParameterError)
    problem = FieldProblem(field=exc.field, message=exc.message, type="value_error")
    return problem_response(
        422, f"1 invalid field(s): {exc.field}", type_=VALIDATION_TYPE, errors=[problem]
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(BearerRefusedError, _unauthorized)
    app.add_exception_handler(NotFoundError, _not_found)
    app.add_exception_handler(HTTPException, _http_exception)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(InvalidParameterError, _invalid_parameter)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for these error statuses."""
    return {
        status: {"model": Problem, "description": http.HTTPStatus(status).phrase}
        for status in statuses
    }
