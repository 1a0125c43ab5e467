"""Use cases of the consumed records: a profile changed, a consultant erased, a match found,
updated or withdrawn, an answer given or taken back. Each runs inside the caller's
transaction (`InboxStore`), so a batch of records and the deliveries it plans commit
together, before the consumer commits its offsets.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Literal

import structlog

from koppel.erasure import written_before_erasure
from koppel.vocabulary import Answer, WithdrawalReason
from koppel_notifier.domain.commands import (
    AnswerGiven,
    AnswerTakenBack,
    Command,
    ConsultantErased,
    Ignored,
    MatchEvent,
    ProfileChanged,
)
from koppel_notifier.domain.delivery_keys import registration_key
from koppel_notifier.domain.model import (
    ChannelName,
    Contact,
    Kind,
    MatchNotice,
    PlannedDelivery,
)
from koppel_notifier.domain.routing import plan_found, plan_updated, plan_withdrawn
from koppel_notifier.service_layer.ports import InboxStore

log = structlog.get_logger(__name__)

Result = Literal["applied", "duplicate", "ignored", "stale"]
"""What a record came to; the label of `koppel_notifier_events_consumed_total`."""

_ERASED = WithdrawalReason.CONSULTANT_ERASED.value


async def handle(inbox: InboxStore, command: Command) -> Result:
    if isinstance(command, ProfileChanged):
        result = await change_profile(inbox, command)
        _note_stale(result, command.contact.consultant_id)
        return result
    if isinstance(command, ConsultantErased):
        await erase_consultant(inbox, command)
        return "applied"
    if isinstance(command, MatchEvent):
        result = await record_match(inbox, command)
        _note_stale(result, command.notice.consultant_id)
        return result
    if isinstance(command, AnswerGiven):
        result = await record_answer(inbox, command)
        _note_stale(result, command.answer.consultant_id)
        return result
    if isinstance(command, AnswerTakenBack):
        return await take_answer_back(inbox, command)
    assert isinstance(command, Ignored)
    return "ignored"


async def change_profile(inbox: InboxStore, command: ProfileChanged) -> Result:
    """Keep the local copy of a profile and bring pending work in line with it.

    A consultant seen for the first time can have nothing pending, only match events that
    waited for this profile; a known one can have nothing waiting, only pending work. A
    profile written before the consultant's erasure is a late or replayed record and
    changes nothing.
    """
    consultant_id = command.contact.consultant_id
    state = await inbox.consultant_state(consultant_id)
    if written_before_erasure(command.written_at, state.erased_at):
        return "stale"
    stored = await inbox.save_contact(command.contact, mode=command.mode)
    if not state.known:
        await route_awaiting(inbox, stored, erased_at=state.erased_at)
        return "applied"
    if not stored.digest:
        # Left digest mode: what waited for the digest goes out now.
        await inbox.release_queued(consultant_id)
    for channel in ChannelName:
        if not stored.accepts(channel):
            # A withdrawal email to an interested consultant goes out whatever the channels.
            await inbox.cancel_unsent(
                consultant_id,
                channel,
                "channel no longer in use",
                keep_withdrawals=channel is ChannelName.EMAIL and stored.emailable,
            )
    return "applied"


async def erase_consultant(inbox: InboxStore, command: ConsultantErased) -> None:
    """GDPR erasure: every row about the consultant goes; the erasure record stays.

    The record (a digest of the id and the time, see `koppel.erasure`) is what tells a late
    or replayed record about the consultant apart from a new registration.
    """
    await inbox.erase(command.consultant_id, command.erased_at)


async def record_match(inbox: InboxStore, command: MatchEvent) -> Result:
    """Store a match event once (a replayed record is a no-op) and route it if we can.

    Without a known profile the event waits, unrouted, until the profile arrives. An event
    written before the consultant's erasure is not stored ("stale"), nor is a withdrawal
    of a match never found (nothing to take back). The withdrawal the matcher publishes
    when it erases the consultant marks the end of their earlier registration on this
    partition: whatever match events of it are still stored go, so that a registration
    after the erasure is notified afresh.
    """
    notice = command.notice
    if notice.kind is Kind.WITHDRAWN and notice.payload.get("reason") == _ERASED:
        await inbox.forget_matches(notice.consultant_id)
        return "ignored"
    if notice.kind is Kind.WITHDRAWN:
        notice = replace(notice, revision=await inbox.latest_revision(notice.match_id))
        if notice.revision == 0:
            return "ignored"
    stored = await inbox.store_match(notice, command.occurred_at)
    if stored.stale:
        return "stale"
    if not stored.inserted:
        return "duplicate"
    if stored.contact is not None:
        await route(
            inbox, stored.contact, notice, command.occurred_at, erased_at=stored.last_erasure
        )
    return "applied"


async def record_answer(inbox: InboxStore, command: AnswerGiven) -> Result:
    """Keep the consultant's answer; the latest `responded_at` wins, a replay is a no-op.

    The page that took the answer has usually stored it already ("duplicate" then). An
    answer given before the consultant's erasure is a late record and is not stored.
    """
    answer = command.answer
    state = await inbox.consultant_state(answer.consultant_id)
    if written_before_erasure(answer.responded_at, state.erased_at):
        return "stale"
    return "applied" if await inbox.responses.record(answer) else "duplicate"


async def take_answer_back(inbox: InboxStore, command: AnswerTakenBack) -> Result:
    """Forget the match's answer, unless it was given after it was taken back."""
    return "applied" if await inbox.responses.withdraw(command.withdrawal) else "duplicate"


