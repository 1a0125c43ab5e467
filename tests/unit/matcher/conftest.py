"""Builders, hypothesis strategies and the scalar oracle for the matcher's pure core.

Under `--import-mode=importlib` test modules cannot import each other, so the helpers
reach tests as session fixtures: `specs` gives builders with realistic defaults and the
strategies; property tests draw from them with `st.data()`. `specs.oracle` is the contract's
rules written out for one pair with plain Python (`scalar_oracle.py`, loaded from here):
the package has only the column rules, and the property tests hold them to it. `fakes`
gives the in-memory stand-ins of the matcher's ports (`ShardRepository`, `ShardUnitOfWork`)
and of the shard's Kafka consumer.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from aiokafka import ConsumerRecord, TopicPartition
from hypothesis import strategies as st

from koppel.cloudevents import CloudEvent
from koppel.contract import Assignment, ConsultantProfile
from koppel.vocabulary import (
    AssignmentType,
    Discipline,
    Language,
    Level,
    OrganizationType,
    Province,
    SizeClass,
    WorkStyle,
)
from koppel_matcher.domain.answers import StoredAnswer
from koppel_matcher.domain.dedup import LedgerEntry, MatchState
from koppel_matcher.domain.model import AssignmentSpec, Place, ProfileSpec
from koppel_matcher.service_layer.ports import DeadLetter, Partition, TakeOver

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
START = date(2026, 3, 16)

UTRECHT = Place("Utrecht", Province.UTRECHT, 52.0907, 5.1214)
AMERSFOORT = Place("Amersfoort", Province.UTRECHT, 52.1561, 5.3878)
GRONINGEN = Place("Groningen", Province.GRONINGEN, 53.2194, 6.5665)


def assignment(**overrides: Any) -> AssignmentSpec:
    """A senior crisis-communication assignment in Utrecht that `profile()` matches."""
    base = AssignmentSpec(
        id="a-1",
        title="Senior communicatieadviseur crisis",
        organization_type=OrganizationType.MUNICIPALITY,
        size_class=SizeClass.LARGE,
        province=Province.UTRECHT,
        location=UTRECHT,
        level=Level.SENIOR,
        assignment_type=AssignmentType.PROJECT,
        disciplines_required=frozenset({Discipline.CRISIS_COMMUNICATION}),
        disciplines_preferred=frozenset(),
        hours_min=28,
        hours_max=32,
        start_date=START,
        duration_months=6,
        office_days_per_week=2,
        max_hourly_rate_eur=None,
        min_years_experience=None,
        required_certifications=frozenset(),
        is_open=True,
        closes_at=None,
    )
    return replace(base, **overrides)


def profile(**overrides: Any) -> ProfileSpec:
    """A senior consultant in Amersfoort (about 20 km from Utrecht) who fits `assignment()`."""
    base = ProfileSpec(
        id="c-1",
        language=Language.NL,
        level=Level.SENIOR,
        years_experience=10,
        public_sector_years=3,
        disciplines=frozenset({Discipline.CRISIS_COMMUNICATION, Discipline.CAMPAIGNS}),
        specialisms=frozenset(),
        work_style=WorkStyle.EITHER,
        certifications=frozenset(),
        home=AMERSFOORT,
        max_travel_km=50,
        max_office_days_per_week=3,
        available_from=START,
        hours_min=24,
        hours_max=32,
        committed_hours=0,
        min_hourly_rate_eur=None,
        open_to_next_level=False,
        preferred_organization_types=frozenset(),
        preferred_assignment_types=frozenset(),
        active=True,
        consent=True,
    )
    return replace(base, **overrides)


# --- strategies: every field is either the reference value or a random one, so random
# pairs often pass every filter (hypothesis shrinks towards the reference pair) ---

_CERTIFICATIONS = ("VOG", "Prince2", "BHV", "Scrum", "GGD crisis")
_DISCIPLINES = list(Discipline)[:6]


def _or(reference: Any, alternative: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The reference value two times in three, else the alternative."""
    return st.one_of(st.just(reference), st.just(reference), alternative)


