"""The de-duplication rules and withdrawal reasons of the matcher service."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from koppel.contract import AssignmentSummary
from koppel.vocabulary import AssignmentStatus, VisibleField, WithdrawalReason
from koppel_matcher.domain.dedup import (
    Announce,
    Candidate,
    Cause,
    LedgerEntry,
    MatchState,
    Visible,
    announcement,
    canonical_json,
    changed_fields,
    content_fingerprint,
    must_withdraw,
    visible_fields,
    withdrawal_reason,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

VISIBLE: dict[str, Any] = {
    "title": "Woordvoerder crisiscommunicatie",
    "hours_per_week": {"min": 24, "max": 32},
    "start_date": "2026-12-07",
    "duration_months": 6,
    "office_days_per_week": 3,
    "location": {"city": "Utrecht", "province": "utrecht"},
    "max_hourly_rate_eur": 95.0,
    "closes_at": None,
}
"""The visible fields of the summary last announced in `entry()`."""

ANOTHER_VALUE: dict[VisibleField, Any] = {
    VisibleField.TITLE: "Senior woordvoerder",
    VisibleField.HOURS_PER_WEEK: {"min": 24, "max": 36},
    VisibleField.START_DATE: "2026-12-14",
    VisibleField.DURATION_MONTHS: 9,
    VisibleField.OFFICE_DAYS_PER_WEEK: 2,
    VisibleField.LOCATION: {"city": "Amersfoort", "province": "utrecht"},
    VisibleField.MAX_HOURLY_RATE_EUR: 105.0,
    VisibleField.CLOSES_AT: "2026-12-01T17:00:00Z",
}


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
        announced=VISIBLE,
    )
    return replace(found, **changes)


def candidate(
    score: float = 0.70,
    reasons: tuple[str, ...] | None = None,
    fp: str = "f-new",
    visible: Visible = VISIBLE,
) -> Candidate:
    return Candidate(
        score=score,
        reasons=reasons
        if reasons is not None
        else ("Je specialisme crisiscommunicatie is gevraagd",),
        fingerprint=fp,
        visible=visible,
    )


def test_a_new_pair_is_found_with_revision_1() -> None:
    decided = announcement(None, candidate())
    assert (decided.kind, decided.revision, decided.announced) == (Announce.FOUND, 1, VISIBLE)


def test_unchanged_content_publishes_nothing() -> None:
    assert announcement(entry(fingerprint="same"), candidate(fp="same")).kind is Announce.NOTHING


def test_a_withdrawn_pair_that_matches_again_is_found_with_the_next_revision() -> None:
    decided = announcement(entry(MatchState.WITHDRAWN, fingerprint="same"), candidate(fp="same"))
    assert (decided.kind, decided.revision) == (Announce.FOUND, 3)


def test_the_visible_fields_are_every_visible_field_and_nothing_else() -> None:
    assert set(VISIBLE) == {field.value for field in VisibleField} == set(ANOTHER_VALUE)


@pytest.mark.parametrize("field", list(VisibleField))
def test_a_change_of_one_visible_field_is_an_update_naming_it(field: VisibleField) -> None:
    changed = {**VISIBLE, field.value: ANOTHER_VALUE[field]}
    decided = announcement(entry(), candidate(visible=changed))
    assert decided.kind is Announce.UPDATED
    assert decided.changed == (field,)
    assert decided.revision == 3
    assert decided.announced == changed


def test_several_visible_changes_are_named_in_the_contract_order() -> None:
    changed = {
        **VISIBLE,
        "closes_at": ANOTHER_VALUE[VisibleField.CLOSES_AT],
        "title": ANOTHER_VALUE[VisibleField.TITLE],
    }
    decided = announcement(entry(), candidate(score=0.9, visible=changed))
    assert decided.changed == (VisibleField.TITLE, VisibleField.CLOSES_AT)


@pytest.mark.parametrize(
    "other",
    [
        candidate(score=0.95),
        candidate(score=0.71),
        candidate(reasons=("Je specialisme crisiscommunicatie is gevraagd", "Op 12 km")),
        candidate(reasons=()),
    ],
    ids=["score", "score-drift", "more-reasons", "no-reasons"],
)
def test_a_change_of_score_or_reasons_alone_is_recorded_not_announced(other: Candidate) -> None:
    decided = announcement(entry(), other)
    assert decided.kind is Announce.RECORD
    assert decided.revision == 2
    assert decided.announced == VISIBLE


def test_a_change_of_language_alone_is_recorded_not_announced() -> None:
    """Language changes the fingerprint and the reasons' wording, never a visible field."""
    english = candidate(reasons=("Your specialism crisis communication is asked for",))
    assert announcement(entry(), english).kind is Announce.RECORD


def test_visible_changes_are_measured_from_the_last_announcement() -> None:
    """A recorded change keeps `announced`: the next visible change names only itself."""
    recorded = announcement(entry(), candidate(score=0.9))
    after = entry(fingerprint="f-new", score=0.9, announced=recorded.announced)
    moved = {**VISIBLE, "duration_months": 12}
    decided = announcement(after, candidate(fp="f-3", visible=moved))
    assert decided.changed == (VisibleField.DURATION_MONTHS,)


def test_an_entry_from_before_the_visible_fields_were_kept_records_a_baseline() -> None:
    changed = {**VISIBLE, "title": "Adviseur"}
    decided = announcement(entry(announced=None), candidate(visible=changed))
    assert decided.kind is Announce.RECORD
    assert (decided.revision, decided.announced) == (2, changed)


@pytest.mark.parametrize("state", [None, MatchState.FOUND, MatchState.WITHDRAWN])
@pytest.mark.parametrize(
    "other",
    [
        candidate(),
        candidate(fp="f-old"),
        candidate(visible={**VISIBLE, "title": "Adviseur"}),
        candidate(score=0.2),
    ],
)
def test_a_declined_pair_announces_and_records_nothing(
    state: MatchState | None, other: Candidate
) -> None:
    before = None if state is None else entry(state)
    assert announcement(before, other, declined=True).kind is Announce.NOTHING


def test_only_a_found_pair_is_withdrawn_and_not_while_declined() -> None:
    assert must_withdraw(entry(MatchState.FOUND))
    assert not must_withdraw(entry(MatchState.FOUND), declined=True)
    assert not must_withdraw(entry(MatchState.WITHDRAWN))
    assert not must_withdraw(None)


def test_visible_fields_of_a_summary_ignore_what_the_consultant_does_not_see(
    wire: Any,
) -> None:
    summary = AssignmentSummary.of(wire.assignment(max_hourly_rate_eur=95))
    dumped = summary.model_dump(mode="json")
    fields = visible_fields(dumped)
    assert set(fields) == {field.value for field in VisibleField}
    assert fields["location"] == {"city": "Utrecht", "province": "utrecht"}
    renamed = AssignmentSummary.of(
        wire.assignment(
            max_hourly_rate_eur=95,
            organization={"name": "Gemeente Zeist", "type": "municipality", "inhabitants": 65000},
            disciplines_preferred=["campaigns"],
        )
    )
    assert changed_fields(fields, visible_fields(renamed.model_dump(mode="json"))) == ()


def test_a_confidential_assignment_shows_and_compares_its_public_title(wire: Any) -> None:
    before = AssignmentSummary.of(wire.assignment(visibility="confidential"))
    after = AssignmentSummary.of(
        wire.assignment(visibility="confidential", title="Geheime titel, anders")
    )
    fields = [visible_fields(s.model_dump(mode="json")) for s in (before, after)]
    assert changed_fields(*fields) == ()
    assert "Geheime" not in str(fields[1])


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
