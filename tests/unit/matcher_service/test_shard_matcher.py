"""`ShardMatcher` against an in-memory unit of work: events published for each change."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from koppel.contract import Assignment, AssignmentClosed, ConsultantProfile
from koppel.event_types import EventType
from koppel.vocabulary import CloseReason
from koppel_matcher.service_layer.dedup import LedgerEntry
from koppel_matcher.service_layer.matching import Outgoing, ShardMatcher

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TODAY = NOW.date()


class FakeUnitOfWork:
    """Dict-backed stand-in for the PostgreSQL `ShardTransaction`."""

    def __init__(self) -> None:
        self.ledger: dict[tuple[str, str], LedgerEntry] = {}
        self.reasons: dict[tuple[str, str], str | None] = {}
        self.profiles: dict[str, Any] = {}
        self.assignments: dict[str, Assignment] = {}
        self.erasures: dict[str, datetime] = {}

    async def ledger_for_assignment(self, assignment_id: str) -> dict[str, LedgerEntry]:
        return {c: e for (c, a), e in self.ledger.items() if a == assignment_id}

    async def ledger_for_consultant(self, consultant_id: str) -> dict[str, LedgerEntry]:
        return {a: e for (c, a), e in self.ledger.items() if c == consultant_id}

    async def put_entries(self, entries: Sequence[tuple[LedgerEntry, str | None]]) -> None:
        for entry, reason in entries:
            self.ledger[(entry.consultant_id, entry.assignment_id)] = entry
            self.reasons[(entry.consultant_id, entry.assignment_id)] = reason

    async def put_profile(self, consultant_id: str, language: str, document: Any) -> None:
        self.profiles[consultant_id] = document

    async def delete_profile(self, consultant_id: str) -> None:
        self.profiles.pop(consultant_id, None)

    async def erased_at(self, consultant_id: str) -> datetime | None:
        return self.erasures.get(consultant_id)

    async def erase_consultant(self, consultant_id: str, erased_at: datetime) -> None:
        self.erasures[consultant_id] = erased_at
        self.profiles.pop(consultant_id, None)
        for key in [k for k in self.ledger if k[0] == consultant_id]:
            del self.ledger[key]

    async def put_assignment(self, assignment: Assignment) -> None:
        self.assignments[assignment.id] = assignment


def assignment(**changes: Any) -> Assignment:
    document: dict[str, Any] = {
        "id": "a-1",
        "title": "Woordvoerder crisiscommunicatie",
        "organization": {"name": "Gemeente Utrecht", "type": "municipality", "inhabitants": 370000},
        "location": {"city": "Utrecht", "province": "utrecht", "lat": 52.0907, "lon": 5.1214},
        "level": "senior",
        "assignment_type": "project",
        "disciplines_required": ["crisis_communication"],
        "hours_per_week": {"min": 24, "max": 32},
        "start_date": (TODAY + timedelta(days=14)).isoformat(),
        "duration_months": 6,
        "office_days_per_week": 3,
    }
    document.update(changes)
    return Assignment.model_validate(document)


def profile(**changes: Any) -> ConsultantProfile:
    document: dict[str, Any] = {
        "id": "c-1",
        "name": "Sanne de Vries",
        "email": "sanne@example.org",
        "level": "senior",
        "years_experience": 8,
        "disciplines": ["crisis_communication", "press_relations"],
        "specialisms": ["crisis_communication"],
        "home": {"city": "Amersfoort", "province": "utrecht", "lat": 52.1561, "lon": 5.3878},
        "max_travel_km": 60,
        "max_office_days_per_week": 3,
        "available_from": TODAY.isoformat(),
        "hours_per_week": {"min": 24, "max": 32},
        "consent": True,
    }
    document.update(changes)
    return ConsultantProfile.model_validate(document)


def kinds(out: list[Outgoing]) -> list[tuple[str, str, Any]]:
    result = []
    for item in out:
        data = item.event.data
        extra = data["revision"] if item.event.type == EventType.MATCH_FOUND else data["reason"]
        result.append((item.event.type.rsplit(".", 1)[-1], item.key, extra))
    return result


@pytest.fixture
def clock() -> list[datetime]:
    return [NOW]


@pytest.fixture
def matcher(clock: list[datetime]) -> ShardMatcher:
    return ShardMatcher(0, clock=lambda: clock[0])


async def test_both_directions_find_the_pair_once(matcher: ShardMatcher) -> None:
    uow = FakeUnitOfWork()
    assert await matcher.assignment_upserted(uow, assignment(), None) == []
    out = await matcher.profile_upserted(uow, profile(), "00-trace-01")
    assert kinds(out) == [("found", "c-1", 1)]
    assert out[0].event.traceparent == "00-trace-01"
    assert out[0].event.subject == "c-1"

    other = ShardMatcher(1, clock=lambda: NOW)
    uow2 = FakeUnitOfWork()
    assert await other.profile_upserted(uow2, profile(), None) == []
    assert kinds(await other.assignment_upserted(uow2, assignment(), None)) == [("found", "c-1", 1)]


async def test_republishing_or_immaterial_changes_publish_nothing(matcher: ShardMatcher) -> None:
    uow = FakeUnitOfWork()
    await matcher.assignment_upserted(uow, assignment(), None)
    await matcher.profile_upserted(uow, profile(), None)
    assert await matcher.profile_upserted(uow, profile(), None) == []
    assert await matcher.assignment_upserted(uow, assignment(), None) == []
    assert (
        await matcher.assignment_upserted(uow, assignment(title="Senior woordvoerder"), None) == []
    )


async def test_confidential_summary_has_no_name_or_city(matcher: ShardMatcher) -> None:
    uow = FakeUnitOfWork()
    await matcher.profile_upserted(uow, profile(), None)
    out = await matcher.assignment_upserted(uow, assignment(visibility="confidential"), None)
    text = out[0].event.model_dump_json()
    assert "Gemeente Utrecht" not in text
    assert '"Utrecht"' not in text
    assert out[0].event.data["assignment"]["organization"]["name"] is None


async def test_confidential_match_event_carries_the_built_title_not_its_own(
    matcher: ShardMatcher,
) -> None:
    uow = FakeUnitOfWork()
    await matcher.profile_upserted(uow, profile(), None)
    hidden = assignment(
        visibility="confidential",
        title="Gemeente Utrecht zoekt woordvoerder",
        description="Woordvoerder voor de wethouder van Utrecht.",
    )

    out = await matcher.assignment_upserted(uow, hidden, None)

    summary = out[0].event.data["assignment"]
    assert summary["title"] == (
        "Senior adviseur crisiscommunicatie bij een grote gemeente in Utrecht"
    )
    assert summary["title_is_built"] is True
    text = out[0].event.model_dump_json()
    assert "zoekt woordvoerder" not in text
    assert "wethouder" not in text


async def test_confidential_match_event_carries_the_public_title(matcher: ShardMatcher) -> None:
    uow = FakeUnitOfWork()
    await matcher.profile_upserted(uow, profile(), None)
    hidden = assignment(
        visibility="confidential",
        title="Gemeente Utrecht zoekt woordvoerder",
        public_title="Woordvoerder crisiscommunicatie",
    )

    out = await matcher.assignment_upserted(uow, hidden, None)

    summary = out[0].event.data["assignment"]
    assert (summary["title"], summary["title_is_built"]) == (
        "Woordvoerder crisiscommunicatie",
        False,
    )
    assert "zoekt woordvoerder" not in out[0].event.model_dump_json()


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        (CloseReason.FILLED, "assignment_filled"),
        (CloseReason.WITHDRAWN, "assignment_withdrawn"),
        (CloseReason.EXPIRED, "assignment_expired"),
    ],
)
async def test_closing_withdraws_once(
    matcher: ShardMatcher, reason: CloseReason, expected: str
) -> None:
    uow = FakeUnitOfWork()
    await matcher.assignment_upserted(uow, assignment(), None)
    await matcher.profile_upserted(uow, profile(), None)
    closed = AssignmentClosed(assignment_id="a-1", reason=reason, closed_at=NOW)
    out = await matcher.assignment_closed(uow, closed, None)
    assert out is not None
    assert kinds(out) == [("withdrawn", "c-1", expected)]
    again = await matcher.assignment_closed(uow, closed, None)
    assert again == []


async def test_closing_an_unknown_assignment_is_ignored(matcher: ShardMatcher) -> None:
    closed = AssignmentClosed(assignment_id="nope", reason=CloseReason.FILLED, closed_at=NOW)
    assert await matcher.assignment_closed(FakeUnitOfWork(), closed, None) is None


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"active": False}, "profile_deactivated"),
        ({"consent": False}, "consent_withdrawn"),
        ({"disciplines": ["events"], "specialisms": []}, "profile_changed"),
    ],
)
async def test_profile_changes_withdraw(
    matcher: ShardMatcher, changes: dict[str, Any], expected: str
) -> None:
    uow = FakeUnitOfWork()
    await matcher.assignment_upserted(uow, assignment(), None)
    await matcher.profile_upserted(uow, profile(), None)
    out = await matcher.profile_upserted(uow, profile(**changes), None)
    assert kinds(out) == [("withdrawn", "c-1", expected)]
    if changes.get("active") is False or changes.get("consent") is False:
        assert "c-1" not in uow.profiles
        assert matcher.index.profile("c-1") is None


async def test_a_withdrawn_pair_that_fits_again_is_found_with_the_next_revision(
    matcher: ShardMatcher,
) -> None:
    uow = FakeUnitOfWork()
    await matcher.assignment_upserted(uow, assignment(), None)
    await matcher.profile_upserted(uow, profile(), None)
    await matcher.profile_upserted(uow, profile(active=False), None)
    assert kinds(await matcher.profile_upserted(uow, profile(), None)) == [("found", "c-1", 2)]


async def test_erasure_withdraws_and_forgets(matcher: ShardMatcher) -> None:
    uow = FakeUnitOfWork()
    await matcher.assignment_upserted(uow, assignment(), None)
    await matcher.profile_upserted(uow, profile(), None)
    out = await matcher.consultant_erased(uow, "c-1", None, NOW)
    assert kinds(out) == [("withdrawn", "c-1", "consultant_erased")]
    assert uow.ledger == {}
    assert uow.profiles == {}
    assert matcher.index.profile("c-1") is None


async def test_only_a_profile_written_after_the_erasure_counts(matcher: ShardMatcher) -> None:
    uow = FakeUnitOfWork()
    await matcher.assignment_upserted(uow, assignment(), None)
    await matcher.profile_upserted(uow, profile(), None)
    await matcher.consultant_erased(uow, "c-1", None, NOW)
    assert await matcher.predates_erasure(uow, "c-1", NOW - timedelta(days=3))
    assert await matcher.predates_erasure(uow, "c-1", NOW)
    assert await matcher.predates_erasure(uow, "c-1", None)
    assert not await matcher.predates_erasure(uow, "c-1", NOW + timedelta(seconds=1))
    assert not await matcher.predates_erasure(uow, "c-2", None)
    # Registered again: a new consultant, announced as new (revision 1, not 2).
    assert kinds(await matcher.profile_upserted(uow, profile(), None)) == [("found", "c-1", 1)]


async def test_expiry_sweep_withdraws_after_closes_at(
    matcher: ShardMatcher, clock: list[datetime]
) -> None:
    uow = FakeUnitOfWork()
    await matcher.assignment_upserted(uow, assignment(closes_at=NOW + timedelta(minutes=5)), None)
    await matcher.profile_upserted(uow, profile(), None)
    assert matcher.due_for_expiry() == []
    clock[0] = NOW + timedelta(minutes=5)
    assert matcher.due_for_expiry() == ["a-1"]
    out = await matcher.expire(uow, ["a-1"])
    assert kinds(out) == [("withdrawn", "c-1", "assignment_expired")]
    assert matcher.due_for_expiry() == []
    assert await matcher.profile_upserted(uow, profile(), None) == []
