"""Why a pair is or is not a match, in the language of whoever asks (the read API's
`candidates` route): the failed hard filters, or the score and reasons when all pass.

When the hours (filter 4) or the office weekdays (filter 10) fail, `detail` names the
commitments that block them: label, hours, office days and end."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from koppel.vocabulary import Language
from koppel_matcher.domain.evaluate import evaluate, filter_outcomes
from koppel_matcher.domain.filter_labels import FILTER_LABELS, blocking_commitments
from koppel_matcher.domain.instants import dutch_today
from koppel_matcher.domain.model import AssignmentSpec, Evaluation, ProfileSpec


@dataclass(frozen=True, slots=True)
class FailedFilter:
    name: str
    label: str
    detail: str | None = None
    """The commitments that block filter 4 or 10, when those fail."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """`failed` empty and `evaluation` set for a match; the failed filters otherwise."""

    failed: tuple[FailedFilter, ...]
    evaluation: Evaluation | None


def verdict(a: AssignmentSpec, p: ProfileSpec, now: datetime, language: Language) -> Verdict:
    """The pair judged at `now`; labels and reasons in `language`, not the profile's."""
    labels = FILTER_LABELS[language]
    failed = tuple(
        FailedFilter(name, labels[name], _detail(name, a, p, now, language))
        for name, passes in filter_outcomes(a, p, now)
        if not passes
    )
    if failed:
        return Verdict(failed=failed, evaluation=None)
    return Verdict(failed=(), evaluation=evaluate(a, replace(p, language=language), now))


def _detail(
    name: str, a: AssignmentSpec, p: ProfileSpec, now: datetime, language: Language
) -> str | None:
    """The commitments still running on the capacity day that block `name` (4 or 10)."""
    if name not in ("hours", "office_weekdays"):
        return None
    day = max(a.start_date, dutch_today(now)).toordinal()
    running = [c for c in p.commitments if c.until is None or c.until >= day]
    if name == "office_weekdays":
        running = [c for c in running if c.office_weekdays & a.office_weekdays]
    return blocking_commitments(running, language) if running else None
