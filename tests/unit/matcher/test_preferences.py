"""The finer preferences and urgency (contract §8.5): municipality size, growth disciplines,
the fast-start reason, and certifications compared case-insensitively.

Each case runs the package's rules on one pair, checks them against the scalar oracle, and
for the matching pairs against the index in both directions.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from koppel.contract import URGENT_WITHIN
from koppel.vocabulary import Discipline, Language, OrganizationType, SizeClass
from koppel_matcher.domain import components as c
from koppel_matcher.domain.evaluate import evaluate, failed_filters, score
from koppel_matcher.domain.index import MatchIndex
from koppel_matcher.domain.model import AssignmentSpec, Evaluation, ProfileSpec
from koppel_matcher.domain.scoring import WEIGHTS
from koppel_testing import scalar_oracle
from koppel_testing.matcher_specs import Specs

SMALL, MEDIUM, LARGE = SizeClass.SMALL, SizeClass.MEDIUM, SizeClass.LARGE


def _scored(specs: Specs, a: AssignmentSpec, p: ProfileSpec) -> Evaluation:
    evaluation = score(a, p, specs.now)
    assert evaluation == scalar_oracle.score(a, p, specs.now)
    if evaluate(a, p, specs.now) is not None:
        index = MatchIndex()
        index.upsert_assignment(a)
        index.upsert_profile(p)
        assert index.matches_for_assignment(a, specs.now) == [(p.id, evaluation)]
        assert index.matches_for_profile(p, specs.now) == [(a.id, evaluation)]
    return evaluation


def _part(evaluation: Evaluation, name: str) -> tuple[float, str] | None:
    """(contribution, reason) of one component, None when it did not move the score."""
    names = [component for component, _ in evaluation.components]
    if name not in names:
        return None
    at = names.index(name)
    return evaluation.components[at][1], evaluation.reasons[at]


# --- municipality size ---


@pytest.mark.parametrize("size", [None, *SizeClass])
@pytest.mark.parametrize(
    "preferred", [frozenset(), frozenset({SMALL}), frozenset({MEDIUM, LARGE}), frozenset(SizeClass)]
)
def test_size_class_preference_for_every_size_and_preference(
    specs: Specs, size: SizeClass | None, preferred: frozenset[SizeClass]
) -> None:
    a = specs.assignment(organization_type=OrganizationType.MUNICIPALITY, size_class=size)
    p = specs.profile(preferred_size_classes=preferred)
    part = _part(_scored(specs, a, p), "size_class_preference")
    weight = WEIGHTS["size_class_preference"]
    if size is None or not preferred:
        assert part is None  # nothing to say: the neutral half of the weight, no reason
    elif size in preferred:
        assert part is not None
        assert part[0] == weight
        assert part[1].startswith("Gemeentegrootte van je voorkeur: ")
    else:
        assert part is not None
        assert part[0] == 0.0
        assert part[1].startswith("Niet de gemeentegrootte van je voorkeur: ")


@pytest.mark.parametrize(
    ("size", "language", "liked", "reason"),
    [
        (SMALL, Language.NL, True, "Gemeentegrootte van je voorkeur: kleine gemeente"),
        (
            MEDIUM,
            Language.NL,
            False,
            "Niet de gemeentegrootte van je voorkeur: middelgrote gemeente",
        ),
        (LARGE, Language.EN, True, "A municipality size you prefer: large municipality"),
        (SMALL, Language.EN, False, "Not a municipality size you prefer: small municipality"),
    ],
)
def test_size_class_reasons_in_both_languages(
    specs: Specs, size: SizeClass, language: Language, liked: bool, reason: str
) -> None:
    other = next(s for s in SizeClass if s is not size)
    preferred = frozenset({size if liked else other})
    a = specs.assignment(size_class=size)
    p = specs.profile(language=language, preferred_size_classes=preferred)
    assert reason in _scored(specs, a, p).reasons


def test_a_preferred_size_beats_no_preference_beats_another_size(specs: Specs) -> None:
    a = specs.assignment(size_class=SMALL)
    liked, neutral, other = (
        _scored(specs, a, specs.profile(preferred_size_classes=frozenset(sizes))).score
        for sizes in ({SMALL}, set(), {LARGE})
    )
    assert liked > neutral > other


# --- growth disciplines ---


@pytest.mark.parametrize(
    ("required", "preferred", "growth", "reason"),
    [
        ({"crisis_communication", "public_affairs"}, set(), {"public_affairs"},
         "Kans om te groeien in public affairs"),
        ({"crisis_communication"}, {"events", "public_affairs"}, {"events", "public_affairs"},
         "Kans om te groeien in public affairs en evenementen"),
        ({"crisis_communication"}, {"events"}, {"public_affairs"}, None),  # not offered
        ({"crisis_communication"}, {"events"}, set(), None),  # no growth wished
    ],
)  # fmt: skip
def test_growth_discipline_offered_by_the_assignment(
    specs: Specs, required: set[str], preferred: set[str], growth: set[str], reason: str | None
) -> None:
    a = specs.assignment(
        disciplines_required=frozenset(Discipline(d) for d in required),
        disciplines_preferred=frozenset(Discipline(d) for d in preferred),
    )
    p = specs.profile(growth_disciplines=frozenset(Discipline(d) for d in growth))
    part = _part(_scored(specs, a, p), "growth_discipline")
    if reason is None:
        assert part is None
    else:
        assert part == (WEIGHTS["growth_discipline"] * c.GROWTH_OFFERED, reason)


def test_growth_reason_in_english(specs: Specs) -> None:
    a = specs.assignment(disciplines_preferred=frozenset({Discipline.PUBLIC_AFFAIRS}))
    p = specs.profile(
        language=Language.EN, growth_disciplines=frozenset({Discipline.PUBLIC_AFFAIRS})
    )
    assert "A chance to grow into public affairs" in _scored(specs, a, p).reasons


def test_a_growth_discipline_never_passes_filter_6_by_itself(specs: Specs) -> None:
    a = specs.assignment(disciplines_required=frozenset({Discipline.PUBLIC_AFFAIRS}))
    p = specs.profile(growth_disciplines=frozenset({Discipline.PUBLIC_AFFAIRS}))
    assert failed_filters(a, p, specs.now) == ["disciplines"]
    assert scalar_oracle.failed_filters(a, p, specs.now) == ["disciplines"]
    index = MatchIndex()
    index.upsert_profile(p)
    assert index.matches_for_assignment(a, specs.now) == []


# --- urgency ---


def test_the_domain_counts_the_contracts_urgency_window() -> None:
    assert timedelta(days=c.URGENT_WITHIN_DAYS) == URGENT_WITHIN


@pytest.mark.parametrize(
    ("days_from_today", "urgent"), [(-10, True), (0, True), (21, True), (22, False), (60, False)]
)
def test_a_start_within_three_weeks_is_urgent_and_says_so(
    specs: Specs, days_from_today: int, urgent: bool
) -> None:
    start = specs.now.date() + timedelta(days=days_from_today)
    a = specs.assignment(start_date=start)
    p = specs.profile(available_from=min(start, specs.now.date()))
    evaluation = _scored(specs, a, p)
    expected = (0.0, "Snelle start: begint binnen 3 weken") if urgent else None
    assert _part(evaluation, "urgency") == expected
    assert bool(c.starts_soon(start.toordinal(), specs.now.date().toordinal())) is urgent
    english = _scored(
        specs, a, specs.profile(available_from=p.available_from, language=Language.EN)
    )
    assert ("Fast start: begins within 3 weeks" in english.reasons) is urgent


def test_urgency_moves_no_score(specs: Specs) -> None:
    soon = specs.assignment(start_date=specs.now.date() + timedelta(days=21))
    later = specs.assignment(start_date=specs.now.date() + timedelta(days=22))
    p = specs.profile(available_from=specs.now.date())
    assert _scored(specs, soon, p).score == _scored(specs, later, p).score


# --- certifications ---


@pytest.mark.parametrize(
    ("required", "held", "passes"),
    [
        ({"Prince2"}, {"PRINCE2"}, True),
        ({"GGD  crisis"}, {" ggd crisis "}, True),  # whitespace collapsed, ends trimmed
        ({"VOG", "Prince2"}, {"vog", "prince 2"}, False),  # a space inside a word is a word
        ({"BHV"}, {"bhv", "BHV"}, True),
    ],
)
def test_certifications_compare_case_insensitively_with_whitespace_collapsed(
    specs: Specs, required: set[str], held: set[str], passes: bool
) -> None:
    a = specs.assignment(required_certifications=frozenset(required))
    p = specs.profile(certifications=frozenset(held))
    assert failed_filters(a, p, specs.now) == ([] if passes else ["certifications"])
    index = MatchIndex()
    index.upsert_profile(p)
    index.upsert_assignment(a)
    assert [i for i, _ in index.matches_for_assignment(a, specs.now)] == ([p.id] if passes else [])
    assert [i for i, _ in index.matches_for_profile(p, specs.now)] == ([a.id] if passes else [])