_MOSTLY_TRUE = st.sampled_from([True] * 11 + [False])


@st.composite
def _place(draw: st.DrawFn, reference: Place) -> Place:
    where = draw(st.one_of(st.none(), st.tuples(st.floats(51.6, 52.6), st.floats(4.6, 5.6))))
    province = draw(st.sampled_from(list(Province)))
    if where is None:
        return Place("Ergens", province)
    place: Place = draw(_or(reference, st.just(Place("Ergens", province, where[0], where[1]))))
    return place


@st.composite
def assignments(draw: st.DrawFn, ids: st.SearchStrategy[str] | None = None) -> AssignmentSpec:
    base = assignment()
    required = draw(st.frozensets(st.sampled_from(_DISCIPLINES), min_size=1, max_size=3))
    required = draw(_or(base.disciplines_required, st.just(required)))
    preferred = draw(st.frozensets(st.sampled_from(list(Discipline)[:8]), max_size=3)) - required
    low = draw(_or(base.hours_min, st.integers(8, 32)))
    org = draw(st.sampled_from(list(OrganizationType)))
    size = draw(st.sampled_from(list(SizeClass))) if org is OrganizationType.MUNICIPALITY else None
    return AssignmentSpec(
        id=draw(ids if ids is not None else st.text("abc123", min_size=1, max_size=6)),
        title="Opdracht",
        organization_type=org,
        size_class=size,
        province=base.province,
        location=draw(_place(base.location)),
        level=draw(st.sampled_from([base.level, *Level])),
        assignment_type=draw(st.sampled_from(list(AssignmentType))),
        disciplines_required=required,
        disciplines_preferred=preferred,
        hours_min=low,
        hours_max=draw(_or(max(low, base.hours_max), st.integers(low, 40))),
        start_date=START + timedelta(days=draw(_or(0, st.integers(-16, 16)))),
        duration_months=draw(st.integers(1, 24)),
        office_days_per_week=draw(_or(base.office_days_per_week, st.integers(0, 5))),
        max_hourly_rate_eur=draw(_or(None, st.floats(60, 140))),
        min_years_experience=draw(_or(None, st.integers(0, 12))),
        required_certifications=draw(
            _or(frozenset(), st.frozensets(st.sampled_from(_CERTIFICATIONS), max_size=2))
        ),
        is_open=draw(_MOSTLY_TRUE),
        closes_at=draw(
            _or(
                None,
                st.sampled_from([NOW, NOW + timedelta(microseconds=1), NOW + timedelta(days=3)]),
            )
        ),
    )


@st.composite
def profiles(draw: st.DrawFn, ids: st.SearchStrategy[str] | None = None) -> ProfileSpec:
    base = profile()
    disciplines = draw(st.frozensets(st.sampled_from(_DISCIPLINES), min_size=1, max_size=4))
    disciplines = draw(_or(base.disciplines, st.just(disciplines)))
    specialisms = draw(st.frozensets(st.sampled_from(sorted(disciplines)), max_size=3))
    low = draw(_or(base.hours_min, st.integers(8, 32)))
    years = draw(_or(base.years_experience, st.integers(0, 20)))
    return ProfileSpec(
        id=draw(ids if ids is not None else st.text("xyz789", min_size=1, max_size=6)),
        language=draw(st.sampled_from(list(Language))),
        level=draw(_or(base.level, st.sampled_from(list(Level)))),
        years_experience=years,
        public_sector_years=draw(st.integers(0, years)),
        disciplines=disciplines,
        specialisms=specialisms,
        work_style=draw(st.sampled_from(list(WorkStyle))),
        certifications=draw(st.frozensets(st.sampled_from(_CERTIFICATIONS), max_size=4)),
        home=draw(_place(base.home)),
        max_travel_km=draw(_or(base.max_travel_km, st.one_of(st.none(), st.integers(1, 150)))),
        max_office_days_per_week=draw(_or(base.max_office_days_per_week, st.integers(0, 5))),
        available_from=START + timedelta(days=draw(_or(0, st.integers(-20, 20)))),
        hours_min=low,
        hours_max=draw(_or(max(low, base.hours_max), st.integers(low, 40))),
        committed_hours=draw(_or(0, st.sampled_from([4, 8, 16, 32]))),
        min_hourly_rate_eur=draw(_or(None, st.floats(50, 130))),
        open_to_next_level=draw(st.booleans()),
        preferred_organization_types=draw(
            st.frozensets(st.sampled_from(list(OrganizationType)), max_size=3)
        ),
        preferred_assignment_types=draw(
            st.frozensets(st.sampled_from(list(AssignmentType)), max_size=2)
        ),
        active=draw(_MOSTLY_TRUE),
        consent=draw(_MOSTLY_TRUE),
    )


