"""Why a pair is not a match (the read API's `candidates` route), from the pure core: the
failed hard filters with a label in the caller's language, or the score and reasons."""

from __future__ import annotations

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
