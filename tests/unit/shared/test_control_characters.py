"""Every text field of the contract refuses control characters (DOMAIN.md 8.6)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from koppel.contract import (
    Assignment,
    AssignmentSummary,
    ConsultantProfile,
    MatchFound,
    match_id_for,
)
from koppel.schemas import schema_documents
from koppel_testing.builders import assignment_document, consultant_document

# One of each class the contract names, with the Unicode name of each for the test ids.
CONTROL_CHARACTERS = {
    "NUL": "\x00",
    "TAB": "\t",
    "LF": "\n",
    "CR": "\r",
    "ESC": "\x1b",
    "DEL": "\x7f",
    "NEL (C1)": "\x85",
    "CSI (C1)": "\x9b",
    "LINE SEPARATOR": "\u2028",
    "PARAGRAPH SEPARATOR": "\u2029",
    "LRE": "\u202a",
    "RLE": "\u202b",
    "PDF": "\u202c",
    "LRO": "\u202d",
    "RLO": "\u202e",
    "LRI": "\u2066",
    "RLI": "\u2067",
    "FSI": "\u2068",
    "PDI": "\u2069",
    "LRM": "\u200e",
    "RLM": "\u200f",
    "ALM": "\u061c",
}


def _assignment(**changes: Any) -> dict[str, Any]:
    """An assignment that fills every kind of text field the contract has."""
    return assignment_document(
        **{
            "description": "Crisiscommunicatie voor een middelgrote gemeente.",
            "required_certifications": ["NLQF 6"],
            "visibility": "confidential",
            "public_title": "Woordvoerder bij een gemeente",
            **changes,
        }
    )


def _profile() -> dict[str, Any]:
    """A consultant with a certification, the one list of free text a profile has."""
    return consultant_document(certifications=["NLQF 6"])


def _match(**summary_changes: Any) -> dict[str, Any]:
    summary = AssignmentSummary.of(Assignment.model_validate(_assignment()))
    return {
        "match_id": match_id_for("a-1", "c-1"),
        "consultant_id": "c-1",
        "assignment": {**summary.model_dump(mode="json"), **summary_changes},
        "score": 0.8,
        "reasons": ["Opdracht op jouw niveau: senior"],
    }


def _set(document: dict[str, Any], path: tuple[str | int, ...], value: str) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(document))
    target: Any = copy  # a dict or a list, by the step
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return copy


# (model, document builder, path of the field): one of every text field kind.
FIELDS: dict[str, tuple[type[BaseModel], Callable[[], dict[str, Any]], tuple[str | int, ...]]] = {
    "assignment.title (short text)": (Assignment, _assignment, ("title",)),
    "assignment.description (long text)": (Assignment, _assignment, ("description",)),
    "assignment.public_title": (Assignment, _assignment, ("public_title",)),
    "assignment.organization.name": (Assignment, _assignment, ("organization", "name")),
    "assignment.location.city": (Assignment, _assignment, ("location", "city")),
    "assignment.required_certifications (certification)": (
        Assignment,
        _assignment,
        ("required_certifications", 0),
    ),
    "consultant.name": (ConsultantProfile, _profile, ("name",)),
    "consultant.home.city": (ConsultantProfile, _profile, ("home", "city")),
    "consultant.certifications": (ConsultantProfile, _profile, ("certifications", 0)),
    "match.assignment.title": (MatchFound, _match, ("assignment", "title")),
    "match.reasons": (MatchFound, _match, ("reasons", 0)),
}


def _offending(model: type[BaseModel], document: dict[str, Any]) -> list[ErrorDetails]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(document)
    return list(caught.value.errors())


@pytest.mark.parametrize("character", CONTROL_CHARACTERS.values(), ids=CONTROL_CHARACTERS.keys())
@pytest.mark.parametrize("field", FIELDS.keys())
def test_each_control_character_is_refused_in_each_text_field(field: str, character: str) -> None:
    model, build, path = FIELDS[field]
    assert model.model_validate(build())  # the document is valid without the character

    errors = _offending(model, _set(build(), path, f"Woord{character}voerder"))

    [error] = errors
    assert error["loc"] == path
    assert "must not contain control characters" in error["msg"]
    assert f"U+{ord(character):04X}" in error["msg"]
    assert "Woord" not in error["msg"]  # the problem is named, not the value


@pytest.mark.parametrize("field", ["assignment.title (short text)", "consultant.name"])
def test_a_leading_or_trailing_line_break_is_refused_not_stripped(field: str) -> None:
    model, build, path = FIELDS[field]
    for value in ("\nInterim woordvoerder", "Interim woordvoerder\r\n", "\tInterim"):
        [error] = _offending(model, _set(build(), path, value))
        assert error["loc"] == path


def test_ordinary_unicode_text_stays_accepted() -> None:
    # Accents, typographic quotes and dashes, a no-break space and an emoji built with a
    # zero-width joiner are text, not control characters.
    text = "Café ‘De Brug’ – Zeeuws-Vlaanderen\u00a0👩\u200d💻 ß"
    assignment = Assignment.model_validate(
        _assignment(title=text, description=text, location={"city": text, "province": "zeeland"})
    )
    assert assignment.title == text
    assert assignment.description == text


def _text_properties(node: object, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        if node.get("type") == "string":
            yield path, node
        for key, value in node.items():
            yield from _text_properties(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _text_properties(value, f"{path}[{index}]")


@pytest.mark.parametrize(
    "schema",
    [
        "nl.koppel.assignment.upserted.schema.json",
        "nl.koppel.consultant.upserted.schema.json",
        "nl.koppel.match.found.schema.json",
        "nl.koppel.match.withdrawn.schema.json",
    ],
)
def test_every_free_text_field_publishes_the_rule_in_its_json_schema(schema: str) -> None:
    # A string without a pattern, an enum or a format is free text: it must carry the rule,
    # so that a new text field that forgets it fails here.
    free = [
        path
        for path, node in _text_properties(schema_documents()[schema])
        if not {"pattern", "enum", "format", "const"} & node.keys()
    ]
    assert free == []
