"""The columnar index gives exactly what the scalar oracle gives pair by pair, both ways."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace

from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st

from koppel.vocabulary import Discipline, Level, Province
from koppel_matcher.domain import rendering
from koppel_matcher.domain.evaluate import evaluate
from koppel_matcher.domain.geo import EARTH_RADIUS_KM
from koppel_matcher.domain.index import MatchIndex
from koppel_matcher.domain.model import AssignmentSpec, Evaluation, Place, ProfileSpec
from koppel_matcher.domain.ranking import Ranking
from koppel_testing import scalar_oracle
from koppel_testing.matcher_specs import Specs

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
_ID_CHARS = "ab1:.-é"
UTRECHT_LAT, UTRECHT_LON = 52.0907, 5.1214


def _ranked(pairs: list[tuple[str, Evaluation]]) -> list[tuple[str, Evaluation]]:
    return sorted(pairs, key=lambda pair: (-pair[1].score, pair[0]))


def brute_force_for_assignment(
    specs: Specs, a: AssignmentSpec, profiles: list[ProfileSpec]
) -> list[tuple[str, Evaluation]]:
    evaluate = scalar_oracle.evaluate
    return _ranked([(p.id, e) for p in profiles if (e := evaluate(a, p, specs.now)) is not None])


def brute_force_for_profile(
    specs: Specs, p: ProfileSpec, assignments: list[AssignmentSpec]
) -> list[tuple[str, Evaluation]]:
    evaluate = scalar_oracle.evaluate
    return _ranked([(a.id, e) for a in assignments if (e := evaluate(a, p, specs.now)) is not None])


def _draw_world(
    data: st.DataObject, specs: Specs
) -> tuple[list[AssignmentSpec], list[ProfileSpec]]:
    ids = st.text(_ID_CHARS, min_size=1, max_size=4)
    assignments = data.draw(
        st.lists(specs.assignments(ids), min_size=1, max_size=12, unique_by=lambda a: a.id),
        label="A",
    )
    profiles = data.draw(
        st.lists(specs.profiles(ids), min_size=3, max_size=25, unique_by=lambda p: p.id),
        label="P",
    )
    return assignments, profiles


def _index(assignments: list[AssignmentSpec], profiles: list[ProfileSpec]) -> MatchIndex:
    index = MatchIndex(capacity=2)  # tiny, so growth is exercised
    for a in assignments:
        index.upsert_assignment(a)
    for p in profiles:
        index.upsert_profile(p)
    return index


@PROPERTY
@given(data=st.data())
def test_index_equals_brute_force_both_directions(specs: Specs, data: st.DataObject) -> None:
    assignments, profiles = _draw_world(data, specs)
    index = _index(assignments, profiles)
    pairs = 0
    for a in assignments:
        found = index.matches_for_assignment(a, specs.now)
        assert found == brute_force_for_assignment(specs, a, profiles)
        pairs += len(found)
    target(float(pairs), label="matching pairs")  # steer hypothesis towards dense worlds
    for p in profiles:
        assert index.matches_for_profile(p, specs.now) == brute_force_for_profile(
            specs, p, assignments
        )


@PROPERTY
@given(data=st.data())
def test_both_directions_find_the_same_pairs(specs: Specs, data: st.DataObject) -> None:
    assignments, profiles = _draw_world(data, specs)
    index = _index(assignments, profiles)
    by_assignment = {
        (a.id, pid, e) for a in assignments for pid, e in index.matches_for_assignment(a, specs.now)
    }
    by_profile = {
        (aid, p.id, e) for p in profiles for aid, e in index.matches_for_profile(p, specs.now)
    }
    assert by_assignment == by_profile
    target(float(len(by_assignment)), label="matching pairs")


Judged = dict[str, tuple[float, tuple[str, ...]]]


def _judged(ranking: Ranking) -> Judged:
    """Id → (score, reasons) of every pair a ranking holds."""
    return {i: (score, reasons) for i, score, reasons in ranking.scored()}


@PROPERTY
@given(data=st.data())
def test_each_pair_is_judged_alike_from_either_side(specs: Specs, data: st.DataObject) -> None:
    """For every pair: found or not, score and reasons are the same whether the assignment
    is matched against the profiles or the profile against the assignments, and equal to
    `evaluate()` and to the scalar oracle."""
    assignments, profiles = _draw_world(data, specs)
    index = _index(assignments, profiles)
    by_assignment = {a.id: _judged(index.rank_for_assignment(a, specs.now)) for a in assignments}
    by_profile = {p.id: _judged(index.rank_for_profile(p, specs.now)) for p in profiles}
    passing = 0
    for a in assignments:
        for p in profiles:
            expected = scalar_oracle.evaluate(a, p, specs.now)
            assert evaluate(a, p, specs.now) == expected
            judged = None if expected is None else (expected.score, expected.reasons)
            assert by_assignment[a.id].get(p.id) == judged
            assert by_profile[p.id].get(a.id) == judged
            passing += expected is not None
    target(float(passing), label="matching pairs")


@PROPERTY
@given(data=st.data())
def test_travel_limit_near_the_boundary_agrees_with_the_scalar(
    specs: Specs, data: st.DataObject
) -> None:
    """Homes at random distances around whole-km limits: vector and scalar haversine agree."""
    a = specs.assignment(office_days_per_week=data.draw(st.integers(0, 3)))
    limit = data.draw(st.integers(1, 120))
    profiles = []
    for i in range(data.draw(st.integers(1, 20))):
        km = limit + data.draw(st.sampled_from([-1e-3, -1e-7, 0.0, 1e-7, 1e-3, -5.0, 5.0]))
        bearing = data.draw(st.floats(0, 2 * math.pi))
        lat = UTRECHT_LAT + math.degrees(km / EARTH_RADIUS_KM) * math.cos(bearing)
        lon = UTRECHT_LON + math.degrees(km / EARTH_RADIUS_KM) * math.sin(bearing) / math.cos(
            math.radians(UTRECHT_LAT)
        )
        profiles.append(
            specs.profile(id=f"c{i}", home=Place("Ergens", Province.UTRECHT, lat, lon),
                          max_travel_km=limit, max_office_days_per_week=3)
        )  # fmt: skip
    index = _index([a], profiles)
    assert index.matches_for_assignment(a, specs.now) == brute_force_for_assignment(
        specs, a, profiles
    )
    for p in profiles:
        assert index.matches_for_profile(p, specs.now) == brute_force_for_profile(specs, p, [a])


def _some_of(data: st.DataObject, live: Mapping[str, object], label: str) -> set[str]:
    if not live:
        return set()
    chosen: set[str] = data.draw(st.sets(st.sampled_from(sorted(live))), label=label)
    return chosen


@PROPERTY
@given(data=st.data())
def test_upserts_and_removals_keep_the_index_exact(specs: Specs, data: st.DataObject) -> None:
    assignments, profiles = _draw_world(data, specs)
    index = _index(assignments, profiles)
    live_a = {a.id: a for a in assignments}
    live_p = {p.id: p for p in profiles}
    for p in (
        data.draw(st.lists(st.sampled_from(profiles), max_size=8), label="drop P")
        if profiles
        else []
    ):
        index.remove_profile(p.id)
        live_p.pop(p.id, None)
    for a in (
        data.draw(st.lists(st.sampled_from(assignments), max_size=4), label="drop A")
        if assignments
        else []
    ):
        index.remove_assignment(a.id)
        live_a.pop(a.id, None)
    ids = st.text(_ID_CHARS, min_size=1, max_size=4)
    for p in data.draw(st.lists(specs.profiles(ids), max_size=8), label="new P"):
        index.upsert_profile(p)  # new ones, and replacements of live ids
        live_p[p.id] = p
    for a in data.draw(st.lists(specs.assignments(ids), max_size=4), label="new A"):
        index.upsert_assignment(a)
        live_a[a.id] = a

    assert index.profile_count == len(live_p)
    assert index.assignment_count == len(live_a)
    assert all(index.profile(pid) == p for pid, p in live_p.items())
    assert all(index.assignment(aid) == a for aid, a in live_a.items())
    for a in live_a.values():
        assert index.matches_for_assignment(a, specs.now) == brute_force_for_assignment(
            specs, a, list(live_p.values())
        )
    for p in live_p.values():
        assert index.matches_for_profile(p, specs.now) == brute_force_for_profile(
            specs, p, list(live_a.values())
        )


def test_removed_entities_are_gone(specs: Specs) -> None:
    index = MatchIndex()
    a, p = specs.assignment(), specs.profile()
    index.upsert_assignment(a)
    index.upsert_profile(p)
    assert [pid for pid, _ in index.matches_for_assignment(a, specs.now)] == [p.id]
    index.remove_profile(p.id)
    index.remove_profile("never-there")
    assert index.matches_for_assignment(a, specs.now) == []
    assert index.profile(p.id) is None
    assert index.profile_count == 0
    index.remove_assignment(a.id)
    assert index.matches_for_profile(p, specs.now) == []
    assert index.assignment_count == 0
    assert index.memory_bytes() > 0


def test_a_changed_profile_replaces_the_old_one(specs: Specs) -> None:
    index = MatchIndex()
    a, p = specs.assignment(), specs.profile()
    index.upsert_assignment(a)
    index.upsert_profile(p)
    index.upsert_profile(replace(p, disciplines=frozenset({Discipline.EVENTS})))
    assert index.profile_count == 1
    assert index.matches_for_assignment(a, specs.now) == []


def test_closed_or_unknown_certification_assignments_match_nobody(specs: Specs) -> None:
    index = MatchIndex()
    index.upsert_profile(specs.profile(certifications=frozenset({"VOG"})))
    closed = specs.assignment(is_open=False)
    unknown = specs.assignment(required_certifications=frozenset({"Nooit gezien"}))
    assert index.matches_for_assignment(closed, specs.now) == []
    assert index.matches_for_assignment(unknown, specs.now) == []
    assert len(index.matches_for_assignment(specs.assignment(), specs.now)) == 1


def test_ranking_is_by_score_then_id(specs: Specs) -> None:
    index = MatchIndex()
    a = specs.assignment()
    exact = [specs.profile(id=pid) for pid in ("c-b", "c-a")]
    stretch = specs.profile(id="c-0", level=Level.MEDIOR, open_to_next_level=True)
    for p in [*exact, stretch]:
        index.upsert_profile(p)
    assert [pid for pid, _ in index.matches_for_assignment(a, specs.now)] == ["c-a", "c-b", "c-0"]


@PROPERTY
@given(data=st.data())
def test_one_pair_index_agrees_with_evaluate(specs: Specs, data: st.DataObject) -> None:
    a = data.draw(specs.assignments())
    p = data.draw(specs.profiles())
    evaluation = scalar_oracle.evaluate(a, p, specs.now)
    assert evaluate(a, p, specs.now) == evaluation
    index = _index([a], [p])
    found = index.matches_for_profile(p, specs.now)
    assert found == ([] if evaluation is None else [(a.id, evaluation)])


@PROPERTY
@given(data=st.data())
def test_a_ranking_renders_each_match_like_the_batch(specs: Specs, data: st.DataObject) -> None:
    assignments, profiles = _draw_world(data, specs)
    index = _index(assignments, profiles)
    for a in assignments:
        ranking = index.rank_for_assignment(a, specs.now)
        one_by_one = [ranking[i] for i in range(len(ranking))]
        assert ranking.ids == [pid for pid, _ in one_by_one]
        assert list(ranking.scores) == [e.score for _, e in one_by_one]
        assert ranking[1:3] == one_by_one[1:3]
        assert one_by_one == ranking.matches() == list(ranking)
    for p in profiles:
        ranking = index.rank_for_profile(p, specs.now)
        assert [ranking[i] for i in range(len(ranking))] == ranking.matches()


@PROPERTY
@given(data=st.data())
def test_reasons_alone_equal_the_brute_force_evaluations(specs: Specs, data: st.DataObject) -> None:
    """What the service publishes (`scored()`: ids, scores, reasons without evaluations)."""
    assignments, profiles = _draw_world(data, specs)
    index = _index(assignments, profiles)
    pairs = 0
    for a in assignments:
        expected = brute_force_for_assignment(specs, a, profiles)
        ranking = index.rank_for_assignment(a, specs.now)
        assert list(ranking.scored()) == [(i, e.score, e.reasons) for i, e in expected]
        evaluated_first = index.rank_for_assignment(a, specs.now)
        assert evaluated_first.matches() == expected
        assert evaluated_first.reasons() == ranking.reasons()
        pairs += len(expected)
    target(float(pairs), label="matching pairs")
    for p in profiles:
        expected = brute_force_for_profile(specs, p, assignments)
        ranking = index.rank_for_profile(p, specs.now)
        assert ranking.reasons() == [e.reasons for _, e in expected]
        assert ranking.matches() == expected
        assert list(ranking.scored()) == [(i, e.score, e.reasons) for i, e in expected]


def test_an_empty_ranking(specs: Specs) -> None:
    ranking = MatchIndex().rank_for_assignment(specs.assignment(), specs.now)
    assert len(ranking) == 0
    assert ranking.matches() == []
    assert list(ranking) == []
    assert ranking.reasons() == []
    assert list(ranking.scored()) == []


def test_certification_masks_span_several_words(specs: Specs) -> None:
    """More than 64 distinct certifications: the masks grow a second 64-bit word."""
    names = [f"cert-{i}" for i in range(70)]
    index = MatchIndex()
    for i, name in enumerate(names):
        index.upsert_profile(specs.profile(id=f"c-{i}", certifications=frozenset({name})))
    wants_last = specs.assignment(id="a-last", required_certifications=frozenset({names[-1]}))
    wants_two = specs.assignment(id="a-two", required_certifications=frozenset(names[:2]))
    index.upsert_assignment(wants_last)
    index.upsert_assignment(wants_two)
    assert [pid for pid, _ in index.matches_for_assignment(wants_last, specs.now)] == ["c-69"]
    assert index.matches_for_assignment(wants_two, specs.now) == []
    holder = specs.profile(id="c-both", certifications=frozenset({names[0], names[1], names[69]}))
    assert [aid for aid, _ in index.matches_for_profile(holder, specs.now)] == ["a-last", "a-two"]
    last_holder = index.profile("c-69")
    assert last_holder is not None
    assert [aid for aid, _ in index.matches_for_profile(last_holder, specs.now)] == ["a-last"]


def test_a_certification_no_profile_mask_reaches_matches_nobody(specs: Specs) -> None:
    """Assignments intern certifications beyond every profile's mask words (a shard's
    profiles hold few certifications, the broadcast assignments many): requiring one of
    those must match nobody, not skip the filter."""
    index = MatchIndex()
    index.upsert_profile(specs.profile(id="c-plain"))
    index.upsert_profile(specs.profile(id="c-vog", certifications=frozenset({"VOG"})))
    for i in range(130):
        index.upsert_assignment(
            specs.assignment(id=f"a-{i}", required_certifications=frozenset({f"cert-{i}"}))
        )
    far = specs.assignment(id="a-129", required_certifications=frozenset({"cert-129"}))
    assert index.matches_for_assignment(far, specs.now) == []
    for profile_id in ("c-plain", "c-vog"):
        profile = index.profile(profile_id)
        assert profile is not None
        assert index.matches_for_profile(profile, specs.now) == []


def test_ties_are_ordered_by_id_whatever_the_id_lengths(specs: Specs) -> None:
    index = MatchIndex(capacity=1)
    ids = ["b", "a", "ab", "a" * 64, "B", "a-10", "a-9", "é"]
    for pid in ids:
        index.upsert_profile(specs.profile(id=pid))
    found = index.matches_for_assignment(specs.assignment(), specs.now)
    assert [pid for pid, _ in found] == sorted(ids)
    assert len({e.score for _, e in found}) == 1


def test_rows_whose_components_all_sit_still_get_empty_tuples() -> None:
    """Not reachable through the rules today (required disciplines always give a reason),
    but the bulk builder must keep every row even when a group has nothing to say."""
    columns = [["r0", "r1", "r2"], ["x0", "x1", "x2"]]
    groups = [(0, 1, []), (1, 3, [0, 1])]
    assert list(rendering._tuples(columns, groups)) == [(), ("r1", "x1"), ("r2", "x2")]