def _load_oracle() -> ModuleType:
    path = Path(__file__).with_name("scalar_oracle.py")
    spec = importlib.util.spec_from_file_location("koppel_matcher_scalar_oracle", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Specs:
    now: datetime
    start: date
    assignment: Any
    profile: Any
    assignments: Any
    profiles: Any
    utrecht: Place
    amersfoort: Place
    groningen: Place
    oracle: Any
    """`evaluate`, `failed_filters` and `score` for one pair, written out scalar by scalar."""


@pytest.fixture(scope="session")
def specs() -> Specs:
    return Specs(
        now=NOW,
        start=START,
        assignment=assignment,
        profile=profile,
        assignments=assignments,
        profiles=profiles,
        utrecht=UTRECHT,
        amersfoort=AMERSFOORT,
        groningen=GRONINGEN,
        oracle=_load_oracle(),
    )


class FakeRepository:
    """Dict-backed stand-in for the PostgreSQL `ShardTransaction`."""

    def __init__(self) -> None:
        self.ledger: dict[tuple[str, str], LedgerEntry] = {}
        self.reasons: dict[tuple[str, str], str | None] = {}
        self.profiles: dict[str, Any] = {}
        self.assignments: dict[str, Assignment] = {}
        self.erasures: dict[str, datetime] = {}
        self.answers: dict[tuple[str, str], StoredAnswer] = {}

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
        for key in [k for k in self.answers if k[0] == consultant_id]:
            del self.answers[key]

    async def put_assignment(self, assignment: Assignment) -> None:
        self.assignments[assignment.id] = assignment

    async def answer_for(self, consultant_id: str, assignment_id: str) -> StoredAnswer | None:
        return self.answers.get((consultant_id, assignment_id))

    async def put_answer(self, answer: StoredAnswer) -> None:
        self.answers[(answer.consultant_id, answer.assignment_id)] = answer

    async def delete_answer(self, consultant_id: str, assignment_id: str) -> None:
        del self.answers[(consultant_id, assignment_id)]


@dataclass
class Commit:
    """What one transaction of `FakeUnitOfWork` committed."""

    events: list[tuple[str, CloudEvent]]
    dead_letters: list[DeadLetter]
    offsets: dict[Partition, int]


class FakeUnitOfWork:
    """In-memory `ShardUnitOfWork`: every transaction writes into one `FakeRepository` and
    lists what it committed in `commits`. Unlike PostgreSQL, an abort keeps the writes made
    so far; tests look at what was committed and aborted, not at the rollback."""

    def __init__(self, partitions: Sequence[Partition], shard_count: int = 1) -> None:
        self.partitions = tuple(partitions)
        self.shard_count = shard_count
        self.repository = FakeRepository()
        self.commits: list[Commit] = []
        self.aborted: list[BaseException] = []
        self.closed = False
        self._open: Commit | None = None

    async def take_over(self) -> TakeOver:
        return TakeOver(
            partitions=self.partitions,
            committed={},
            shard_count=self.shard_count,
            epoch=1,
            seq=0,
            recovery="consistent",
            assignments=[],
            profiles=[],
        )

    async def begin(self) -> FakeRepository:
        assert self._open is None, "a transaction is open already"
        self._open = Commit([], [], {})
        return self.repository

    def publish(self, key: str, event: CloudEvent) -> None:
        assert self._open is not None
        self._open.events.append((key, event))

    def dead_letter(self, letter: DeadLetter) -> None:
        assert self._open is not None
        self._open.dead_letters.append(letter)

    async def commit(self, offsets: Mapping[Partition, int]) -> None:
        assert self._open is not None
        self._open.offsets = dict(offsets)
        self.commits.append(self._open)
        self._open = None

    async def has_found(self, assignment_ids: Sequence[str]) -> bool:
        return any(
            entry.state is MatchState.FOUND and entry.assignment_id in assignment_ids
            for entry in self.repository.ledger.values()
        )

    async def abort(self, exc: BaseException) -> None:
        if self._open is not None:
            self.aborted.append(exc)
        self._open = None

    async def close(self) -> None:
        self.closed = True


@dataclass
class FakeConsumer:
    """The shard's Kafka consumer, handing out `batches` one `getmany` at a time and
    setting `stopping` once they are all out."""

    batches: list[list[ConsumerRecord[bytes, bytes]]]
    stopping: Any
    positions: dict[TopicPartition, int] = field(default_factory=dict)

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def assign(self, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            self.positions.setdefault(tp, 0)

    def assignment(self) -> set[TopicPartition]:
        return set(self.positions)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.positions[tp] = offset

    async def seek_to_end(self, *partitions: TopicPartition) -> None:
        pass

    async def seek_to_beginning(self, *partitions: TopicPartition) -> None:
        pass

    def highwater(self, tp: TopicPartition) -> int:
        return self.positions[tp]

    async def position(self, tp: TopicPartition) -> int:
        return self.positions[tp]

    async def getmany(
        self, timeout_ms: int = 0
    ) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
        if not self.batches:
            self.stopping.set()
            return {}
        fetched: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]] = {}
        for record in self.batches.pop(0):
            tp = TopicPartition(record.topic, record.partition)
            fetched.setdefault(tp, []).append(record)
            self.positions[tp] = record.offset + 1
        return fetched