async def route_awaiting(
    inbox: InboxStore, contact: Contact, *, erased_at: datetime | None
) -> None:
    """Route the consultant's match events that arrived before their profile, in order.

    `erased_at`: the consultant's last erasure, if any (see `registration_key`).
    """
    for waiting in await inbox.awaiting(contact.consultant_id):
        await route(inbox, contact, waiting.notice, waiting.occurred_at, erased_at=erased_at)
        await inbox.mark_routed(waiting.event_key)


async def route(
    inbox: InboxStore,
    contact: Contact,
    notice: MatchNotice,
    occurred_at: datetime,
    *,
    erased_at: datetime | None,
) -> None:
    """Create the deliveries `notice` calls for.

    An update is announced where the match was, and replaces what of it has not gone out
    yet; of a pair answered `not_interested` it announces nothing (§8.1). A withdrawal
    cancels what has not gone out and is announced where the match was, and by email to a
    consultant who answered `interested`. `erased_at` is the consultant's last erasure (see
    `registration_key`). A found needs no answer: the matcher announces a pair anew only
    after its answer was taken back.
    """
    if notice.kind is Kind.FOUND:
        planned = plan_found(contact, notice)
    else:
        answer = await inbox.responses.answer_for(notice.match_id)
        response = None if answer is None else answer.response
        told = await inbox.channels_told(notice.match_id, notice.consultant_id)
        if notice.kind is Kind.UPDATED:
            if response is Answer.NOT_INTERESTED:
                return
            await inbox.cancel_unannounced(notice.match_id, notice.consultant_id, "updated")
            planned = plan_updated(contact, notice, told)
        else:
            await inbox.cancel_unsent_found(
                notice.match_id, notice.consultant_id, "match withdrawn"
            )
            planned = plan_withdrawn(contact, told, interested=response is Answer.INTERESTED)
    for delivery in planned:
        key = registration_key(delivery.dedupe_key(notice), erased_at)
        carried = await _content_for(inbox, delivery, notice)
        await inbox.add_delivery(key, delivery, carried, occurred_at)


async def _content_for(
    inbox: InboxStore, delivery: PlannedDelivery, notice: MatchNotice
) -> MatchNotice:
    """The notice as `delivery` carries it.

    An update announced as new carries no `changed` (it is a `match.found` to the
    consultant). A withdrawal's email names the assignment even when the event does not
    carry it: the summary of the match's latest announcement is used then.
    """
    if delivery.kind is Kind.FOUND and "changed" in notice.payload:
        payload = {key: value for key, value in notice.payload.items() if key != "changed"}
        return replace(notice, payload=payload)
    if (
        delivery.kind is Kind.WITHDRAWN
        and delivery.channel is ChannelName.EMAIL
        and not notice.payload.get("assignment")
    ):
        assignment = await inbox.latest_assignment(notice.match_id)
        if assignment is not None:
            return replace(notice, payload={**notice.payload, "assignment": assignment})
    return notice


def _note_stale(result: Result, consultant_id: str) -> None:
    """Say that a record written before its consultant's erasure was ignored (ids only)."""
    if result == "stale":
        log.info("record predates the consultant's erasure; ignored", entity_id=consultant_id)
