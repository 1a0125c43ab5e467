"""Why a pair is not a match (the read API's `candidates` route), from the pure core: the
failed hard filters with a label in the caller's language, or the score and reasons."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from koppel.vocabulary import Discipline, Language, Level
from koppel_matcher.domain.evaluate import evaluate, failed_filters, filter_outcomes
from koppel_matcher.domain.filter_labels import FILTER_LABELS
from koppel_matcher.domain.hard_filters import FILTERS, TRAVEL, TRAVEL_AT
from koppel_matcher.domain.model import CommitmentSpec
from koppel_matcher.domain.verdict import verdict

ALL_FILTERS = [name for name, _ in FILTERS]
ALL_FILTERS.insert(TRAVEL_AT, TRAVEL)


def test_every_filter_has_a_label_in_every_language() -> None:
    for language in Language:
        assert list(FILTER_LABELS[language]) == ALL_FILTERS
        assert all(label.strip() for label in FILTER_LABELS[language].values())
    assert FILTER_LABELS[Language.NL] != FILTER_LABELS[Language.EN]


def test_a_pair_that_fits_passes_every_filter_and_gets_its_reasons(specs: Any) -> None:
    a, p = specs.assignment(), specs.profile(language=Language.NL)

    outcomes = filter_outcomes(a, p, specs.now)
    judged = verdict(a, p, specs.now, Language.EN)

    assert [name for name, _ in outcomes] == ALL_FILTERS
    assert all(passes for _, passes in outcomes)
    assert judged.failed == ()
    assert judged.evaluation is not None
    expected = evaluate(a, specs.profile(language=Language.EN), specs.now)
    assert expected is not None
    assert judged.evaluation.score == expected.score
    assert judged.evaluation.reasons == expected.reasons  # the caller's language, not nl
    dutch = verdict(a, p, specs.now, Language.NL).evaluation
    assert dutch is not None
    assert dutch.reasons != judged.evaluation.reasons


@pytest.mark.parametrize("language", list(Language))
def test_failed_filters_are_named_and_labelled_in_the_callers_language(
    specs: Any, language: Language
) -> None:
    events = frozenset({Discipline.EVENTS})
    a = specs.assignment(office_days_per_week=4, disciplines_required=events)
    p = specs.profile(max_office_days_per_week=2, level=Level.JUNIOR)

    judged = verdict(a, p, specs.now, language)

    assert [f.name for f in judged.failed] == ["level", "office_days", "disciplines"]
    assert [f.label for f in judged.failed] == [
        FILTER_LABELS[language][name] for name in ("level", "office_days", "disciplines")
    ]
    assert judged.evaluation is None


def test_travel_fails_for_a_far_home(specs: Any) -> None:
    from_far = specs.profile(home=specs.groningen, max_travel_km=30)

    judged = verdict(specs.assignment(), from_far, specs.now, Language.NL)

    assert [f.name for f in judged.failed] == ["travel"]
    assert judged.failed[0].label == "De opdracht ligt verder weg dan de consultant wil reizen."


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_the_verdict_agrees_with_evaluate_and_failed_filters(specs: Any, data: Any) -> None:
    a = data.draw(specs.assignments())
    p = data.draw(specs.profiles())

    judged = verdict(a, p, specs.now, Language.EN)

    assert [f.name for f in judged.failed] == failed_filters(a, p, specs.now)
    assert (judged.evaluation is None) is (evaluate(a, p, specs.now) is None)


def test_a_shared_office_weekday_is_named_after_travel(specs: Any) -> None:
    """Filter 10: the assignment's Tuesday is a Tuesday at a commitment still running."""
    busy = CommitmentSpec(8, office_weekdays=0b00010)
    a = specs.assignment(office_weekdays=0b00011)
    p = specs.profile(home=specs.groningen, max_travel_km=30, hours_max=40, commitments=(busy,))

    judged = verdict(a, p, specs.now, Language.EN)

    assert [f.name for f in judged.failed] == ["travel", "office_weekdays"]
    assert judged.failed[1].label == FILTER_LABELS[Language.EN]["office_weekdays"]


@pytest.mark.parametrize(
    ("language", "detail"),
    [
        (
            Language.NL,
            "Bij de start lopen nog: Gemeente Houten: 24 uur per week (di) tot en met 31 december"
            " 2099; Eigen bureau: 8 uur per week zonder einddatum.",
        ),
        (
            Language.EN,
            "Still running at the start: Gemeente Houten: 24 hours a week (Tue) until 31 December"
            " 2099; Eigen bureau: 8 hours a week with no end date.",
        ),
    ],
)
def test_the_commitments_blocking_the_hours_are_named(
    specs: Any, language: Language, detail: str
) -> None:
    until = date(2099, 12, 31).toordinal()
    ended = CommitmentSpec(32, until=date(2000, 1, 31).toordinal(), label="Oud werk")
    busy = CommitmentSpec(24, office_weekdays=0b00010, until=until, label="Gemeente Houten")
    endless = CommitmentSpec(8, label="Eigen bureau")
    a = specs.assignment(hours_min=24, hours_max=32)
    p = specs.profile(hours_min=24, hours_max=36, commitments=(ended, busy, endless))

    judged = verdict(a, p, specs.now, language)

    [hours] = [f for f in judged.failed if f.name == "hours"]
    assert hours.detail == detail
    assert all(f.detail is None for f in judged.failed if f.name != "hours")


def test_only_the_commitments_on_the_assignments_office_weekdays_block_filter_10(
    specs: Any,
) -> None:
    tuesday = CommitmentSpec(4, office_weekdays=0b00010, label="Dinsdagklus")
    friday = CommitmentSpec(4, office_weekdays=0b10000)
    a = specs.assignment(office_weekdays=0b00011)
    p = specs.profile(hours_max=40, commitments=(tuesday, friday))

    judged = verdict(a, p, specs.now, Language.EN)

    assert [(f.name, f.detail) for f in judged.failed] == [
        (
            "office_weekdays",
            "Still running at the start: Dinsdagklus: 4 hours a week (Tue) with no end date.",
        )
    ]
