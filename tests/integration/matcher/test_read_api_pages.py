"""The recruiter's view in the matcher's read API, on real Kafka and PostgreSQL: one match by
id, status, cursor pages, `min_score`, and why a pair does not match (nl and en).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from koppel.cloudevents import CloudEvent
from koppel.contract.match import match_id_for
from koppel.vocabulary import CloseReason, Language
from koppel_matcher.adapters.match_queries import MatchQueries
from koppel_matcher.bootstrap import Matcher
from koppel_matcher.domain.filter_labels import FILTER_LABELS
from koppel_matcher.entrypoints.http import create_app
from koppel_testing.builders import assignment, consultant
from koppel_testing.integration_matcher import READ_HEADERS
from koppel_testing.integration_waiting import Wait
from koppel_testing.kafka_publishing import TopicWriter
from koppel_testing.kafka_reading import Collector

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"
SPECIALIST: dict[str, Any] = {
    "disciplines": ["citizen_participation", "press_relations"],
    "specialisms": ["citizen_participation"],
    "work_style": "specialist",
}
"""A consultant with the builders' assignment's discipline as specialism and its preferred
discipline (`disciplines_preferred=["press_relations"]`): the best score the variants reach."""


@pytest.fixture
async def read_api(matcher: Matcher) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(MatchQueries(matcher.pool), matcher, matcher.settings.callers())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://m", headers=READ_HEADERS
    ) as http:
        yield http


def _field(response: httpx.Response, status: int) -> list[str]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    return [error["field"] for error in response.json().get("errors", [])]


async def _all_pages(http: httpx.AsyncClient, first: str) -> list[list[dict[str, Any]]]:
    """Every page from `first`, following the `next` links."""
    pages: list[list[dict[str, Any]]] = []
    path: str | None = first
    while path is not None:
        body = (await http.get(path)).json()
        pages.append(body["matches"])
        assert (body["next"] is None) is (body["next_cursor"] is None)
        path = body["next"]
    return pages


async def test_pages_follow_score_then_id_and_cover_every_match_once(
    read_api: httpx.AsyncClient,
    publisher: TopicWriter,
    matches: Collector[CloudEvent],
    unique_id: str,
) -> None:
    a = f"a-{unique_id}"
    consultants = [f"c{n}-{unique_id}" for n in range(5)]
    variants: list[dict[str, Any]] = [
        {},
        {"specialisms": [], "work_style": "generalist"},
        {"disciplines": ["citizen_participation"]},
        {},
        {"specialisms": [], "work_style": "generalist"},
    ]
    # Only this test's consultants hold the certification: other tests' profiles on the
    # shared topics would match a plain assignment too, and change the pages.
    certificate = f"cert-{unique_id}"
    await publisher.assignment(
        assignment(
            a, required_certifications=[certificate], disciplines_preferred=["press_relations"]
        )
    )
    for consultant_id, changes in zip(consultants, variants, strict=True):
        await publisher.profile(
            consultant(consultant_id, certifications=[certificate], **{**SPECIALIST, **changes})
        )
    await matches.wait_for(5)

    everything = (await read_api.get(f"/v1/assignments/{a}/matches?limit=1000")).json()
    ranked = [(m["score"], m["consultant_id"]) for m in everything["matches"]]
    assert sorted(ranked, key=lambda item: (-item[0], item[1])) == ranked
    assert {c for _, c in ranked} == set(consultants)
    assert everything["next"] is None
    assert all(m["status"] == "found" for m in everything["matches"])

    pages = await _all_pages(read_api, f"/v1/assignments/{a}/matches?limit=2")
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [(m["score"], m["consultant_id"]) for page in pages for m in page] == ranked

    threshold = sorted({score for score, _ in ranked})[-1]
    best = (await read_api.get(f"/v1/assignments/{a}/matches?min_score={threshold}")).json()
    assert [m["consultant_id"] for m in best["matches"]] == [
        c for score, c in ranked if score >= threshold
    ]
    assert len(best["matches"]) < 5
    filtered = await _all_pages(read_api, f"/v1/assignments/{a}/matches?limit=1&min_score=0.01")
    assert [m["consultant_id"] for page in filtered for m in page] == [c for _, c in ranked]


async def test_a_consultants_matches_page_by_assignment(
    read_api: httpx.AsyncClient,
    publisher: TopicWriter,
    matches: Collector[CloudEvent],
    unique_id: str,
) -> None:
    c = f"c-{unique_id}"
    assignments = [f"a{n}-{unique_id}" for n in range(3)]
    # Hours and a discipline that other tests' assignments on the shared topics do not ask,
    # so that only this test's assignments match the consultant.
    rare = {"disciplines_required": ["events"], "disciplines_preferred": []}
    for assignment_id in assignments:
        await publisher.assignment(
            assignment(assignment_id, hours_per_week={"min": 39, "max": 40}, **rare)
        )
    await publisher.profile(
        consultant(c, disciplines=["events"], specialisms=[], hours_per_week={"min": 39, "max": 40})
    )
    await matches.wait_for(3)

    pages = await _all_pages(read_api, f"/v1/consultants/{c}/matches?limit=1")

    assert [len(page) for page in pages] == [1, 1, 1]
    found = [m["assignment_id"] for page in pages for m in page]
    assert sorted(found) == found == sorted(assignments)  # equal scores: by assignment id


async def test_status_by_id_and_the_withdrawn_filter(
    read_api: httpx.AsyncClient,
    publisher: TopicWriter,
    matches: Collector[CloudEvent],
    unique_id: str,
) -> None:
    a, gone, kept = f"a-{unique_id}", f"c1-{unique_id}", f"c2-{unique_id}"
    other = f"a2-{unique_id}"
    await publisher.assignment(assignment(a))
    await publisher.assignment(assignment(other))
    await publisher.profile(consultant(gone))
    await publisher.profile(consultant(kept))
    await matches.wait_for(4)
    await publisher.close(other, CloseReason.FILLED)
    await matches.wait_for(6)

    async def listed(query: str) -> list[dict[str, Any]]:
        # Other tests' assignments on the shared topics may match this consultant too.
        body = (await read_api.get(f"/v1/consultants/{gone}/matches{query}")).json()
        return [m for m in body["matches"] if unique_id in m["assignment_id"]]

    current, withdrawn, both = (
        await listed(""),
        await listed("?status=withdrawn"),
        await listed("?status=all"),
    )

    assert [m["assignment_id"] for m in current] == [a]
    (closed,) = withdrawn
    assert (closed["assignment_id"], closed["status"]) == (other, "withdrawn")
    assert closed["withdrawal_reason"] == "assignment_filled"
    assert {m["assignment_id"] for m in both} == {a, other}

    one = await read_api.get(f"/v1/matches/{match_id_for(other, gone)}")
    assert one.status_code == 200
    assert one.json()["status"] == "withdrawn"
    assert one.json()["consultant_id"] == gone
    found = (await read_api.get(f"/v1/matches/{match_id_for(a, kept)}")).json()
    assert (found["status"], found["assignment_id"], found["consultant_id"]) == ("found", a, kept)
    assert found["score"] > 0
    assert found["reasons"]
    assert found["withdrawal_reason"] is None
    unknown = await read_api.get(f"/v1/matches/{match_id_for(a, f'nobody-{unique_id}')}")
    _field(unknown, 404)


async def test_bad_parameters_are_422s_naming_the_parameter(
    read_api: httpx.AsyncClient, unique_id: str
) -> None:
    path = f"/v1/assignments/a-{unique_id}/matches"
    cases = [
        ("min_score=1.5", "query.min_score"),
        ("min_score=-0.1", "query.min_score"),
        ("min_score=high", "query.min_score"),
        ("limit=0", "query.limit"),
        ("limit=1001", "query.limit"),
        ("status=maybe", "query.status"),
        ("cursor=forged", "query.cursor"),
    ]
    for query, field in cases:
        assert field in _field(await read_api.get(f"{path}?{query}"), 422), query
    candidates = f"/v1/assignments/a-{unique_id}/candidates/c-{unique_id}?language=de"
    assert "query.language" in _field(await read_api.get(candidates), 422)


async def test_why_a_pair_does_not_match_in_the_callers_language(
    read_api: httpx.AsyncClient,
    publisher: TopicWriter,
    matches: Collector[CloudEvent],
    unique_id: str,
    wait: Wait,
) -> None:
    a, fits, home_worker = f"a-{unique_id}", f"c1-{unique_id}", f"c2-{unique_id}"
    await publisher.assignment(assignment(a))
    await publisher.profile(consultant(home_worker, max_office_days_per_week=1, level="junior"))
    await publisher.profile(consultant(fits))
    await matches.wait_for(1)
    path = f"/v1/assignments/{a}/candidates/{home_worker}"

    async def stored() -> bool:
        # The profile matches nothing, so no event says when its shard has stored it.
        return (await read_api.get(path)).status_code == 200

    await wait(stored, what="the non-matching profile to be stored")
    dutch = (await read_api.get(path)).json()
    english = (await read_api.get(path, headers={"Accept-Language": "en-GB,en;q=0.9"})).json()
    asked = (await read_api.get(f"{path}?language=en", headers={"Accept-Language": "nl"})).json()

    assert dutch["matches"] is False
    assert dutch["language"] == "nl"
    assert [f["filter"] for f in dutch["failed_filters"]] == ["level", "office_days"]
    assert [f["label"] for f in dutch["failed_filters"]] == [
        FILTER_LABELS[Language.NL]["level"],
        FILTER_LABELS[Language.NL]["office_days"],
    ]
    assert dutch["score"] is None
    assert dutch["status"] is None
    assert dutch["match_id"] == match_id_for(a, home_worker)
    for body in (english, asked):
        assert body["language"] == "en"
        assert [f["label"] for f in body["failed_filters"]] == [
            "The assignment's level does not fit the consultant's.",
            "The assignment asks more office days than the consultant wants.",
        ]

    match = (await read_api.get(f"/v1/assignments/{a}/candidates/{fits}?language=en")).json()
    assert match["matches"] is True
    assert match["failed_filters"] == []
    assert 0 < match["score"] <= 1
    assert match["reasons"]
    assert match["status"] == "found"

    for unknown in (
        f"/v1/assignments/{a}/candidates/nobody-{unique_id}",
        f"/v1/assignments/nothing-{unique_id}/candidates/{fits}",
    ):
        _field(await read_api.get(unknown), 404)


async def test_the_new_routes_need_a_token(read_api: httpx.AsyncClient, unique_id: str) -> None:
    for path in (
        f"/v1/matches/{match_id_for(f'a-{unique_id}', f'c-{unique_id}')}",
        f"/v1/assignments/a-{unique_id}/candidates/c-{unique_id}",
        f"/v1/assignments/a-{unique_id}/matches?min_score=2",
    ):
        refused = await read_api.get(path, headers={"Authorization": "Bearer wrong"})
        assert refused.status_code == 401, path
        assert refused.headers["www-authenticate"] == 'Bearer realm="koppel-matcher"'
