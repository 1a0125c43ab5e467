"""What the matcher publishes for one (consultant, assignment) pair, given what it already did.

The ledger (`matcher_matches`) keeps, per pair, the last state published: `found` /
`withdrawn`, revision, score, reasons, a content fingerprint, and `announced`, the visible
fields (contract §8.3, `VisibleField`) of the assignment summary last announced to the
consultant. Every time a pair is evaluated the matcher compares the candidate with that
entry (`announcement`):

| ledger entry            | pair passes the hard filters now                  | pair fails now    |
|-------------------------|---------------------------------------------------|-------------------|
| none                    | `match.found`, revision 1                         | nothing           |
| withdrawn               | `match.found`, revision + 1 (matches again)       | nothing           |
| found, same fingerprint | nothing                                           | `match.withdrawn` |
| found, visible change   | `match.updated`, revision + 1, `changed` = fields | `match.withdrawn` |
| found, other change     | nothing published; the ledger records the change  | `match.withdrawn` |

A visible change is one of the `VisibleField`s differing between `announced` and the new
summary; a change of score, reasons or the consultant's language alone is recorded (so the
read API shows the current score) but announced to nobody. `announced` moves only with an
announcement, so fields that change one at a time, unannounced in between, cannot drift
away unnoticed. An entry written before `announced` was kept has none: its next change
records the current fields as the baseline, announcing nothing.

While the consultant's answer to the pair is `not_interested` (`answers.suppresses`) the
pair is left alone entirely: nothing is published and the ledger keeps what was last
published, so that once the answer is taken back the pair is compared with what the
consultant was last told.

A withdrawal is published exactly once: afterwards the entry is `withdrawn`, and a pair
that fails again finds nothing to withdraw.

The matcher publishes every pair that passes the hard filters, whatever its score: the
consultant's `min_score` is a notification preference, applied by the notifier.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum, StrEnum
from typing import Any

from koppel.vocabulary import AssignmentStatus, VisibleField, WithdrawalReason

Visible = Mapping[str, Any]
"""The visible fields of an assignment summary: `VisibleField` value -> its JSON value."""


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
    announced: Visible | None = None
    """The visible fields last announced (None: an entry from before they were kept)."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """What the matcher would publish now for a pair that passes the hard filters."""

    score: float
    reasons: tuple[str, ...]
    fingerprint: str
    visible: Visible


class Announce(Enum):
    """What a matching pair's evaluation publishes."""

    NOTHING = "nothing"
    """Nothing published, nothing written."""
    FOUND = "found"
    UPDATED = "updated"
    RECORD = "record"
    """Nothing published; the ledger takes the new score, reasons and fingerprint."""


@dataclass(frozen=True, slots=True)
class Announcement:
    kind: Announce
    revision: int
    """The revision the ledger holds afterwards (and the event carries)."""
    announced: Visible
    """The visible fields the ledger holds afterwards."""
    changed: tuple[VisibleField, ...] = ()
    """For `UPDATED`: the visible fields that changed, in `VisibleField` order."""


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


def visible_fields(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The fields a consultant sees of an assignment summary given as JSON (`model_dump`)."""
    return {field.value: summary.get(field.value) for field in VisibleField}


def changed_fields(before: Visible, after: Visible) -> tuple[VisibleField, ...]:
    """The visible fields whose values differ, in `VisibleField` order."""
    return tuple(f for f in VisibleField if before.get(f.value) != after.get(f.value))


def announcement(
    entry: LedgerEntry | None, candidate: Candidate, *, declined: bool = False
) -> Announcement:
    """What to publish for a pair that passes the hard filters (the table above);
    `declined`: the consultant's answer to the pair is `not_interested`."""
    nothing = Announcement(Announce.NOTHING, 0 if entry is None else entry.revision, {})
    if declined:
        return nothing
    if entry is None:
        return Announcement(Announce.FOUND, 1, candidate.visible)
    if entry.state is MatchState.WITHDRAWN:
        return Announcement(Announce.FOUND, entry.revision + 1, candidate.visible)
    if entry.fingerprint == candidate.fingerprint:
        return nothing
    if entry.announced is None:
        return Announcement(Announce.RECORD, entry.revision, candidate.visible)
    changed = changed_fields(entry.announced, candidate.visible)
    if not changed:
        return Announcement(Announce.RECORD, entry.revision, entry.announced)
    return Announcement(Announce.UPDATED, entry.revision + 1, candidate.visible, changed)


def must_withdraw(entry: LedgerEntry | None, *, declined: bool = False) -> bool:
    """A pair that no longer matches is withdrawn only if its last event was a `found`,
    and not while the consultant's answer to it is `not_interested`."""
    return entry is not None and entry.state is MatchState.FOUND and not declined


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
