"""The shared RFC 9457 handlers, on an app of their own: what every service's API answers."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from koppel.http_problems import install_problem_handlers, not_found, problem_responses


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app, realm="koppel-test")

    @app.get("/things/{thing_id}", responses=problem_responses(404, 422))
    async def thing(thing_id: int) -> dict[str, int]:
        raise not_found(f"no thing {thing_id}")

    return app


async def _get(path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get(path)


async def test_a_route_problem_and_a_bad_parameter_are_problem_json_naming_the_field() -> None:
    missing = await _get("/things/7")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["detail"] == "no thing 7"

    invalid = await _get("/things/seven")
    assert invalid.status_code == 422
    assert [e["field"] for e in invalid.json()["errors"]] == ["path.thing_id"]


async def test_the_openapi_document_names_error_answers_problem_json() -> None:
    schema = (await _get("/openapi.json")).json()
    responses = schema["paths"]["/things/{thing_id}"]["get"]["responses"]
    for status in ("404", "422"):
        assert list(responses[status]["content"]) == ["application/problem+json"]
    assert "application/json" in responses["200"]["content"]
