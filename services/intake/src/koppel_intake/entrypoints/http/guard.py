"""Checks that run before FastAPI reads a body: bearer token, content type, size.

They live in a route class rather than in dependencies because FastAPI parses the body
before it solves dependencies: an anonymous caller would otherwise learn validation
details, and an oversized body would be read in full before being refused.
"""

from __future__ import annotations

import email.message
from collections.abc import Callable, Coroutine
from typing import Any

import structlog
from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope

from koppel_intake.domain.tokens import ApiTokens
from koppel_intake.entrypoints.http.problems import ProblemError

MEBIBYTE = 1024 * 1024
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_UNAUTHORIZED_HEADERS = {"WWW-Authenticate": 'Bearer realm="koppel-intake"'}

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class _BufferedRequest(Request):
    """A request whose body was already read (within the limit) by the guard."""

    def __init__(self, scope: Scope, receive: Receive, body: bytes) -> None:
        super().__init__(scope, receive)
        self._buffered = body

    async def body(self) -> bytes:
        return self._buffered


def guarded_route(tokens: ApiTokens, *, max_body_bytes: int = MEBIBYTE) -> type[APIRoute]:
    """An `APIRoute` class authenticating callers and bounding bodies before parsing."""

    class GuardedRoute(APIRoute):
        def get_route_handler(self) -> Handler:
            handler = super().get_route_handler()

            async def guarded(request: Request) -> Response:
                caller = _authenticate(request, tokens)
                request.state.caller = caller
                structlog.contextvars.bind_contextvars(caller=caller)
                if request.method in _BODY_METHODS:
                    _require_json(request)
                    body = await _read_bounded(request, max_body_bytes)
                    request = _BufferedRequest(request.scope, request.receive, body)
                return await handler(request)

            return guarded

    return GuardedRoute


def _authenticate(request: Request, tokens: ApiTokens) -> str:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise ProblemError(
            401,
            "a bearer token is required (Authorization: Bearer <token>)",
            headers=_UNAUTHORIZED_HEADERS,
        )
    name = tokens.identify(credentials.strip())
    if name is None:
        raise ProblemError(401, "the bearer token is not valid", headers=_UNAUTHORIZED_HEADERS)
    return name


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
