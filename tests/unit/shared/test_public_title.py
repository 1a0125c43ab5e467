"""A confidential assignment reaches consultants under its public or built title (8.6)."""

from __future__ import annotations

from typing import Any

import pytest

from koppel.contract import Assignment, AssignmentSummary
from koppel.public_title import built_title, shown_title
from koppel.vocabulary import Discipline, Language, Level, OrganizationType, Province, SizeClass
from koppel_testing.builders import assignment

SECRET_TITLE = "Gemeente Zeist zoekt woordvoerder"


def _assignment(**changes: Any) -> Assignment:
    """A confidential crisis-communication assignment of a medium-sized municipality in Utrecht."""
    return assignment(
        **{
            "title": SECRET_TITLE,
            "description": "De gemeente Zeist zoekt na de brand in Zeist-West een woordvoerder.",
            "organization": {
                "name": "Gemeente Zeist",
                "type": "municipality",
                "inhabitants": 65_000,
            },
            "location": {"city": "Zeist", "province": "utrecht"},
            "disciplines_required": ["crisis_communication", "press_relations"],
            "visibility": "confidential",
            **changes,
        }
    )


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("nl", "Senior adviseur crisiscommunicatie bij een middelgrote gemeente in Utrecht"),
        ("en", "Senior crisis communication adviser at a medium-sized municipality in Utrecht"),
    ],
)
def test_built_title_names_level_discipline_organisation_kind_and_province(
    language: str, expected: str
) -> None:
    title = built_title(
        level=Level.SENIOR,
        discipline=Discipline.CRISIS_COMMUNICATION,
        organization_type=OrganizationType.MUNICIPALITY,
        size_class=SizeClass.MEDIUM,
        province=Province.UTRECHT,
        language=language,
    )
    assert title == expected


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "nl",
            "Strategisch adviseur public affairs bij een uitvoeringsorganisatie in Noord-Holland",
        ),
        ("en", "Mid-level public affairs adviser at an executive agency in North Holland"),
    ],
)
def test_built_title_without_size_class_and_with_an_vowel_article(
    language: str, expected: str
) -> None:
    level = Level.STRATEGIC if language == "nl" else Level.MEDIOR
    title = built_title(
        level=level,
        discipline=Discipline.PUBLIC_AFFAIRS,
        organization_type=OrganizationType.EXECUTIVE_AGENCY,
        size_class=None,
        province=Province.NOORD_HOLLAND,
        language=language,
    )
    assert title == expected


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("organization_type", list(OrganizationType))
@pytest.mark.parametrize("level", list(Level))
def test_every_vocabulary_value_has_words(
    language: str, organization_type: OrganizationType, level: Level
) -> None:
    for discipline in Discipline:
        title = built_title(
            level=level,
            discipline=discipline,
            organization_type=organization_type,
            size_class=None,
            province=Province.ZUID_HOLLAND,
            language=language,
        )
        assert "_" not in title  # a raw enum value would mean a missing label
        assert title[0].isupper()
        assert len(title) <= 200  # fits the contract's short text, like any title


def test_confidential_summary_without_public_title_carries_the_dutch_built_title() -> None:
    summary = AssignmentSummary.of(_assignment())

    assert summary.title == (
        "Senior adviseur crisiscommunicatie bij een middelgrote gemeente in Utrecht"
    )
    assert summary.title_is_built is True
    sent = summary.model_dump_json()
    assert "Zeist" not in sent
    assert "woordvoerder" not in sent
    assert shown_title(summary.model_dump(mode="json"), "nl") == summary.title
    assert shown_title(summary.model_dump(mode="json"), "en") == (
        "Senior crisis communication adviser at a medium-sized municipality in Utrecht"
    )


def test_confidential_summary_with_public_title_carries_it_as_given() -> None:
    summary = AssignmentSummary.of(_assignment(public_title="Woordvoerder na een calamiteit"))

    assert summary.title == "Woordvoerder na een calamiteit"
    assert summary.title_is_built is False
    assert "Zeist" not in summary.model_dump_json()
    assert shown_title(summary.model_dump(mode="json"), "en") == "Woordvoerder na een calamiteit"


def test_public_summary_keeps_its_title_and_never_holds_the_description() -> None:
    assignment = _assignment(visibility="public", public_title="Woordvoerder")

    summary = AssignmentSummary.of(assignment)

    assert summary.title == SECRET_TITLE
    assert summary.title_is_built is False
    assert "brand in Zeist-West" not in summary.model_dump_json()
    assert shown_title(summary.model_dump(mode="json"), Language.EN) == SECRET_TITLE


def test_public_title_is_optional_short_text() -> None:
    assert _assignment().public_title is None
    assert _assignment(public_title="  Woordvoerder  ").public_title == "Woordvoerder"
    with pytest.raises(ValueError, match="public_title"):
        _assignment(public_title="x" * 201)
