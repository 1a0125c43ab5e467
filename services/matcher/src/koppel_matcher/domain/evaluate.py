"""One pair, both steps: hard filters, then the score."""

from __future__ import annotations

from datetime import datetime

from koppel_matcher.domain.hard_filters import passes_hard_filters
from koppel_matcher.domain.model import AssignmentSpec, Evaluation, ProfileSpec
from koppel_matcher.domain.scoring import score


def evaluate(a: AssignmentSpec, p: ProfileSpec, now: datetime) -> Evaluation | None:
    """The pair's evaluation, or None when a hard filter fails."""
    if not passes_hard_filters(a, p, now):
        return None
    return score(a, p)
