"""Intake's own problems: Kafka refusing or not acknowledging an event, and the matcher
being unreachable; the rest of RFC 9457 is `koppel.http_problems`, shared with the matcher."""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import Response

from koppel import http_problems
from koppel.http_problems import problem_response
from koppel_intake.service_layer.ports import PublishError, RecordTooLarge

RETRY_AFTER_SECONDS = 5
UNAVAILABLE_TYPE = "urn:koppel:problem:broker-unavailable"
TOO_LARGE_TYPE = "urn:koppel:problem:record-too-large"
MATCH_NOT_FOUND_TYPE = "urn:koppel:problem:match-not-found"
MATCHER_UNAVAILABLE_TYPE = "urn:koppel:problem:matcher-unavailable"

log = structlog.get_logger(__name__)


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


def install_problem_handlers(app: FastAPI) -> None:
    """The shared problem handlers (realm `koppel-intake`) and intake's Kafka failures."""
    http_problems.install_problem_handlers(app, realm="koppel-intake")
    app.add_exception_handler(RecordTooLarge, _record_too_large)
    app.add_exception_handler(PublishError, _publish_failed)
