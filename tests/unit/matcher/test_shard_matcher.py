"""`ShardMatcher` against an in-memory repository: events published for each change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from koppel.contract import AssignmentClosed, match_id_for
from koppel.event_types import EventType
from koppel.vocabulary import Answer, CloseReason
from koppel_matcher.domain.answers import StoredAnswer
from koppel_matcher.domain.dedup import MatchState
from koppel_matcher.service_layer.matching import Outgoing, ShardMatcher
from koppel_testing.matcher_fakes import FakeRepository
from koppel_testing.matcher_records import upsert_assignment, upsert_profile
from koppel_testing.matcher_specs import Wire

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


async def match_the_pair(matcher: ShardMatcher, repository: FakeRepository, wire: Wire) -> None:
    """Upsert the wire builders' assignment, then their profile, which matches it."""
    await upsert_assignment(matcher, repository, wire.assignment(), None)
    await upsert_profile(matcher, repository, wire.profile(), None)


def kinds(out: list[Outgoing]) -> list[tuple[str, str, Any]]:
    result = []
    for item in out:
        data = item.event.data
        extra = data["reason"] if item.event.type == EventType.MATCH_WITHDRAWN else data["revision"]
        result.append((item.event.type.rsplit(".", 1)[-1], item.key, extra))
    return result


@pytest.fixture
def repository() -> FakeRepository:
    return FakeRepository()


@pytest.fixture
def clock() -> list[datetime]:
    return [NOW]


@pytest.fixture
def matcher(clock: list[datetime]) -> ShardMatcher:
    return ShardMatcher(0, clock=lambda: clock[0])


async def test_both_directions_find_the_pair_once(
    matcher: ShardMatcher, repository: FakeRepository, wire: Wire
) -> None:
    assert await upsert_assignment(matcher, repository, wire.assignment(), None) == []
    out = await upsert_profile(matcher, repository, wire.profile(), "00-trace-01")
    assert kinds(out) == [("found", "c-1", 1)]
    assert out[0].event.traceparent == "00-trace-01"
    assert out[0].event.subject == "c-1"

    other = ShardMatcher(1, clock=lambda: NOW)
    repository2 = type(repository)()
    assert await upsert_profile(other, repository2, wire.profile(), None) == []
    assert kinds(await upsert_assignment(other, repository2, wire.assignment(), None)) == [
        ("found", "c-1", 1)
    ]


async def test_republishing_or_invisible_changes_publish_nothing(
    matcher: ShardMatcher, repository: FakeRepository, wire: Wire
) -> None:
    await match_the_pair(matcher, repository, wire)
    assert await upsert_profile(matcher, repository, wire.profile(), None) == []
    assert await upsert_assignment(matcher, repository, wire.assignment(), None) == []
    described = wire.assignment(description="Een andere omschrijving van de opdracht.")
    assert await upsert_assignment(matcher, repository, described, None) == []
    renamed = wire.assignment(
        organization={"name": "Gemeente Zeist", "type": "municipality", "inhabitants": 65000}
    )
    assert await upsert_assignment(matcher, repository, renamed, None) == []


async def test_a_visible_change_is_announced_as_an_update_naming_the_fields(
    matcher: ShardMatcher, repository: Any, wire: Any
) -> None:
    await upsert_assignment(matcher, repository, wire.assignment(), None)
    await upsert_profile(matcher, repository, wire.profile(), None)
    retitled = wire.assignment(title="Senior woordvoerder", duration_months=9)
    out = await upsert_assignment(matcher, repository, retitled, "00-trace-02")
    assert kinds(out) == [("updated", "c-1", 2)]
    assert out[0].event.type == EventType.MATCH_UPDATED
    assert out[0].event.data["changed"] == ["title", "duration_months"]
    assert out[0].event.data["assignment"]["title"] == "Senior woordvoerder"
    assert out[0].event.traceparent == "00-trace-02"
    assert await upsert_assignment(matcher, repository, retitled, None) == []


