"""Limits on incoming JSON that the contract models cannot state."""

from __future__ import annotations

import pytest

from koppel_intake.domain.json_shape import MAX_DEPTH, MAX_ITEMS, shape_problem


def _nested(levels: int) -> object:
    value: object = 1
    for _ in range(levels):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    "document",
    [
        {"title": "Woordvoerder \u202e links", "tags": ["a"] * MAX_ITEMS},
        _nested(MAX_DEPTH),
        "plain",
        None,
    ],
)
def test_documents_within_the_limits_pass(document: object) -> None:
    assert shape_problem(document) is None


@pytest.mark.parametrize(
    ("document", "location", "type_"),
    [
        ({"title": "a\x00b"}, ("title",), "nul_character"),
        ({"organization": {"na\x00me": "x"}}, ("organization",), "nul_character"),
        ({"list": ["ok", ["deeper", "n\x00l"]]}, ("list", 1, 1), "nul_character"),
        ({"disciplines": ["x"] * (MAX_ITEMS + 1)}, ("disciplines",), "too_long"),
        (_nested(MAX_DEPTH + 1), ("a",) * (MAX_DEPTH + 1), "too_deep"),
    ],
    ids=["nul", "nul-key", "nested-nul", "too-long", "too-deep"],
)
def test_the_first_offending_location_is_named(
    document: object, location: tuple[str | int, ...], type_: str
) -> None:
    problem = shape_problem(document)

    assert problem is not None
    assert problem.location == location
    assert problem.type == type_


def test_the_first_problem_in_document_order_is_reported() -> None:
    problem = shape_problem({"a": "\x00", "b": "\x00"})

    assert problem is not None
    assert problem.location == ("a",)


def test_depth_far_beyond_the_stack_is_no_recursion_error() -> None:
    deep: object = []
    for _ in range(100_000):
        deep = [deep]

    problem = shape_problem(deep)

    assert problem is not None
    assert problem.type == "too_deep"
