"""RFC 9457 problem answers as the HTTP suites check them: status, media type, members."""

from __future__ import annotations

from typing import Any

import httpx

PROBLEM = "application/problem+json"


def problem_of(response: httpx.Response, status: int) -> dict[str, Any]:
    """The problem document `response` carries, once its status and media type are right."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    document: dict[str, Any] = response.json()
    assert document["status"] == status
    assert {"type", "title", "status", "detail"} <= document.keys()
    return document


def problem_fields(response: httpx.Response, status: int) -> list[str]:
    """The fields a validation problem names (`body.x`, `query.y`, `path.z`)."""
    return [error["field"] for error in problem_of(response, status).get("errors", [])]
