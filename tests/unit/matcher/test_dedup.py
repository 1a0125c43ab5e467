"""The de-duplication rules and withdrawal reasons of the matcher service."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from koppel.vocabulary import AssignmentStatus, WithdrawalReason
from koppel_matcher.domain.dedup import (
    Candidate,
    Cause,
    LedgerEntry,
    MatchState,
    canonical_json,
    content_fingerprint,
    found_revision,
    must_withdraw,
    withdrawal_reason,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def entry(state: MatchState = MatchState.FOUND, **changes: Any) -> LedgerEntry:
    found = LedgerEntry(
        consultant_id="c-1",
        assignment_id="a-1",
        match_id="m-1",
        state=state,
        revision=2,
        score=0.70,
        reasons=("Je specialisme crisiscommunicatie is gevraagd",),
        language="nl",
        fingerprint="f-old",
    )
    return replace(found, **changes)


def candidate(
    score: float = 0.70, reasons: tuple[str, ...] | None = None, fp: str = "f-new"
) -> Candidate:
    return Candidate(
        score=score,
        reasons=reasons
        if reasons is not None
        else ("Je specialisme crisiscommunicatie is gevraagd",),
        fingerprint=fp,
    )


def test_a_new_pair_is_found_with_revision_1() -> None:
    assert found_revision(None, candidate()) == 1


def test_unchanged_content_publishes_nothing() -> None:
    assert found_revision(entry(fingerprint="same"), candidate(fp="same")) is None


def test_a_withdrawn_pair_that_matches_again_gets_the_next_revision() -> None:
    assert (
        found_revision(entry(MatchState.WITHDRAWN, fingerprint="same"), candidate(fp="same")) == 3
    )


@pytest.mark.parametrize(
    ("new_score", "expected"),
    [(0.7499, None), (0.75, 3), (0.6501, None), (0.65, 3), (0.71, None), (0.90, 3)],
)
def test_score_change_is_material_from_005(new_score: float, expected: int | None) -> None:
    assert found_revision(entry(score=0.70), candidate(score=new_score)) == expected


def test_changed_reasons_are_material_even_with_the_same_score() -> None:
    changed = candidate(reasons=("Je specialisme crisiscommunicatie is gevraagd", "Op 12 km"))
    assert found_revision(entry(), changed) == 3


def test_only_a_found_pair_is_withdrawn() -> None:
    assert must_withdraw(entry(MatchState.FOUND))
    assert not must_withdraw(entry(MatchState.WITHDRAWN))
    assert not must_withdraw(None)


def test_fingerprint_is_stable_and_content_sensitive() -> None:
    summary = {"id": "a-1", "title": "Woordvoerder"}
    first = content_fingerprint(canonical_json(summary), 0.7, ("r",), "nl")
    reordered = canonical_json(dict(reversed(summary.items())))
    assert first == content_fingerprint(reordered, 0.7, ("r",), "nl")
    retitled = canonical_json({**summary, "title": "Adviseur"})
    assert first != content_fingerprint(retitled, 0.7, ("r",), "nl")
    assert first != content_fingerprint(canonical_json(summary), 0.7, ("r",), "en")
    assert first != content_fingerprint(canonical_json(summary), 0.75, ("r",), "nl")


def test_fingerprint_is_that_of_the_whole_document_in_canonical_form() -> None:
    """Assembled from parts, it must equal the digest of the whole document, so ledgers
    written before the assembly keep matching."""
    summary = {"title": "Woordvoerder", "id": "a-1", "organization": {"name": "Gemeente Ede"}}
    document = {"assignment": summary, "score": 0.7, "reasons": ("r", "é"), "language": "nl"}
    expected = hashlib.sha256(canonical_json(document).encode()).hexdigest()
    assert content_fingerprint(canonical_json(summary), 0.7, ("r", "é"), "nl") == expected


def reason(cause: Cause, **given: Any) -> WithdrawalReason:
    values: dict[str, Any] = {
        "assignment_status": AssignmentStatus.OPEN,
        "closes_at": None,
        "profile_active": True,
        "profile_consent": True,
        "now": NOW,
    }
    values.update(given)
    return withdrawal_reason(cause=cause, **values)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (AssignmentStatus.FILLED, WithdrawalReason.ASSIGNMENT_FILLED),
        (AssignmentStatus.WITHDRAWN, WithdrawalReason.ASSIGNMENT_WITHDRAWN),
        (AssignmentStatus.EXPIRED, WithdrawalReason.ASSIGNMENT_EXPIRED),
    ],
)
def test_closing_status_names_the_reason(
    status: AssignmentStatus, expected: WithdrawalReason
) -> None:
    assert reason(Cause.ASSIGNMENT_EVENT, assignment_status=status) is expected
    assert reason(Cause.PROFILE_EVENT, assignment_status=status) is expected


def test_passed_closes_at_is_expiry_but_a_future_one_is_not() -> None:
    past, future = NOW - timedelta(seconds=1), NOW + timedelta(seconds=1)
    assert reason(Cause.ASSIGNMENT_EVENT, closes_at=past) is WithdrawalReason.ASSIGNMENT_EXPIRED
    assert reason(Cause.ASSIGNMENT_EVENT, closes_at=future) is WithdrawalReason.ASSIGNMENT_CHANGED
    assert reason(Cause.EXPIRY_SWEEP) is WithdrawalReason.ASSIGNMENT_EXPIRED


def test_profile_side_reasons() -> None:
    assert reason(Cause.PROFILE_EVENT, profile_active=False) is WithdrawalReason.PROFILE_DEACTIVATED
    assert reason(Cause.PROFILE_EVENT, profile_consent=False) is WithdrawalReason.CONSENT_WITHDRAWN
    assert reason(Cause.PROFILE_EVENT) is WithdrawalReason.PROFILE_CHANGED
    assert reason(Cause.ASSIGNMENT_EVENT) is WithdrawalReason.ASSIGNMENT_CHANGED


def test_erasure_wins_over_everything() -> None:
    assert (
        reason(Cause.ERASURE, assignment_status=AssignmentStatus.FILLED, profile_active=False)
        is WithdrawalReason.CONSULTANT_ERASED
    )
