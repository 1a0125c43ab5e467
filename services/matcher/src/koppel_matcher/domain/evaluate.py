"""One pair: the index's rules with the profile as a side of one row.

What a caller without an index needs (the read API, demos, tests): the same functions
the index scans with, so a pair's outcome is the same whichever way it is reached.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np

from koppel_matcher.domain.columns import Columns
from koppel_matcher.domain.components import Pair
from koppel_matcher.domain.entity_columns import assignment_columns, profile_columns
from koppel_matcher.domain.freed_capacity import freed_state
from koppel_matcher.domain.hard_filters import FILTERS, TRAVEL, TRAVEL_AT
from koppel_matcher.domain.instants import when
from koppel_matcher.domain.masks import CertificationVocabulary
from koppel_matcher.domain.model import AssignmentSpec, Evaluation, ProfileSpec
from koppel_matcher.domain.ranking import Ranking, freed_matches
from koppel_matcher.domain.scan import scan, state_matrix
from koppel_matcher.domain.scoring import component_states, scores
from koppel_matcher.domain.travel import travel

_ONE_ROW = np.ones(1, dtype=bool)


def _columns(a: AssignmentSpec, p: ProfileSpec) -> tuple[Columns, Columns]:
    """`a` as one entity, `p` as one row."""
    vocabulary = CertificationVocabulary()
    vocabulary.intern(a.required_certifications)
    vocabulary.intern(p.certifications)
    one = assignment_columns(a, vocabulary)
    row = {
        name: np.asarray(value)[np.newaxis]
        for name, value in profile_columns(p, vocabulary).items()
    }
    return one, row


def _evaluation(p: ProfileSpec, score: Any, states: Any, language: Any, freed: Any) -> Evaluation:
    """The one pair ranked as the index ranks its matches, reasons and all."""
    notes = freed_matches(np.broadcast_to(freed, (1,)), [p.id], lambda _: p)
    ranking = Ranking([p.id], score, states, np.asarray(language), notes)
    return ranking.matches()[0][1]


def evaluate(a: AssignmentSpec, p: ProfileSpec, now: datetime) -> Evaluation | None:
    """The pair's evaluation, or None when a hard filter fails."""
    one, row = _columns(a, p)
    found = scan(one, row, when(now), "profiles", _ONE_ROW)
    if found is None:
        return None
    return _evaluation(p, found.scores, found.state_matrix(), found.languages, found.freed)


def filter_outcomes(
    a: AssignmentSpec, p: ProfileSpec, now: datetime
) -> tuple[tuple[str, bool], ...]:
    """Each hard filter's name and whether the pair passes it, in the contract's order."""
    one, row = _columns(a, p)
    at = when(now)
    outcomes = [(name, bool(np.all(passes(one, row, at)))) for name, passes in FILTERS]
    fits, _ = travel(one, row)
    outcomes.insert(TRAVEL_AT, (TRAVEL, bool(fits.all())))
    return tuple(outcomes)


def failed_filters(a: AssignmentSpec, p: ProfileSpec, now: datetime) -> list[str]:
    """Names of the hard filters the pair fails, in the contract's order (empty: it passes)."""
    return [name for name, passes in filter_outcomes(a, p, now) if not passes]


def score(a: AssignmentSpec, p: ProfileSpec, now: datetime) -> Evaluation:
    """Score a pair whatever the hard filters say (`evaluate` is the guarded call)."""
    one, row = _columns(a, p)
    _, travel_states = travel(one, row)
    pair = Pair(one, row, travel_states, when(now).today)
    states = component_states(pair)
    total = np.broadcast_to(scores(states), (1,))
    return _evaluation(p, total, state_matrix(states, 1), row["language"], freed_state(pair))
