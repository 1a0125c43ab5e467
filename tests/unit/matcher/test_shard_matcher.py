"""`ShardMatcher` against an in-memory repository: events published for each change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from koppel.contract import Assignment, AssignmentClosed, ConsultantProfile
from koppel.event_types import EventType
from koppel.vocabulary import CloseReason
from koppel_matcher.entrypoints.translation import assignment_spec, profile_document, profile_spec
from koppel_matcher.service_layer.matching import Outgoing, ShardMatcher
from koppel_matcher.service_layer.ports import ShardRepository
from koppel_testing.matcher_fakes import FakeRepository
from koppel_testing.matcher_specs import Wire

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


async def upsert_assignment(
    matcher: ShardMatcher, repository: ShardRepository, item: Assignment, traceparent: str | None
) -> list[Outgoing]:
    """As the shard's poll loop calls the handler: with the assignment's domain spec."""
    return await matcher.assignment_upserted(repository, item, assignment_spec(item), traceparent)


async def upsert_profile(
    matcher: ShardMatcher,
    repository: ShardRepository,
    item: ConsultantProfile,
    traceparent: str | None,
) -> list[Outgoing]:
    """As the shard's poll loop calls the handler: the spec and the stored document."""
    document = profile_document(item)
    return await matcher.profile_upserted(repository, profile_spec(document), document, traceparent)


async def match_the_pair(matcher: ShardMatcher, repository: FakeRepository, wire: Wire) -> None:
    """Upsert the wire builders' assignment, then their profile, which matches it."""
    await upsert_assignment(matcher, repository, wire.assignment(), None)
    await upsert_profile(matcher, repository, wire.profile(), None)


def kinds(out: list[Outgoing]) -> list[tuple[str, str, Any]]:
    result = []
    for item in out:
        data = item.event.data
        extra = data["revision"] if item.event.type == EventType.MATCH_FOUND else data["reason"]
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


async def test_republishing_or_immaterial_changes_publish_nothing(
    matcher: ShardMatcher, repository: FakeRepository, wire: Wire
) -> None:
    await match_the_pair(matcher, repository, wire)
    assert await upsert_profile(matcher, repository, wire.profile(), None) == []
    assert await upsert_assignment(matcher, repository, wire.assignment(), None) == []
    assert (
        await upsert_assignment(
            matcher, repository, wire.assignment(title="Senior woordvoerder"), None
        )
        == []
    )


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
