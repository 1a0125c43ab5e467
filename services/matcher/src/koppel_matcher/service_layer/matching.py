"""One shard's matching state and what each incoming event does to it.

`ShardMatcher` holds the shard's `MatchIndex` (its profiles, all open assignments) and the
full assignments (for the summaries events carry). Each handler updates the state through
a `ShardRepository`, evaluates the affected pairs in the changed direction, applies the
de-duplication rules of `domain.dedup` against the ledger and returns the events to
publish. The caller translates wire models into domain specs before, and publishes the
events in the same Kafka transaction that commits the input offsets after.

The consultants' answers (`answered`, `answer_withdrawn`) are kept through the repository
and, for the pairs answered `not_interested`, in memory: such a pair announces nothing
(`domain.dedup`) until the answer is taken back; then the pair is evaluated at once and
compared with what the consultant was last told, so what changed meanwhile is announced
then (an update, a withdrawal, or a match found again), not at some later change.

Each event carries the CloudEvents extension attribute `matchergroup`: the consumer group
(deployment) of the matcher that produced it, so that operators (and tests sharing one
broker) can tell two matcher deployments on the same topics apart.

The module is longer than most: the handlers share the shard's state, the ledger
comparison and the event building, and read best next to each other.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from koppel.cloudevents import CloudEvent, new_event
from koppel.contract import (
    Assignment,
    AssignmentClosed,
    AssignmentSummary,
    MatchFound,
    MatchUpdated,
    MatchWithdrawn,
    match_id_for,
)
from koppel.erasure import written_before_erasure
from koppel.event_types import EventType, Source
from koppel.vocabulary import AssignmentStatus, Language, WithdrawalReason
from koppel_matcher import metrics
from koppel_matcher.domain.answers import (
    StoredAnswer,
    answer_after_response,
    answer_after_withdrawal,
    suppresses,
)
from koppel_matcher.domain.commitment_ends import next_end_moment
from koppel_matcher.domain.components import starts_soon
from koppel_matcher.domain.dedup import (
    Announce,
    Candidate,
    Cause,
    LedgerEntry,
    MatchState,
    Visible,
    announcement,
    canonical_json,
    content_fingerprint,
    must_withdraw,
    visible_fields,
    withdrawal_reason,
)
from koppel_matcher.domain.evaluate import evaluate
from koppel_matcher.domain.index import MatchIndex
from koppel_matcher.domain.instants import dutch_today
from koppel_matcher.domain.model import AssignmentSpec, ProfileSpec
from koppel_matcher.domain.ranking import Ranking
from koppel_matcher.service_layer.capacity_schedule import WAKEUPS_PER_TRANSACTION, WakeUps
from koppel_matcher.service_layer.ports import ShardRepository


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """An event to publish on `koppel.matches.v1`, keyed by consultant id."""

    key: str
    event: CloudEvent


class ShardMatcher:
    """The matching state of one shard (see `exactly_once` for what a shard is)."""

    def __init__(
        self, shard: int, *, group: str = "", clock: Callable[[], datetime] = utc_now
    ) -> None:
        self.shard = shard
        self._group = group
        self.index = MatchIndex()
        self.assignments: dict[str, Assignment] = {}
        self._summaries: dict[str, tuple[AssignmentSummary, str, Visible]] = {}
        self._declined: set[tuple[str, str]] = set()
        """(consultant id, assignment id) of the shard's pairs answered `not_interested`."""
        self._deadlines: dict[str, datetime] = {}
        self._unreadable: set[str] = set()
        self._clock = clock
        self.wakeups = WakeUps(shard, clock)

    # -- loading -------------------------------------------------------------------------

    def load(
        self,
        assignments: Iterable[tuple[Assignment, AssignmentSpec | None]],
        profiles: Iterable[ProfileSpec],
        *,
        unreadable_assignments: Iterable[str] = (),
        declined: Iterable[tuple[str, str]] = (),
        next_wakeup: datetime | None = None,
    ) -> None:
        """Fill the index from stored state (shard take-over).

        `unreadable_assignments`: ids of stored assignments that could not be loaded; they
        may still have ledger entries, so their next upsert reads the ledger. `declined`:
        the (consultant id, assignment id) pairs answered `not_interested`. `next_wakeup`:
        the earliest stored wake-up of the shard's profiles.
        """
        self.wakeups.restart_from(next_wakeup)
        now = self._clock()
        self._unreadable.update(unreadable_assignments)
        self._declined.update(declined)
        for assignment, spec in assignments:
            self._remember(assignment, spec, now)
        for profile in profiles:
            self.index.upsert_profile(profile)
        self.publish_gauges()

    def publish_gauges(self) -> None:
        label = str(self.shard)
        metrics.INDEX_PROFILES.labels(label).set(self.index.profile_count)
        metrics.INDEX_ASSIGNMENTS.labels(label).set(self.index.assignment_count)

    def forget_gauges(self) -> None:
        """The shard leaves this replica: stop reporting its index size here."""
        label = str(self.shard)
        for gauge in (metrics.INDEX_PROFILES, metrics.INDEX_ASSIGNMENTS):
            with contextlib.suppress(KeyError):
                gauge.remove(label)
        self.wakeups.forget_gauge()

    def _remember(self, assignment: Assignment, spec: AssignmentSpec | None, now: datetime) -> bool:
        """Keep the assignment; index its `spec` when open. Return whether it is open now.

        `spec` may be None only for an assignment whose status is not open.
        """
        self.assignments[assignment.id] = assignment
        self._summaries.pop(assignment.id, None)
        is_open = assignment.status is AssignmentStatus.OPEN
        if is_open and assignment.closes_at is not None:
            self._deadlines[assignment.id] = assignment.closes_at
        else:
            self._deadlines.pop(assignment.id, None)
        if assignment.is_open_at(now):
            assert spec is not None, f"open assignment {assignment.id} without its spec"
            self.index.upsert_assignment(spec)
            return True
        self._unindex_assignment(assignment.id)
        return False

    def _unindex_assignment(self, assignment_id: str) -> None:
        if self.index.assignment(assignment_id) is not None:
            self.index.remove_assignment(assignment_id)

    def _unindex_profile(self, consultant_id: str) -> None:
        if self.index.profile(consultant_id) is not None:
            self.index.remove_profile(consultant_id)

    def _summary(self, assignment_id: str) -> tuple[AssignmentSummary, str, Visible] | None:
        """The assignment's summary, its `canonical_json` and its visible fields."""
        cached = self._summaries.get(assignment_id)
        if cached is None:
            assignment = self.assignments.get(assignment_id)
            if assignment is None:
                return None
            summary = AssignmentSummary.of(assignment)
            dumped = summary.model_dump(mode="json")
            cached = (summary, canonical_json(dumped), visible_fields(dumped))
            self._summaries[assignment_id] = cached
        return cached

    def _is_declined(self, consultant_id: str, assignment_id: str) -> bool:
        return (consultant_id, assignment_id) in self._declined

    # -- handlers ------------------------------------------------------------------------

    async def assignment_upserted(
        self,
        repository: ShardRepository,
        assignment: Assignment,
        spec: AssignmentSpec | None,
        traceparent: str | None,
    ) -> list[Outgoing]:
        """Store and match `assignment`; `spec` is its domain view (None when not open)."""
        now = self._clock()
        # Ledger entries exist only for assignments this shard stored before: a new one needs
        # no ledger query (the common case, one round trip saved per shard).
        seen_before = assignment.id in self.assignments or assignment.id in self._unreadable
        await repository.put_assignment(assignment)
        is_open = self._remember(assignment, spec, now)
        ranking = Ranking.empty()
        if is_open:
            spec = self.index.assignment(assignment.id)
            assert spec is not None
            started = time.perf_counter()
            ranking = self.index.rank_for_assignment(spec, now)
            ranking.reasons()
            metrics.EVALUATION_SECONDS.labels("assignment").observe(time.perf_counter() - started)
        ledger = await repository.ledger_for_assignment(assignment.id) if seen_before else {}
        entries: list[tuple[LedgerEntry, str | None]] = []
        out: list[Outgoing] = []
        matched = set()
        urgent = self._starts_soon(assignment.id, dutch_today(now).toordinal())
        for consultant_id, score, reasons in ranking.scored():
            matched.add(consultant_id)
            profile = self.index.profile(consultant_id)
            assert profile is not None
            self._found(
                assignment.id,
                profile,
                score,
                reasons,
                urgent,
                ledger.get(consultant_id),
                traceparent,
                entries,
                out,
            )
        for consultant_id, entry in ledger.items():
            declined = self._is_declined(consultant_id, assignment.id)
            if consultant_id in matched or not must_withdraw(entry, declined=declined):
                continue
            profile = self.index.profile(consultant_id)
            reason = withdrawal_reason(
                cause=Cause.ASSIGNMENT_EVENT,
                assignment_status=assignment.status,
                closes_at=assignment.closes_at,
                profile_active=None if profile is None else profile.active,
                profile_consent=None if profile is None else profile.consent,
                now=now,
            )
            self._withdrawn(entry, reason, traceparent, entries, out)
        await repository.put_entries(entries)
        return out

    async def assignment_closed(
        self, repository: ShardRepository, closed: AssignmentClosed, traceparent: str | None
    ) -> list[Outgoing] | None:
        """Close a known assignment; None when the assignment was never seen."""
        known = self.assignments.get(closed.assignment_id)
        if known is None:
            return None
        updated = known.model_copy(update={"status": AssignmentStatus(closed.reason.value)})
        return await self.assignment_upserted(repository, updated, None, traceparent)

    async def profile_upserted(
        self,
        repository: ShardRepository,
        profile: ProfileSpec,
        document: Mapping[str, Any],
        traceparent: str | None,
    ) -> list[Outgoing]:
        """Store and match a profile: `profile` is its domain view, `document` what is stored.

        The stored profile carries its next wake-up: the end moment of its next commitment.
        """
        now = self._clock()
        if profile.active and profile.consent:
            wakeup = next_end_moment((c.until for c in profile.commitments), now)
            await repository.put_profile(profile.id, profile.language.value, document, wakeup)
            self.wakeups.scheduled(wakeup)
            self.index.upsert_profile(profile)
        else:
            # No consent or inactive: the matcher keeps nothing about the consultant but the
            # ledger of what it published (to withdraw it, now or on erasure).
            await repository.delete_profile(profile.id)
            self._unindex_profile(profile.id)
        return await self._match_profile(repository, profile, now, traceparent)

    async def capacity_freed(
        self, repository: ShardRepository, attempt: Callable[[str], bool] = lambda _: True
    ) -> tuple[int, list[Outgoing]]:
        """Match again the consultants whose wake-up is due: a commitment of theirs ended,
        so assignments it blocked may fit now (contract §8.4). Each gets its next wake-up.

        At most `WAKEUPS_PER_TRANSACTION` consultants, the earliest first; returns how many
        were woken and the events to publish. `attempt(consultant id)` False skips matching
        that one (its wake-up kept failing) but still moves its wake-up on.
        """
        now = self._clock()
        due = await repository.due_wakeups(now, WAKEUPS_PER_TRANSACTION)
        out: list[Outgoing] = []
        for consultant_id in due:
            profile = self.index.profile(consultant_id)
            wakeup = None
            if profile is not None:
                wakeup = next_end_moment((c.until for c in profile.commitments), now)
                if attempt(consultant_id):
                    out += await self._match_profile(repository, profile, now, None)
            await repository.set_wakeup(consultant_id, wakeup)
            self.wakeups.scheduled(wakeup)
        return len(due), out

    async def _match_profile(
        self,
        repository: ShardRepository,
        profile: ProfileSpec,
        now: datetime,
        traceparent: str | None,
    ) -> list[Outgoing]:
        """Match a stored (or just deleted) profile against the open assignments at `now`,
        against the ledger."""
        ranking = Ranking.empty()
        if profile.active and profile.consent:
            started = time.perf_counter()
            ranking = self.index.rank_for_profile(profile, now)
            ranking.reasons()
            metrics.EVALUATION_SECONDS.labels("profile").observe(time.perf_counter() - started)
        ledger = await repository.ledger_for_consultant(profile.id)
        entries: list[tuple[LedgerEntry, str | None]] = []
        out: list[Outgoing] = []
        matched = set()
        today = dutch_today(now).toordinal()
        for assignment_id, score, reasons in ranking.scored():
            matched.add(assignment_id)
            self._found(
                assignment_id,
                profile,
                score,
                reasons,
                self._starts_soon(assignment_id, today),
                ledger.get(assignment_id),
                traceparent,
                entries,
                out,
            )
        for assignment_id, entry in ledger.items():
            declined = self._is_declined(profile.id, assignment_id)
            if assignment_id in matched or not must_withdraw(entry, declined=declined):
                continue
            assignment = self.assignments.get(assignment_id)
            reason = withdrawal_reason(
                cause=Cause.PROFILE_EVENT,
                assignment_status=None if assignment is None else assignment.status,
                closes_at=None if assignment is None else assignment.closes_at,
                profile_active=profile.active,
                profile_consent=profile.consent,
                now=now,
            )
            self._withdrawn(entry, reason, traceparent, entries, out)
        await repository.put_entries(entries)
        return out

    async def predates_erasure(
        self, repository: ShardRepository, consultant_id: str, written_at: datetime | None
    ) -> bool:
        """Whether a profile written at `written_at` is older than the consultant's erasure.

        Such a record is late or was replayed from a dead-letter topic after the tombstone
        was compacted away: it must not bring the consultant back. A profile written after
        the erasure is a new registration and is matched afresh (the ledger is empty).
        """
        return written_before_erasure(written_at, await repository.erased_at(consultant_id))

    async def consultant_erased(
        self,
        repository: ShardRepository,
        consultant_id: str,
        traceparent: str | None,
        erased_at: datetime,
    ) -> list[Outgoing]:
        """Withdraw everything published for the consultant, then forget them entirely
        but for the erasure record (when: `erased_at`).

        The withdrawals go out for declined pairs too: they tell every consumer to drop
        what it holds about the consultant, which is no announcement to the consultant.
        """
        self._unindex_profile(consultant_id)
        self._declined = {pair for pair in self._declined if pair[0] != consultant_id}
        ledger = await repository.ledger_for_consultant(consultant_id)
        entries: list[tuple[LedgerEntry, str | None]] = []
        out: list[Outgoing] = []
        for entry in ledger.values():
            if must_withdraw(entry):
                self._withdrawn(
                    entry, WithdrawalReason.CONSULTANT_ERASED, traceparent, entries, out
                )
        await repository.erase_consultant(consultant_id, erased_at)
        return out

    def due_for_expiry(self) -> list[str]:
        """Open assignments whose `closes_at` has passed and that are not swept yet."""
        now = self._clock()
        return sorted(aid for aid, deadline in self._deadlines.items() if deadline <= now)

    def forget_deadlines(self, assignment_ids: Iterable[str]) -> None:
        """Drop passed deadlines that have nothing to withdraw."""
        for assignment_id in assignment_ids:
            self._deadlines.pop(assignment_id, None)
            self._unindex_assignment(assignment_id)

    async def expire(
        self, repository: ShardRepository, assignment_ids: Iterable[str]
    ) -> list[Outgoing]:
        """Withdraw the published matches of assignments past their `closes_at`."""
        entries: list[tuple[LedgerEntry, str | None]] = []
        out: list[Outgoing] = []
        for assignment_id in assignment_ids:
            self.forget_deadlines([assignment_id])
            ledger = await repository.ledger_for_assignment(assignment_id)
            for entry in ledger.values():
                declined = self._is_declined(entry.consultant_id, assignment_id)
                if must_withdraw(entry, declined=declined):
                    self._withdrawn(entry, WithdrawalReason.ASSIGNMENT_EXPIRED, None, entries, out)
        await repository.put_entries(entries)
        return out

    async def answered(
        self, repository: ShardRepository, answer: StoredAnswer, traceparent: str | None
    ) -> list[Outgoing]:
        """Keep the consultant's answer to a pair of the shard when it is the latest."""
        current = await repository.answer_for(answer.consultant_id, answer.assignment_id)
        kept = answer_after_response(current, answer)
        if kept is current:
            return []
        await repository.put_answer(kept)
        return await self._answer_changed(repository, current, kept, traceparent)

    async def answer_withdrawn(
        self,
        repository: ShardRepository,
        consultant_id: str,
        assignment_id: str,
        withdrawn_at: datetime,
        traceparent: str | None,
    ) -> list[Outgoing]:
        """Take the answer to a pair back, unless a later answer replaced it already."""
        current = await repository.answer_for(consultant_id, assignment_id)
        if current is None or answer_after_withdrawal(current, withdrawn_at) is not None:
            return []
        await repository.delete_answer(consultant_id, assignment_id)
        return await self._answer_changed(repository, current, None, traceparent)

    async def _answer_changed(
        self,
        repository: ShardRepository,
        before: StoredAnswer | None,
        after: StoredAnswer | None,
        traceparent: str | None,
    ) -> list[Outgoing]:
        """Follow the answer now in force; a pair no longer declined is evaluated at once."""
        answer = after if after is not None else before
        assert answer is not None
        pair = (answer.consultant_id, answer.assignment_id)
        if suppresses(after):
            self._declined.add(pair)
            return []
        self._declined.discard(pair)
        if not suppresses(before):
            return []
        return await self._reconsider(repository, *pair, traceparent)

    async def _reconsider(
        self,
        repository: ShardRepository,
        consultant_id: str,
        assignment_id: str,
        traceparent: str | None,
    ) -> list[Outgoing]:
        """Evaluate one pair against the ledger, as an event touching it would."""
        entry = (await repository.ledger_for_consultant(consultant_id)).get(assignment_id)
        profile = self.index.profile(consultant_id)
        spec = self.index.assignment(assignment_id)
        now = self._clock()
        evaluation = None
        if profile is not None and spec is not None:
            evaluation = evaluate(spec, profile, now)
        entries: list[tuple[LedgerEntry, str | None]] = []
        out: list[Outgoing] = []
        if profile is not None and evaluation is not None:
            self._found(
                assignment_id,
                profile,
                evaluation.score,
                evaluation.reasons,
                self._starts_soon(assignment_id, dutch_today(now).toordinal()),
                entry,
                traceparent,
                entries,
                out,
            )
        elif entry is not None and must_withdraw(entry):
            assignment = self.assignments.get(assignment_id)
            reason = withdrawal_reason(
                cause=Cause.PROFILE_EVENT if spec is not None else Cause.ASSIGNMENT_EVENT,
                assignment_status=None if assignment is None else assignment.status,
                closes_at=None if assignment is None else assignment.closes_at,
                profile_active=None if profile is None else profile.active,
                profile_consent=None if profile is None else profile.consent,
                now=now,
            )
            self._withdrawn(entry, reason, traceparent, entries, out)
        await repository.put_entries(entries)
        return out

    # -- event building ------------------------------------------------------------------

    def _starts_soon(self, assignment_id: str, today: int) -> bool:
        """Whether a match with the assignment is urgent today (contract §8.5): the rule
        the urgency reason of its evaluation follows too."""
        start = self.assignments[assignment_id].start_date
        return bool(starts_soon(start.toordinal(), today))

    def _found(
        self,
        assignment_id: str,
        profile: ProfileSpec,
        score: float,
        reasons: tuple[str, ...],
        urgent: bool,
        entry: LedgerEntry | None,
        traceparent: str | None,
        entries: list[tuple[LedgerEntry, str | None]],
        out: list[Outgoing],
    ) -> None:
        summarised = self._summary(assignment_id)
        assert summarised is not None, f"indexed assignment {assignment_id} has no state"
        summary, summary_canonical, visible = summarised
        language = profile.language
        candidate = Candidate(
            score=score,
            reasons=reasons,
            fingerprint=content_fingerprint(summary_canonical, score, reasons, language.value),
            visible=visible,
        )
        decided = announcement(
            entry, candidate, declined=self._is_declined(profile.id, assignment_id)
        )
        if decided.kind is Announce.NOTHING:
            return
        new_entry = LedgerEntry(
            consultant_id=profile.id,
            assignment_id=assignment_id,
            match_id=match_id_for(assignment_id, profile.id),
            state=MatchState.FOUND,
            revision=decided.revision,
            score=candidate.score,
            reasons=reasons,
            language=language.value,
            fingerprint=candidate.fingerprint,
            announced=decided.announced,
        )
        entries.append((new_entry, None))
        if decided.kind is Announce.RECORD:
            return
        found = MatchFound(
            match_id=new_entry.match_id,
            consultant_id=profile.id,
            assignment=summary,
            score=candidate.score,
            reasons=list(reasons),
            language=Language(language),
            revision=decided.revision,
            urgent=urgent,
        )
        event_type, data = EventType.MATCH_FOUND, found
        if decided.kind is Announce.UPDATED:
            event_type = EventType.MATCH_UPDATED
            data = MatchUpdated(**dict(found), changed=list(decided.changed))
        out.append(Outgoing(profile.id, self._event(event_type, profile.id, data, traceparent)))

    def _withdrawn(
        self,
        entry: LedgerEntry,
        reason: WithdrawalReason,
        traceparent: str | None,
        entries: list[tuple[LedgerEntry, str | None]],
        out: list[Outgoing],
    ) -> None:
        summarised = self._summary(entry.assignment_id)
        data = MatchWithdrawn(
            match_id=entry.match_id,
            consultant_id=entry.consultant_id,
            assignment_id=entry.assignment_id,
            assignment=None if summarised is None else summarised[0],
            reason=reason,
        )
        entries.append((replace(entry, state=MatchState.WITHDRAWN), reason.value))
        out.append(
            Outgoing(
                entry.consultant_id,
                self._event(EventType.MATCH_WITHDRAWN, entry.consultant_id, data, traceparent),
            )
        )

    def _event(
        self,
        event_type: EventType,
        consultant_id: str,
        data: MatchFound | MatchUpdated | MatchWithdrawn,
        traceparent: str | None,
    ) -> CloudEvent:
        event = new_event(
            event_type,
            source=Source.MATCHER.value,
            subject=consultant_id,
            data=data,
            traceparent=traceparent,
        )
        return event.model_copy(update={"matchergroup": self._group}) if self._group else event
