"""The fields of contract §8.4–8.5 over HTTP: commitments, office weekdays, preferred size
classes and growth disciplines — bad ones a 422 naming the field, nothing published; good
ones published as the validated profile; the OpenAPI examples show them and are accepted."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from koppel.cloudevents import decode
from koppel_intake.adapters.memory_publisher import InMemoryPublisher
from koppel_intake.entrypoints.http.bodies import ASSIGNMENT_EXAMPLES, CONSULTANT_EXAMPLES
from koppel_testing.builders import assignment_document, consultant_document

HOUTEN = {"label": "Gemeente Houten", "hours_per_week": 16, "office_weekdays": ["mon"]}


def _fields(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [error["field"] for error in response.json()["errors"]]


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"commitments": [{"hours_per_week": 0}]}, ["body.commitments.0.hours_per_week"]),
        ({"commitments": [{"hours_per_week": 41}]}, ["body.commitments.0.hours_per_week"]),
        ({"commitments": [{"hours_per_week": "16"}]}, ["body.commitments.0.hours_per_week"]),
        ({"commitments": [{"hours_per_week": 8.5}]}, ["body.commitments.0.hours_per_week"]),
        ({"commitments": [{"label": "x"}]}, ["body.commitments.0.hours_per_week"]),
        ({"commitments": [{"hours_per_week": 4}] * 11}, ["body.commitments"]),
        (
            {"commitments": [HOUTEN, {**HOUTEN, "office_weekdays": ["sat"]}]},
            ["body.commitments.1.office_weekdays.0"],
        ),
        (
            {"commitments": [{**HOUTEN, "office_weekdays": ["mon", "mon"]}]},
            ["body.commitments.0.office_weekdays"],
        ),
        (
            {
                "commitments": [
                    {**HOUTEN, "office_weekdays": ["mon", "tue", "wed", "thu", "fri"] * 2}
                ]
            },
            ["body.commitments.0.office_weekdays"],
        ),
        ({"commitments": [{**HOUTEN, "until": "2027-02-30"}]}, ["body.commitments.0.until"]),
        ({"commitments": [{**HOUTEN, "ends": "2027-02-01"}]}, ["body.commitments.0.ends"]),
        (
            {"commitments": [HOUTEN], "committed_hours_per_week": 8},
            ["body.committed_hours_per_week"],
        ),
        ({"commitments": [], "committed_hours_per_week": 0}, ["body.committed_hours_per_week"]),
        ({"committed_hours_per_week": 41}, ["body.committed_hours_per_week"]),
        ({"preferred_size_classes": ["huge"]}, ["body.preferred_size_classes.0"]),
        ({"preferred_size_classes": ["small", "small"]}, ["body.preferred_size_classes"]),
        (
            {"growth_disciplines": ["campaigns", "events", "social_media", "press_relations"]},
            ["body.growth_disciplines"],
        ),
        ({"growth_disciplines": ["citizen_participation"]}, ["body.growth_disciplines"]),
        ({"growth_disciplines": ["juggling"]}, ["body.growth_disciplines.0"]),
    ],
    ids=[
        "hours-0",
        "hours-41",
        "hours-text",
        "hours-fraction",
        "hours-missing",
        "eleven",
        "saturday",
        "weekday-twice",
        "ten-weekdays",
        "no-such-date",
        "unknown-key",
        "both-forms",
        "both-forms-zero",
        "v1-over-40",
        "size-unknown",
        "size-twice",
        "growth-four",
        "growth-already-held",
        "growth-unknown",
    ],
)
async def test_a_bad_portfolio_field_is_a_422_naming_it(
    auth: dict[str, str],
    client: httpx.AsyncClient,
    publisher: InMemoryPublisher,
    changes: dict[str, Any],
    fields: list[str],
) -> None:
    response = await client.put(
        "/v1/consultants/C-1", json=consultant_document(**changes), headers=auth
    )

    assert _fields(response) == fields
    assert publisher.records == []


@pytest.mark.parametrize(
    "label",
    ["Gemeente\nHouten", "Gemeente\rHouten", "a\x00b", "Houten\u2028", "\u202eHouten", "x\u2066"],
    ids=["lf", "cr", "nul", "line-separator", "rtl-override", "isolate"],
)
async def test_control_characters_in_a_commitment_label_are_a_422_without_echo(
    auth: dict[str, str], client: httpx.AsyncClient, publisher: InMemoryPublisher, label: str
) -> None:
    body = consultant_document(commitments=[HOUTEN, {"label": label, "hours_per_week": 8}])

    response = await client.put("/v1/consultants/C-1", json=body, headers=auth)

    assert _fields(response) == ["body.commitments.1.label"]
    assert "character" in response.json()["errors"][0]["message"]
    assert label not in response.text
    assert publisher.records == []


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"office_days_per_week": 2, "office_weekdays": ["tue"]}, ["body.office_weekdays"]),
        ({"office_days_per_week": 0, "office_weekdays": ["tue"]}, ["body.office_weekdays"]),
        ({"office_days_per_week": 1, "office_weekdays": ["sun"]}, ["body.office_weekdays.0"]),
        ({"office_days_per_week": 2, "office_weekdays": ["tue", "tue"]}, ["body.office_weekdays"]),
        ({"office_days_per_week": 1, "office_weekdays": "tue"}, ["body.office_weekdays"]),
    ],
    ids=["too-few", "remote-with-days", "sunday", "twice", "not-a-list"],
)
async def test_office_weekdays_must_name_exactly_the_office_days(
    auth: dict[str, str],
    client: httpx.AsyncClient,
    publisher: InMemoryPublisher,
    changes: dict[str, Any],
    fields: list[str],
) -> None:
    response = await client.put(
        "/v1/assignments/A-1", json=assignment_document(**changes), headers=auth
    )

    assert _fields(response) == fields
    assert publisher.records == []


async def test_the_office_weekdays_problem_says_how_many_days_are_asked(
    auth: dict[str, str], client: httpx.AsyncClient
) -> None:
    body = assignment_document(office_days_per_week=3, office_weekdays=["mon", "wed"])

    response = await client.put("/v1/assignments/A-1", json=body, headers=auth)

    [error] = response.json()["errors"]
    assert error["field"] == "body.office_weekdays"
    assert "office_weekdays names 2 days but office_days_per_week is 3" in error["message"]


async def test_the_portfolio_is_published_as_commitments_only(
    auth: dict[str, str], client: httpx.AsyncClient, publisher: InMemoryPublisher
) -> None:
    portfolio = consultant_document(
        "C-1",
        commitments=[{**HOUTEN, "until": "2027-02-28"}],
        preferred_size_classes=["small"],
        growth_disciplines=["campaigns"],
    )
    version_1 = consultant_document("C-2", committed_hours_per_week=12)

    for body in (portfolio, version_1):
        answer = await client.put(f"/v1/consultants/{body['id']}", json=body, headers=auth)
        assert answer.status_code == 202, answer.text
    first, second = (decode(r.value, r.headers).data for r in publisher.records)

    assert first["commitments"] == [{**HOUTEN, "until": "2027-02-28"}]
    assert (first["preferred_size_classes"], first["growth_disciplines"]) == (
        ["small"],
        ["campaigns"],
    )
    assert second["commitments"] == [
        {"label": None, "hours_per_week": 12, "office_weekdays": [], "until": None}
    ]
    assert "committed_hours_per_week" not in first.keys() | second.keys()


async def test_the_openapi_examples_show_the_new_fields_and_are_accepted(
    auth: dict[str, str], client: httpx.AsyncClient, publisher: InMemoryPublisher
) -> None:
    schema = (await client.get("/openapi.json")).json()

    for path, examples in (
        ("/v1/assignments/{id}", ASSIGNMENT_EXAMPLES),
        ("/v1/consultants/{id}", CONSULTANT_EXAMPLES),
    ):
        body = schema["paths"][path]["put"]["requestBody"]["content"]["application/json"]
        assert body["examples"] == examples
        for example in examples.values():
            answer = await client.put(path.format(id="X-1"), json=example["value"], headers=auth)
            assert answer.status_code == 202, answer.text
    assignment = ASSIGNMENT_EXAMPLES["fixed_office_days"]["value"]
    assert len(assignment["office_weekdays"]) == assignment["office_days_per_week"]
    commitments = CONSULTANT_EXAMPLES["part_time_portfolio"]["value"]["commitments"]
    assert any("until" in commitment for commitment in commitments)
    assert len(publisher.records) == 2
