"""What the matcher publishes for one (consultant, assignment) pair, given what it already did.

The ledger (`matcher_matches`) keeps, per pair, the LAST EVENT PUBLISHED: state
(`found` / `withdrawn`), revision, score, reasons and a content fingerprint. Every time a
pair is evaluated the matcher compares the candidate with that entry:

| ledger entry        | pair passes the hard filters now             | pair fails now    |
|---------------------|----------------------------------------------|-------------------|
| none                | `match.found`, revision 1                    | nothing           |
| withdrawn           | `match.found`, revision + 1 (matches again)  | nothing           |
| found, same content | nothing (re-published unchanged content)     | `match.withdrawn` |
| found, changed      | `match.found`, revision + 1 only if MATERIAL | `match.withdrawn` |

MATERIAL means: the score moved by at least `MATERIAL_SCORE_CHANGE` (0.05) from the score
last published, or the list of reasons differs from the one last published. Anything else
(a new title, a score drifting by 0.01, different assignment details that do not change the
score or reasons) publishes nothing. Because the entry always holds the last *published*
values, small drifts cannot accumulate unnoticed: they are measured from what consumers saw.

A withdrawal is published exactly once: afterwards the entry is `withdrawn`, and a pair
that fails again finds nothing to withdraw.

The matcher publishes every pair that passes the hard filters, whatever its score: the
consultant's `min_score` is a notification preference, applied by the notifier.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from enum import Enum, StrEnum
from typing import Any

from koppel.vocabulary import AssignmentStatus, WithdrawalReason

MATERIAL_SCORE_CHANGE = 0.05
_EPSILON = 1e-9


class MatchState(StrEnum):
    FOUND = "found"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """The last event published for one pair."""

    consultant_id: str
    assignment_id: str
    match_id: str
    state: MatchState
    revision: int
    score: float
    reasons: tuple[str, ...]
    language: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class Candidate:
    """What the matcher would publish now for a pair that passes the hard filters."""

    score: float
    reasons: tuple[str, ...]
    fingerprint: str


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 as is: the form fingerprints are taken of."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_fingerprint(summary: str, score: float, reasons: tuple[str, ...], language: str) -> str:
    """A stable digest of everything a `match.found` shows; `summary` in `canonical_json`.

    The digest is that of `canonical_json({"assignment", "language", "reasons", "score"})`,
    assembled from parts so that the assignment's summary, the same for every consultant it
    matches, is serialised once per assignment rather than once per match.
    """
    canonical = (
        f'{{"assignment":{summary},"language":{canonical_json(language)},'
        f'"reasons":{canonical_json(reasons)},"score":{canonical_json(score)}}}'
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def is_material(entry: LedgerEntry, candidate: Candidate) -> bool:
    """The change from the last published `found` is worth a new revision."""
    moved = abs(candidate.score - entry.score) >= MATERIAL_SCORE_CHANGE - _EPSILON
    return moved or candidate.reasons != entry.reasons


def found_revision(entry: LedgerEntry | None, candidate: Candidate) -> int | None:
    """The revision of the `match.found` to publish for a matching pair, or None for nothing."""
    if entry is None:
        return 1
    if entry.state is MatchState.WITHDRAWN:
        return entry.revision + 1
    if entry.fingerprint == candidate.fingerprint or not is_material(entry, candidate):
        return None
    return entry.revision + 1


def must_withdraw(entry: LedgerEntry | None) -> bool:
    """A pair that no longer matches is withdrawn only if its last event was a `found`."""
    return entry is not None and entry.state is MatchState.FOUND


class Cause(Enum):
    """What made the matcher look at the pair again."""

    ASSIGNMENT_EVENT = "assignment_event"
    PROFILE_EVENT = "profile_event"
    ERASURE = "erasure"
    EXPIRY_SWEEP = "expiry_sweep"


_CLOSED = {
    AssignmentStatus.FILLED: WithdrawalReason.ASSIGNMENT_FILLED,
    AssignmentStatus.WITHDRAWN: WithdrawalReason.ASSIGNMENT_WITHDRAWN,
    AssignmentStatus.EXPIRED: WithdrawalReason.ASSIGNMENT_EXPIRED,
}


def withdrawal_reason(
    *,
    cause: Cause,
    assignment_status: AssignmentStatus | None,
    closes_at: datetime | None,
    profile_active: bool | None,
    profile_consent: bool | None,
    now: datetime,
) -> WithdrawalReason:
    """Why a pair stopped matching; the most specific explanation wins.

    Order: erasure; the assignment's closing (filled / withdrawn / expired status, then a
    passed `closes_at`); the profile's deactivation, then lost consent; otherwise whichever
    side changed (`profile_changed` for a profile event, `assignment_changed` else).
    `None` for a profile field means "unknown" (the profile is not at hand).
    """
    if cause is Cause.ERASURE:
        return WithdrawalReason.CONSULTANT_ERASED
    closed = _CLOSED.get(assignment_status) if assignment_status is not None else None
    if closed is not None:
        return closed
    if cause is Cause.EXPIRY_SWEEP or (closes_at is not None and closes_at <= now):
        return WithdrawalReason.ASSIGNMENT_EXPIRED
    if profile_active is False:
        return WithdrawalReason.PROFILE_DEACTIVATED
    if profile_consent is False:
        return WithdrawalReason.CONSENT_WITHDRAWN
    if cause is Cause.PROFILE_EVENT:
        return WithdrawalReason.PROFILE_CHANGED
    return WithdrawalReason.ASSIGNMENT_CHANGED