async def test_a_change_of_score_or_language_alone_is_recorded_not_announced(
    matcher: ShardMatcher, repository: Any, wire: Any
) -> None:
    await upsert_assignment(matcher, repository, wire.assignment(), None)
    await upsert_profile(matcher, repository, wire.profile(), None)
    first = repository.ledger[("c-1", "a-1")]
    assert await upsert_profile(matcher, repository, wire.profile(specialisms=[]), None) == []
    rescored = repository.ledger[("c-1", "a-1")]
    assert (rescored.revision, rescored.announced) == (1, first.announced)
    assert rescored.score != first.score
    english = wire.profile(specialisms=[], language="en")
    assert await upsert_profile(matcher, repository, english, None) == []
    assert repository.ledger[("c-1", "a-1")].language == "en"
    assert repository.ledger[("c-1", "a-1")].reasons != rescored.reasons


async def test_confidential_summary_has_no_name_or_city(
    matcher: ShardMatcher, repository: FakeRepository, wire: Wire
) -> None:
    await upsert_profile(matcher, repository, wire.profile(), None)
    out = await upsert_assignment(
        matcher, repository, wire.assignment(visibility="confidential"), None
    )
    text = out[0].event.model_dump_json()
    assert "Gemeente Utrecht" not in text
    assert '"Utrecht"' not in text
    assert out[0].event.data["assignment"]["organization"]["name"] is None


async def _confidential_match(
    matcher: ShardMatcher, repository: FakeRepository, wire: Wire, **changes: Any
) -> tuple[dict[str, Any], str]:
    """The summary in, and the JSON of, the match of a confidential assignment whose own
    title names its organisation."""
    await upsert_profile(matcher, repository, wire.profile(), None)
    hidden = wire.assignment(
        visibility="confidential", title="Gemeente Utrecht zoekt woordvoerder", **changes
    )
    out = await upsert_assignment(matcher, repository, hidden, None)
    return out[0].event.data["assignment"], out[0].event.model_dump_json()


async def test_confidential_match_event_carries_the_built_title_not_its_own(
    matcher: ShardMatcher, repository: FakeRepository, wire: Wire
) -> None:
    summary, text = await _confidential_match(
        matcher, repository, wire, description="Woordvoerder voor de wethouder van Utrecht."
    )

    assert summary["title"] == (
        "Senior adviseur crisiscommunicatie bij een grote gemeente in Utrecht"
    )
    assert summary["title_is_built"] is True
    assert "zoekt woordvoerder" not in text
    assert "wethouder" not in text


async def test_confidential_match_event_carries_the_public_title(
    matcher: ShardMatcher, repository: FakeRepository, wire: Wire
) -> None:
    summary, text = await _confidential_match(
        matcher, repository, wire, public_title="Woordvoerder crisiscommunicatie"
    )

    assert (summary["title"], summary["title_is_built"]) == (
        "Woordvoerder crisiscommunicatie",
        False,
    )
    assert "zoekt woordvoerder" not in text


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        (CloseReason.FILLED, "assignment_filled"),
        (CloseReason.WITHDRAWN, "assignment_withdrawn"),
        (CloseReason.EXPIRED, "assignment_expired"),
    ],
)
async def test_closing_withdraws_once(
    matcher: ShardMatcher,
    reason: CloseReason,
    expected: str,
    repository: FakeRepository,
    wire: Wire,
) -> None:
    await match_the_pair(matcher, repository, wire)
    closed = AssignmentClosed(assignment_id="a-1", reason=reason, closed_at=NOW)
    out = await matcher.assignment_closed(repository, closed, None)
    assert out is not None
    assert kinds(out) == [("withdrawn", "c-1", expected)]
    again = await matcher.assignment_closed(repository, closed, None)
    assert again == []