@dataclass(frozen=True)
class Fakes:
    Repository: type[FakeRepository]
    UnitOfWork: type[FakeUnitOfWork]
    Consumer: type[FakeConsumer]


@pytest.fixture(scope="session")
def fakes() -> Fakes:
    return Fakes(Repository=FakeRepository, UnitOfWork=FakeUnitOfWork, Consumer=FakeConsumer)


WIRE_TODAY = datetime(2026, 11, 23, 12, 0, tzinfo=UTC).date()
"""The date the wire builders plan from (`test_shard_matcher` runs its clock on it)."""


def wire_assignment(**changes: Any) -> Assignment:
    """An open senior crisis-communication assignment in Utrecht, starting in two weeks."""
    document: dict[str, Any] = {
        "id": "a-1",
        "title": "Woordvoerder crisiscommunicatie",
        "organization": {"name": "Gemeente Utrecht", "type": "municipality", "inhabitants": 370000},
        "location": {"city": "Utrecht", "province": "utrecht", "lat": 52.0907, "lon": 5.1214},
        "level": "senior",
        "assignment_type": "project",
        "disciplines_required": ["crisis_communication"],
        "hours_per_week": {"min": 24, "max": 32},
        "start_date": (WIRE_TODAY + timedelta(days=14)).isoformat(),
        "duration_months": 6,
        "office_days_per_week": 3,
    }
    document.update(changes)
    return Assignment.model_validate(document)


def wire_profile(**changes: Any) -> ConsultantProfile:
    """A senior crisis-communication consultant near Utrecht who fits `wire_assignment()`."""
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
        "available_from": WIRE_TODAY.isoformat(),
        "hours_per_week": {"min": 24, "max": 32},
        "consent": True,
    }
    document.update(changes)
    return ConsultantProfile.model_validate(document)


@dataclass(frozen=True)
class Wire:
    assignment: Any
    profile: Any


@pytest.fixture(scope="session")
def wire() -> Wire:
    """Builders of contract models that match each other, as intake would publish them."""
    return Wire(assignment=wire_assignment, profile=wire_profile)
