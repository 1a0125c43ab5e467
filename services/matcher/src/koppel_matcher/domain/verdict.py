"""Why a pair is or is not a match, in the language of whoever asks (the read API's
`candidates` route): the failed hard filters, or the score and reasons when all pass."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from koppel.vocabulary import Language
from koppel_matcher.domain.evaluate import evaluate, filter_outcomes
from koppel_matcher.domain.filter_labels import FILTER_LABELS
from koppel_matcher.domain.model import AssignmentSpec, Evaluation, ProfileSpec


@dataclass(frozen=True, slots=True)
class FailedFilter:
    name: str
    label: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """`failed` empty and `evaluation` set for a match; the failed filters otherwise."""

    failed: tuple[FailedFilter, ...]
    evaluation: Evaluation | None


def verdict(a: AssignmentSpec, p: ProfileSpec, now: datetime, language: Language) -> Verdict:
    """The pair judged at `now`; labels and reasons in `language`, not the profile's."""
    labels = FILTER_LABELS[language]
    failed = tuple(
        FailedFilter(name, labels[name])
        for name, passes in filter_outcomes(a, p, now)
        if not passes
    )
    if failed:
        return Verdict(failed=failed, evaluation=None)
    return Verdict(failed=(), evaluation=evaluate(a, replace(p, language=language), now))