async def test_closing_an_unknown_assignment_is_ignored(
    matcher: ShardMatcher, repository: FakeRepository
) -> None:
    closed = AssignmentClosed(assignment_id="nope", reason=CloseReason.FILLED, closed_at=NOW)
    assert await matcher.assignment_closed(repository, closed, None) is None


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"active": False}, "profile_deactivated"),
        ({"consent": False}, "consent_withdrawn"),
        ({"disciplines": ["events"], "specialisms": []}, "profile_changed"),
    ],
)
async def test_profile_changes_withdraw(
    matcher: ShardMatcher,
    changes: dict[str, Any],
    expected: str,
    repository: FakeRepository,
    wire: Wire,
) -> None:
    await match_the_pair(matcher, repository, wire)
    out = await upsert_profile(matcher, repository, wire.profile(**changes), None)
    assert kinds(out) == [("withdrawn", "c-1", expected)]
    if changes.get("active") is False or changes.get("consent") is False:
        assert "c-1" not in repository.profiles
        assert matcher.index.profile("c-1") is None


async def test_a_withdrawn_pair_that_fits_again_is_found_with_the_next_revision(
    matcher: ShardMatcher,
    repository: FakeRepository,
    wire: Wire,
) -> None:
    await match_the_pair(matcher, repository, wire)
    await upsert_profile(matcher, repository, wire.profile(active=False), None)
    assert kinds(await upsert_profile(matcher, repository, wire.profile(), None)) == [
        ("found", "c-1", 2)
    ]


async def test_erasure_withdraws_and_forgets(
    matcher: ShardMatcher, repository: FakeRepository, wire: Wire
) -> None:
    await match_the_pair(matcher, repository, wire)
    out = await matcher.consultant_erased(repository, "c-1", None, NOW)
    assert kinds(out) == [("withdrawn", "c-1", "consultant_erased")]
    assert repository.ledger == {}
    assert repository.profiles == {}
    assert matcher.index.profile("c-1") is None


async def test_only_a_profile_written_after_the_erasure_counts(
    matcher: ShardMatcher, repository: FakeRepository, wire: Wire
) -> None:
    await match_the_pair(matcher, repository, wire)
    await matcher.consultant_erased(repository, "c-1", None, NOW)
    assert await matcher.predates_erasure(repository, "c-1", NOW - timedelta(days=3))
    assert await matcher.predates_erasure(repository, "c-1", NOW)
    assert await matcher.predates_erasure(repository, "c-1", None)
    assert not await matcher.predates_erasure(repository, "c-1", NOW + timedelta(seconds=1))
    assert not await matcher.predates_erasure(repository, "c-2", None)
    # Registered again: a new consultant, announced as new (revision 1, not 2).
    assert kinds(await upsert_profile(matcher, repository, wire.profile(), None)) == [
        ("found", "c-1", 1)
    ]


async def test_expiry_sweep_withdraws_after_closes_at(
    matcher: ShardMatcher, clock: list[datetime], repository: FakeRepository, wire: Wire
) -> None:
    await upsert_assignment(
        matcher, repository, wire.assignment(closes_at=NOW + timedelta(minutes=5)), None
    )
    await upsert_profile(matcher, repository, wire.profile(), None)
    assert matcher.due_for_expiry() == []
    clock[0] = NOW + timedelta(minutes=5)
    assert matcher.due_for_expiry() == ["a-1"]
    out = await matcher.expire(repository, ["a-1"])
    assert kinds(out) == [("withdrawn", "c-1", "assignment_expired")]
    assert matcher.due_for_expiry() == []
    assert await upsert_profile(matcher, repository, wire.profile(), None) == []


def answer(
    response: Answer, at: datetime = NOW, consultant_id: str = "c-1", reason: str | None = None
) -> StoredAnswer:
    return StoredAnswer(
        consultant_id=consultant_id,
        assignment_id="a-1",
        match_id=match_id_for("a-1", consultant_id),
        response=response,
        reason=reason,
        responded_at=at,
    )


