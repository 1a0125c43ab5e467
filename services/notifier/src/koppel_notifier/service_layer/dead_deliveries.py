"""Use cases of the operator's commands on deliveries given up on: list, retry, discard, and
the backlog of every status they are read against.

A retried delivery keeps its row, so its id and the `webhook-id` derived from it stay the
same and receivers can still de-duplicate; the running notifier's sender claims it like
any due delivery. Only rows still `dead` change, so a delivery that went out meanwhile is
never sent again. Each change is logged with the delivery id and channel, nothing about
the consultant (the discard reason is the operator's free text, so it is not logged).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import structlog

from koppel_notifier.domain.dead_deliveries import (
    GIVEN_UP,
    BacklogCount,
    DeadDelivery,
    Refusal,
    Selection,
    retry_refusal,
)
from koppel_notifier.domain.model import Status
from koppel_notifier.service_layer.ports import DeadDeliveries

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class RetryReport:
    """What a retry came to. `requeued`: due again now (or would be, in a dry run);
    `refused`: left dead, with why; `moved_on`: no longer dead when it came to it."""

    requeued: list[DeadDelivery]
    refused: list[tuple[DeadDelivery, Refusal]]
    moved_on: list[DeadDelivery]
    dry_run: bool


@dataclass(frozen=True)
class DiscardReport:
    """What a discard came to. `discarded`: ended (or would be, in a dry run); `moved_on`: no
    longer given up when it came to it."""

    discarded: list[DeadDelivery]
    moved_on: list[DeadDelivery]
    dry_run: bool


async def backlog(store: DeadDeliveries) -> list[BacklogCount]:
    """How many deliveries each channel has in each status."""
    return await store.backlog()


async def given_up(store: DeadDeliveries, selection: Selection) -> list[DeadDelivery]:
    """The selected dead (or failed) deliveries, the latest first."""
    return await store.find(selection)


async def retry(store: DeadDeliveries, selection: Selection, *, dry_run: bool) -> RetryReport:
    """Make the selected dead deliveries due again, but for those that may not go out."""
    candidates = await store.retry_candidates(replace(selection, statuses=frozenset({Status.DEAD})))
    allowed: list[DeadDelivery] = []
    refused: list[tuple[DeadDelivery, Refusal]] = []
    for candidate in candidates:
        refusal = retry_refusal(candidate)
        if refusal is None:
            allowed.append(candidate.delivery)
        else:
            refused.append((candidate.delivery, refusal))
            log.info(
                "dead delivery not retried",
                delivery_id=candidate.delivery.id,
                channel=candidate.delivery.channel.value,
                refusal=refusal.value,
            )
    if dry_run or not allowed:
        return RetryReport(allowed, refused, [], dry_run)
    requeued, moved_on = _settled(
        allowed, await store.requeue([delivery.id for delivery in allowed]), "retried"
    )
    return RetryReport(requeued, refused, moved_on, dry_run)


async def discard(
    store: DeadDeliveries, selection: Selection, reason: str, *, dry_run: bool
) -> DiscardReport:
    """End the selected given-up deliveries as `discarded`, with the operator's reason."""
    chosen = await store.find(replace(selection, statuses=selection.statuses & GIVEN_UP))
    if dry_run or not chosen:
        return DiscardReport(chosen, [], dry_run)
    discarded, moved_on = _settled(
        chosen, await store.discard([delivery.id for delivery in chosen], reason), "discarded"
    )
    return DiscardReport(discarded, moved_on, dry_run)


def _settled(
    chosen: list[DeadDelivery], done_ids: Sequence[str], verb: str
) -> tuple[list[DeadDelivery], list[DeadDelivery]]:
    """`chosen` split into those the store changed (each logged, by id, channel and kind
    only) and those another hand moved on meanwhile."""
    done = set(done_ids)
    for delivery in chosen:
        if delivery.id in done:
            log.info(
                f"dead delivery {verb}",
                delivery_id=delivery.id,
                channel=delivery.channel.value,
                kind=delivery.kind.value,
            )
    return (
        [delivery for delivery in chosen if delivery.id in done],
        [delivery for delivery in chosen if delivery.id not in done],
    )
