"""The score: documented weights, sensible orderings, reasons in the consultant's language."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from koppel.vocabulary import (
    AssignmentType,
    Discipline,
    Language,
    Level,
    OrganizationType,
    SizeClass,
    WorkStyle,
)
from koppel_matcher.domain.evaluate import score
from koppel_matcher.domain.model import Place
from koppel_matcher.domain.reasons import DISCIPLINE_NAMES
from koppel_matcher.domain.scoring import COMPONENTS, WEIGHTS
from koppel_testing import scalar_oracle
from koppel_testing.matcher_specs import Specs

MUNICIPALITY = OrganizationType.MUNICIPALITY
PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_weights_sum_to_one_and_name_every_component() -> None:
    assert math.isclose(sum(WEIGHTS.values()), 1.0)
    assert [c.name for c in COMPONENTS] == list(WEIGHTS)
    assert WEIGHTS["urgency"] == 0.0  # said, not scored
    assert all(w > 0 for name, w in WEIGHTS.items() if name != "urgency")


@PROPERTY
@given(data=st.data())
def test_score_is_in_range_deterministic_and_explained(specs: Specs, data: st.DataObject) -> None:
    a, p = data.draw(specs.assignments()), data.draw(specs.profiles())
    first = score(a, p, specs.now)
    assert first == scalar_oracle.score(a, p, specs.now)
    assert 0.0 <= first.score <= 1.0
    assert round(first.score, 4) == first.score
    assert score(a, p, specs.now) == first
    # one reason per component that moved, and perhaps the one naming a commitment's end
    assert len(first.reasons) - len(first.components) in (0, 1)
    names = [name for name, _ in first.components]
    assert names == [c.name for c in COMPONENTS if c.name in names]  # fixed order, no repeats
    assert all(0.0 <= contribution <= WEIGHTS[name] for name, contribution in first.components)


@PROPERTY
@given(data=st.data())
def test_covering_more_required_disciplines_never_lowers_the_score(
    specs: Specs, data: st.DataObject
) -> None:
    a, p = data.draw(specs.assignments()), data.draw(specs.profiles())
    extra = data.draw(st.sampled_from(sorted(a.disciplines_required)))
    as_specialism = data.draw(st.booleans())
    more = replace(
        p,
        disciplines=p.disciplines | {extra},
        specialisms=p.specialisms | ({extra} if as_specialism else set()),
    )
    assert score(a, more, specs.now).score >= score(a, p, specs.now).score


@PROPERTY
@given(data=st.data())
def test_a_specialism_beats_a_plain_discipline(specs: Specs, data: st.DataObject) -> None:
    a, p = data.draw(specs.assignments()), data.draw(specs.profiles())
    held = data.draw(st.sampled_from(sorted(a.disciplines_required)))
    plain = replace(p, disciplines=p.disciplines | {held}, specialisms=p.specialisms - {held})
    special = replace(plain, specialisms=plain.specialisms | {held})
    assert score(a, special, specs.now).score > score(a, plain, specs.now).score


@PROPERTY
@given(data=st.data())
def test_exact_level_beats_a_stretch_beats_a_step_down(specs: Specs, data: st.DataObject) -> None:
    a, p = data.draw(specs.assignments()), data.draw(specs.profiles())
    assume(a.level is Level.MEDIOR or a.level is Level.SENIOR)
    ranks = list(Level)
    exact = replace(p, level=a.level)
    stretch = replace(p, level=ranks[a.level.rank - 1], open_to_next_level=True)
    step_down = replace(p, level=ranks[a.level.rank + 1])
    assert score(a, exact, specs.now).score > score(a, stretch, specs.now).score
    assert score(a, stretch, specs.now).score > score(a, step_down, specs.now).score


@PROPERTY
@given(data=st.data())
def test_closer_is_never_worse(specs: Specs, data: st.DataObject) -> None:
    a = specs.assignment(office_days_per_week=data.draw(st.integers(1, 4)))
    near_km, far_km = sorted(data.draw(st.tuples(st.floats(0, 200), st.floats(0, 200))))

    def home_at(km: float) -> Place:
        assert a.location.lat is not None
        lat = a.location.lat + math.degrees(km / 6371.0088)
        return Place("Ergens", a.province, lat, a.location.lon)

    p = data.draw(specs.profiles())
    near, far = replace(p, home=home_at(near_km)), replace(p, home=home_at(far_km))
    assert score(a, near, specs.now).score >= score(a, far, specs.now).score


@pytest.mark.parametrize(
    ("organization", "size", "style", "better_than"),
    [
        (
            OrganizationType.MUNICIPALITY,
            SizeClass.SMALL,
            WorkStyle.GENERALIST,
            WorkStyle.SPECIALIST,
        ),
        (
            OrganizationType.MUNICIPALITY,
            SizeClass.LARGE,
            WorkStyle.SPECIALIST,
            WorkStyle.GENERALIST,
        ),
        (OrganizationType.MINISTRY, None, WorkStyle.SPECIALIST, WorkStyle.EITHER),
        (OrganizationType.EXECUTIVE_AGENCY, None, WorkStyle.EITHER, WorkStyle.GENERALIST),
    ],
)
def test_work_style_suits_the_organisation(
    specs: Specs,
    organization: OrganizationType,
    size: SizeClass | None,
    style: WorkStyle,
    better_than: WorkStyle,
) -> None:
    a = specs.assignment(organization_type=organization, size_class=size)
    suits = score(a, specs.profile(work_style=style), specs.now).score
    assert suits > score(a, specs.profile(work_style=better_than), specs.now).score


def test_medium_municipality_has_no_work_style_lean(specs: Specs) -> None:
    a = specs.assignment(size_class=SizeClass.MEDIUM)
    scores = {score(a, specs.profile(work_style=s), specs.now).score for s in WorkStyle}
    assert len(scores) == 1
    assert "work_style" not in dict(score(a, specs.profile(), specs.now).components)


def test_reasons_in_dutch(specs: Specs) -> None:
    a = specs.assignment(level=Level.SENIOR, office_days_per_week=2)
    p = specs.profile(
        level=Level.MEDIOR,
        open_to_next_level=True,
        specialisms=frozenset({Discipline.CRISIS_COMMUNICATION}),
        max_office_days_per_week=3,
    )
    reasons = score(a, p, specs.now).reasons
    assert "Je specialisme crisiscommunicatie is gevraagd" in reasons
    assert "Stap omhoog: senior opdracht" in reasons
    assert "1 kantoordag minder dan je maximum" in reasons


def test_reasons_in_english(specs: Specs) -> None:
    a = specs.assignment(
        disciplines_required=frozenset({Discipline.CITIZEN_PARTICIPATION, Discipline.EVENTS}),
        office_days_per_week=1,
    )
    p = specs.profile(
        language=Language.EN,
        disciplines=frozenset({Discipline.CITIZEN_PARTICIPATION, Discipline.ONLINE_COMMUNICATION}),
        max_office_days_per_week=3,
        preferred_organization_types=frozenset({OrganizationType.MINISTRY}),
    )
    reasons = score(a, p, specs.now).reasons
    assert "You cover 1 of the 2 required disciplines: citizen participation" in reasons
    assert "2 office days fewer than your maximum" in reasons
    assert "Not an organisation type you prefer: municipality" in reasons
    assert "At your level: senior" in reasons


def test_neutral_components_give_no_reason(specs: Specs) -> None:
    """Reference pair: no preferences, `either`, rate unknown, 1–4 public years, at max days,
    starting in more than three weeks."""
    later = specs.assignment(start_date=specs.now.date() + timedelta(days=22))
    evaluation = score(later, specs.profile(max_office_days_per_week=2), specs.now)
    names = {name for name, _ in evaluation.components}
    assert names == {"required_disciplines", "level", "hours", "travel"}
    assert len(evaluation.reasons) == 4


def test_preferences_move_the_score_both_ways(specs: Specs) -> None:
    a = specs.assignment(assignment_type=AssignmentType.BRIDGING)
    neutral = score(a, specs.profile(), specs.now).score
    liked = specs.profile(preferred_assignment_types=frozenset({AssignmentType.BRIDGING}))
    other = specs.profile(preferred_assignment_types=frozenset({AssignmentType.STRATEGIC}))
    assert score(a, liked, specs.now).score > neutral > score(a, other, specs.now).score
    assert (
        "Het soort opdracht dat je zoekt: overbruggingsopdracht"
        in score(a, liked, specs.now).reasons
    )


def test_every_discipline_has_a_dutch_and_an_english_name() -> None:
    for language in Language:
        assert set(DISCIPLINE_NAMES[language]) == set(Discipline)
    assert DISCIPLINE_NAMES[Language.NL][Discipline.ONLINE_COMMUNICATION] == "online communicatie"
    assert DISCIPLINE_NAMES[Language.NL][Discipline.CITIZEN_PARTICIPATION] == "burgerparticipatie"


def test_preferred_disciplines_give_one_reason(specs: Specs) -> None:
    a = specs.assignment(
        disciplines_preferred=frozenset({Discipline.CAMPAIGNS, Discipline.SOCIAL_MEDIA})
    )
    assert (
        "Ook gewenst en in jouw profiel: campagnes" in score(a, specs.profile(), specs.now).reasons
    )
    lacking = specs.profile(disciplines=frozenset({Discipline.CRISIS_COMMUNICATION}))
    assert "Je mist de gewenste extra disciplines: campagnes en sociale media" in (
        score(a, lacking, specs.now).reasons
    )
    assert score(a, specs.profile(), specs.now).score > score(a, lacking, specs.now).score


def test_remote_assignment_scores_travel_full(specs: Specs) -> None:
    remote = specs.assignment(office_days_per_week=0)
    far = specs.profile(home=specs.groningen, max_travel_km=None)
    components = dict(score(remote, far, specs.now).components)
    assert components["travel"] == WEIGHTS["travel"]
    on_site = dict(score(specs.assignment(), far, specs.now).components)
    assert on_site["travel"] < WEIGHTS["travel"]


def test_the_documented_table_holds_every_weight_in_order() -> None:
    """docs/matching.md is where the weights are read: its table and `WEIGHTS` agree."""
    table = Path(__file__).parents[3] / "docs" / "matching.md"
    rows = re.findall(r"^\| `(\w+)` \| (\d\.\d\d) \|", table.read_text(), flags=re.MULTILINE)
    assert [(name, float(weight)) for name, weight in rows] == list(WEIGHTS.items())
