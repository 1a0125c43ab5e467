"""RFC 9457 problem details for every error the API returns, and the handlers producing them."""

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

from koppel_intake.service_layer.ports import PublishError, RecordTooLarge

PROBLEM_CONTENT_TYPE = "application/problem+json"
RETRY_AFTER_SECONDS = 5
VALIDATION_TYPE = "urn:koppel:problem:validation"
MALFORMED_TYPE = "urn:koppel:problem:malformed-json"
UNAVAILABLE_TYPE = "urn:koppel:problem:broker-unavailable"
TOO_LARGE_TYPE = "urn:koppel:problem:record-too-large"
MATCH_NOT_FOUND_TYPE = "urn:koppel:problem:match-not-found"
MATCHER_UNAVAILABLE_TYPE = "urn:koppel:problem:matcher-unavailable"
# A 1 MiB body can hold 100,000 invalid list items; listing each made a 50 MB answer.
MAX_LISTED_ERRORS = 50

log = structlog.get_logger(__name__)


class FieldProblem(BaseModel):
    """One offending field: `body.hours_per_week.min`, `path.id`, …"""

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


def invalid_field(
    field: str, message: str, *, type_: str | None, detail: str | None = None
) -> ProblemError:
    """A 422 naming one offending field; `detail` defaults to `1 invalid field(s): <field>`."""
    problem = FieldProblem(field=field, message=message, type=type_)
    return ProblemError(
        422,
        detail or validation_detail(1, [problem]),
        type_=VALIDATION_TYPE,
        errors=[problem],
    )


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


def validation_detail(count: int, listed: Sequence[FieldProblem]) -> str:
    """`N invalid field(s): a, b, …`; says so when only the first `listed` are named."""
    fields = ", ".join(problem.field for problem in listed)
    if count > len(listed):
        return f"{count} invalid field(s), the first {len(listed)} listed: {fields}, …"
    return f"{count} invalid field(s): {fields}"


async def _publish_failed(_request: Request, exc: Exception) -> Response:
    log.warning("event not acknowledged by Kafka", error=str(exc))
    return problem_response(
        503,
        "Kafka did not acknowledge the event; it is not accepted, retry later",
        type_=UNAVAILABLE_TYPE,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def _record_too_large(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RecordTooLarge)
    taking = "" if exc.size is None else f" ({exc.size} bytes)"
    return problem_response(
        413,
        f"the event for this body{taking} exceeds Kafka's record limit of {exc.limit} bytes;"
        " non-ASCII characters in URLs take three bytes each once percent-encoded",
        type_=TOO_LARGE_TYPE,
    )


async def _server_fault(_request: Request, exc: Exception) -> Response:
    log.error("unhandled server fault", exc_info=exc)
    return problem_response(500, "internal error; it has been logged")


def install_problem_handlers(app: FastAPI) -> None:
    """Render every error, including FastAPI's own 404/405/422, as problem+json."""
    app.add_exception_handler(ProblemError, _api_problem)
    app.add_exception_handler(HTTPException, _http_exception)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(RecordTooLarge, _record_too_large)
    app.add_exception_handler(PublishError, _publish_failed)
    app.add_exception_handler(Exception, _server_fault)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for these error statuses (see `problem_openapi`)."""
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