async def two_found(matcher: ShardMatcher, repository: Any, wire: Any) -> None:
    """c-1 and c-2 both matched to a-1; c-1 then answers `not_interested`."""
    await upsert_assignment(matcher, repository, wire.assignment(), None)
    await upsert_profile(matcher, repository, wire.profile(), None)
    await upsert_profile(matcher, repository, wire.profile(id="c-2"), None)
    declined = answer(Answer.NOT_INTERESTED, reason="hours")
    assert await matcher.answered(repository, declined, None) == []
    assert repository.answers[("c-1", "a-1")] == declined


async def test_a_declined_pair_announces_no_update_the_others_do(
    matcher: ShardMatcher, repository: Any, wire: Any
) -> None:
    await two_found(matcher, repository, wire)
    out = await upsert_assignment(matcher, repository, wire.assignment(title="Adviseur"), None)
    assert kinds(out) == [("updated", "c-2", 2)]
    assert repository.ledger[("c-1", "a-1")].revision == 1


async def test_a_declined_pair_is_not_withdrawn_nor_found_again(
    matcher: ShardMatcher, repository: Any, wire: Any
) -> None:
    await two_found(matcher, repository, wire)
    out = await upsert_assignment(
        matcher, repository, wire.assignment(office_days_per_week=5), None
    )
    assert kinds(out) == [("withdrawn", "c-2", "assignment_changed")]
    assert kinds(await upsert_assignment(matcher, repository, wire.assignment(), None)) == [
        ("found", "c-2", 2)
    ]
    assert repository.ledger[("c-1", "a-1")].state is MatchState.FOUND


async def test_taking_the_answer_back_announces_what_changed_meanwhile(
    matcher: ShardMatcher, repository: Any, wire: Any
) -> None:
    await two_found(matcher, repository, wire)
    await upsert_assignment(matcher, repository, wire.assignment(title="Adviseur"), None)
    out = await matcher.answer_withdrawn(repository, "c-1", "a-1", NOW + timedelta(hours=1), None)
    assert kinds(out) == [("updated", "c-1", 2)]
    assert out[0].event.data["changed"] == ["title"]
    assert ("c-1", "a-1") not in repository.answers
    shorter = wire.assignment(hours_per_week={"min": 24, "max": 28})
    out = await upsert_assignment(matcher, repository, shorter, None)
    assert kinds(out) == [("updated", "c-1", 3), ("updated", "c-2", 3)]


async def test_taking_the_answer_back_without_changes_announces_nothing(
    matcher: ShardMatcher, repository: Any, wire: Any
) -> None:
    await two_found(matcher, repository, wire)
    assert await matcher.answer_withdrawn(repository, "c-1", "a-1", NOW, None) == []
    out = await upsert_assignment(matcher, repository, wire.assignment(title="Adviseur"), None)
    assert kinds(out) == [("updated", "c-1", 2), ("updated", "c-2", 2)]


async def test_taking_the_answer_back_after_the_assignment_closed_withdraws(
    matcher: ShardMatcher, repository: Any, wire: Any
) -> None:
    await two_found(matcher, repository, wire)
    closed = AssignmentClosed(assignment_id="a-1", reason=CloseReason.FILLED, closed_at=NOW)
    out = await matcher.assignment_closed(repository, closed, None)
    assert out is not None
    assert kinds(out) == [("withdrawn", "c-2", "assignment_filled")]
    later = answer(Answer.INTERESTED, NOW + timedelta(minutes=1))
    out = await matcher.answered(repository, later, None)
    assert kinds(out) == [("withdrawn", "c-1", "assignment_filled")]


async def test_an_older_withdrawal_or_answer_read_late_changes_nothing(
    matcher: ShardMatcher, repository: Any, wire: Any
) -> None:
    await two_found(matcher, repository, wire)
    earlier = NOW - timedelta(minutes=1)
    assert await matcher.answer_withdrawn(repository, "c-1", "a-1", earlier, None) == []
    assert await matcher.answered(repository, answer(Answer.INTERESTED, earlier), None) == []
    assert repository.answers[("c-1", "a-1")].response is Answer.NOT_INTERESTED
    out = await upsert_assignment(matcher, repository, wire.assignment(title="Adviseur"), None)
    assert kinds(out) == [("updated", "c-2", 2)]


