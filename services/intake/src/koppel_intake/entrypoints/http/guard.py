"""Checks that run before FastAPI reads a body: bearer token, content type, size.

They live in a route class rather than in dependencies because FastAPI parses the body
before it solves dependencies: an anonymous caller would otherwise learn validation
details, and an oversized body would be read in full before being refused.
"""

from __future__ import annotations

import email.message
import json
from collections.abc import Callable, Coroutine
from typing import Any

import structlog
from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope

from koppel.api_tokens import ApiTokens
from koppel.http_problems import MALFORMED_TYPE, ProblemError, field_name, invalid_field
from koppel_intake.domain.json_shape import shape_problem
from koppel_intake.settings import DEFAULT_MAX_BODY_BYTES

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class _BufferedRequest(Request):
    """A request whose body was already read (within the limit) by the guard."""

    def __init__(self, scope: Scope, receive: Receive, body: bytes) -> None:
        super().__init__(scope, receive)
        self._buffered = body

    async def body(self) -> bytes:
        return self._buffered


def guarded_route(
    tokens: ApiTokens, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
) -> type[APIRoute]:
    """An `APIRoute` class authenticating callers and bounding bodies before parsing."""

    class GuardedRoute(APIRoute):
        def get_route_handler(self) -> Handler:
            handler = super().get_route_handler()

            async def guarded(request: Request) -> Response:
                # A refused token raises `BearerRefusedError`: a 401 with the challenge.
                caller = tokens.authenticate(request.headers.get("authorization", ""))
                _refuse_encoded_slash(request)
                request.state.caller = caller
                structlog.contextvars.bind_contextvars(caller=caller)
                if request.method in _BODY_METHODS:
                    _require_json(request)
                    body = await _read_bounded(request, max_body_bytes)
                    _check_shape(body)
                    request = _BufferedRequest(request.scope, request.receive, body)
                return await handler(request)

            return guarded

    return GuardedRoute


def _check_shape(body: bytes) -> None:
    """Refuse what the contract models cannot (see `json_shape`), before they parse it."""
    try:
        document = json.loads(body)
    except RecursionError:
        raise ProblemError(
            400, "request body is not JSON we read: nested too deeply", type_=MALFORMED_TYPE
        ) from None
    except ValueError:
        return  # not JSON at all: FastAPI's own parse answers it with a 400
    problem = shape_problem(document)
    if problem is not None:
        field = field_name(("body", *problem.location))
        raise invalid_field(field, problem.message, type_=problem.type)


def _refuse_encoded_slash(request: Request) -> None:
    """`/v1/assignments/a%2Fclose` must not close assignment `a`.

    The server decodes the path before routing, so an encoded `/` inside an id would act
    as a separator; no valid id contains one, so such a path names an invalid id.
    """
    raw_path = (request.scope.get("raw_path") or b"").partition(b"?")[0]
    if b"%2f" in raw_path.lower():
        raise invalid_field(
            "path.id",
            "an id is 1-64 characters of [A-Za-z0-9._:-]; a percent-encoded '/' is not one of them",
            type_="string_pattern_mismatch",
        )


def _require_json(request: Request) -> None:
    header = request.headers.get("content-type")
    if header:
        message = email.message.Message()
        message["content-type"] = header
        subtype = message.get_content_subtype()
        if message.get_content_maintype() == "application" and (
            subtype == "json" or subtype.endswith("+json")
        ):
            return
    raise ProblemError(415, f"content type must be application/json, got {header or 'none'}")


async def _read_bounded(request: Request, limit: int) -> bytes:
    too_large = ProblemError(413, f"request body exceeds {limit} bytes")
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise ProblemError(400, "Content-Length is not a number")
        if int(declared) > limit:
            raise too_large
    body = bytearray()
    try:
        # Enforced while streaming too: a chunked body has no Content-Length to check.
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise too_large
    except ClientDisconnect:
        raise ProblemError(400, "the client disconnected before sending the whole body") from None
    return bytes(body)