async def test_an_interested_answer_changes_nothing(
    matcher: ShardMatcher, repository: Any, wire: Any
) -> None:
    await upsert_assignment(matcher, repository, wire.assignment(), None)
    await upsert_profile(matcher, repository, wire.profile(), None)
    assert await matcher.answered(repository, answer(Answer.INTERESTED), None) == []
    out = await upsert_assignment(matcher, repository, wire.assignment(title="Adviseur"), None)
    assert kinds(out) == [("updated", "c-1", 2)]


async def test_the_declined_pairs_survive_a_take_over(
    repository: Any, wire: Any, clock: list[datetime]
) -> None:
    restarted = ShardMatcher(0, clock=lambda: clock[0])
    restarted.load([], [], declined=[("c-1", "a-1")])
    await upsert_profile(restarted, repository, wire.profile(), None)
    assert await upsert_assignment(restarted, repository, wire.assignment(), None) == []
    assert repository.ledger == {}


async def test_erasure_forgets_the_answers(
    matcher: ShardMatcher, repository: Any, wire: Any
) -> None:
    await two_found(matcher, repository, wire)
    await matcher.consultant_erased(repository, "c-1", None, NOW)
    assert repository.answers == {}
    # Registered again: a new consultant, whose old answer no longer holds.
    later = wire.profile()
    assert kinds(await upsert_profile(matcher, repository, later, None)) == [("found", "c-1", 1)]


@pytest.mark.parametrize(("days_to_start", "urgent"), [(-3, True), (21, True), (22, False)])
async def test_a_match_starting_within_three_weeks_is_urgent_both_ways(
    repository: FakeRepository, wire: Wire, days_to_start: int, urgent: bool
) -> None:
    """Today in Amsterdam is NOW's date; the start counts in whole days (contract §8.5)."""
    start = (NOW.date() + timedelta(days=days_to_start)).isoformat()
    assignment = wire.assignment(start_date=start)
    profile = wire.profile(available_from=min(start, NOW.date().isoformat()))
    by_profile, by_assignment = (
        ShardMatcher(0, clock=lambda: NOW),
        ShardMatcher(1, clock=lambda: NOW),
    )
    await upsert_assignment(by_profile, repository, assignment, None)
    found = await upsert_profile(by_profile, repository, profile, None)
    await upsert_profile(by_assignment, FakeRepository(), profile, None)
    found += await upsert_assignment(by_assignment, FakeRepository(), assignment, None)
    assert [item.event.data["urgent"] for item in found] == [urgent, urgent]
    fast = "Snelle start: begint binnen 3 weken"
    assert [fast in item.event.data["reasons"] for item in found] == [urgent, urgent]


async def test_a_commitment_ending_before_the_start_is_named_in_the_reasons(
    matcher: ShardMatcher, repository: FakeRepository, wire: Wire
) -> None:
    """Busy 32 of 40 hours until the day before the start: the match says why it fits."""
    start = NOW.date() + timedelta(days=60)
    until = start - timedelta(days=1)
    houten = {"label": "Gemeente Houten", "hours_per_week": 32, "until": until.isoformat()}
    profile = wire.profile(hours_per_week={"min": 24, "max": 40}, commitments=[houten])
    await upsert_assignment(
        matcher, repository, wire.assignment(start_date=start.isoformat()), None
    )
    out = await upsert_profile(matcher, repository, profile, None)
    assert kinds(out) == [("found", "c-1", 1)]
    day = f"{until.day} januari"
    assert out[0].event.data["reasons"][-1] == (
        f"Je opdracht bij Gemeente Houten loopt af op {day}: 40 uur vrij vanaf dan"
    )
    assert out[0].event.data["urgent"] is False
