"""The operator's commands on deliveries given up on, against an in-memory store: what each
selects, what a retry refuses, what changes and what is logged."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest
from structlog.testing import capture_logs

from koppel_notifier.domain.dead_deliveries import (
    BacklogCount,
    DeadDelivery,
    Refusal,
    RetryCandidate,
    Selection,
)
from koppel_notifier.domain.model import ChannelName, Contact, Kind, Status
from koppel_notifier.entrypoints import deliveries_command
from koppel_notifier.service_layer.dead_deliveries import backlog, discard, given_up, retry
from koppel_testing.notifier_inbox import contact

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


@dataclass
class Row:
    """A delivery row as the fake keeps it, with what a retry reads next to it."""

    delivery: DeadDelivery
    contact: Contact | None
    unsubscribed: bool = False
    superseded: bool = False
    reason: str | None = None


@dataclass
class InMemoryDeadDeliveries:
    """`DeadDeliveries` over a dict; `sent_meanwhile` rows are delivered just before a
    requeue or discard runs, as a sender finishing at that moment would leave them."""

    rows: dict[str, Row] = field(default_factory=dict)
    sent_meanwhile: set[str] = field(default_factory=set)

    def add(self, row: Row) -> None:
        self.rows[row.delivery.id] = row

    def status(self, delivery_id: str) -> Status:
        return self.rows[delivery_id].delivery.status

    def _selected(self, selection: Selection) -> list[Row]:
        chosen = [
            row
            for row in self.rows.values()
            if row.delivery.status in selection.statuses
            and (not selection.ids or row.delivery.id in selection.ids)
            and selection.consultant_id in (None, row.delivery.consultant_id)
            and selection.channel in (None, row.delivery.channel)
            and (
                selection.since is None
                or (
                    row.delivery.given_up_at is not None
                    and row.delivery.given_up_at >= selection.since
                )
            )
        ]
        chosen.sort(key=lambda row: row.delivery.id)
        chosen.sort(key=lambda row: row.delivery.given_up_at or NOW, reverse=True)
        return chosen[: selection.limit]

    async def backlog(self) -> list[BacklogCount]:
        counted = Counter((row.delivery.channel, row.delivery.status) for row in self.rows.values())
        return [
            BacklogCount(channel, status, n) for (channel, status), n in sorted(counted.items())
        ]

    async def find(self, selection: Selection) -> list[DeadDelivery]:
        return [row.delivery for row in self._selected(selection)]

    async def retry_candidates(self, selection: Selection) -> list[RetryCandidate]:
        return [
            RetryCandidate(row.delivery, row.contact, row.unsubscribed, row.superseded)
            for row in self._selected(selection)
        ]

    def _finish_meanwhile(self) -> None:
        for delivery_id in self.sent_meanwhile:
            row = self.rows[delivery_id]
            row.delivery = replace(row.delivery, status=Status.DELIVERED)

    async def requeue(self, ids: Sequence[str]) -> list[str]:
        self._finish_meanwhile()
        done = [i for i in ids if self.status(i) is Status.DEAD]
        for delivery_id in done:
            row = self.rows[delivery_id]
            row.delivery = replace(
                row.delivery, status=Status.PENDING, attempts=0, given_up_at=None
            )
        return done

    async def discard(self, ids: Sequence[str], reason: str) -> list[str]:
        self._finish_meanwhile()
        done = [i for i in ids if self.status(i) in {Status.DEAD, Status.FAILED}]
        for delivery_id in done:
            row = self.rows[delivery_id]
            row.delivery = replace(row.delivery, status=Status.DISCARDED)
            row.reason = reason
        return done


def dead(
    number: int,
    *,
    consultant_id: str = "c-1",
    channel: ChannelName = ChannelName.WEBHOOK,
    kind: Kind = Kind.FOUND,
    status: Status = Status.DEAD,
    hours_ago: float = 1.0,
) -> DeadDelivery:
    return DeadDelivery(
        id=f"00000000-0000-0000-0000-{number:012d}",
        consultant_id=consultant_id,
        channel=channel,
        kind=kind,
        status=status,
        attempts=4,
        error="webhook_http_500",
        given_up_at=NOW - timedelta(hours=hours_ago),
    )


def store_of(*rows: Row) -> InMemoryDeadDeliveries:
    store = InMemoryDeadDeliveries()
    for row in rows:
        store.add(row)
    return store


async def test_list_shows_dead_ones_latest_first_and_failed_ones_only_when_asked() -> None:
    older, newer = dead(1, hours_ago=5), dead(2, hours_ago=1)
    failed = dead(3, status=Status.FAILED)
    delivered = dead(4, status=Status.DELIVERED)
    store = store_of(*(Row(d, contact()) for d in (older, newer, failed, delivered)))

    assert await given_up(store, Selection()) == [newer, older]
    both = Selection(statuses=frozenset({Status.DEAD, Status.FAILED}))
    assert {d.id for d in await given_up(store, both)} == {older.id, newer.id, failed.id}


async def test_list_filters_narrow_by_consultant_channel_since_and_limit() -> None:
    mine = dead(1, consultant_id="c-7", hours_ago=2)
    email = dead(2, consultant_id="c-7", channel=ChannelName.EMAIL, hours_ago=3)
    old = dead(3, consultant_id="c-7", hours_ago=48)
    other = dead(4, consultant_id="c-8")
    store = store_of(*(Row(d, contact(d.consultant_id)) for d in (mine, email, old, other)))

    assert await given_up(store, Selection(consultant_id="c-7", channel=ChannelName.WEBHOOK)) == [
        mine,
        old,
    ]
    since = Selection(consultant_id="c-7", since=NOW - timedelta(days=1))
    assert await given_up(store, since) == [mine, email]
    assert await given_up(store, Selection(limit=2)) == [other, mine]


async def test_retry_requeues_the_allowed_and_refuses_and_says_why_for_the_rest() -> None:
    fine = dead(1, consultant_id="c-ok")
    erased = dead(2, consultant_id="c-gone")
    unsubscribed = dead(3, consultant_id="c-unsub", channel=ChannelName.EMAIL)
    superseded = dead(4, consultant_id="c-later")
    closed = dead(5, consultant_id="c-closed")
    store = store_of(
        Row(fine, contact("c-ok")),
        Row(erased, None),
        Row(unsubscribed, contact("c-unsub", email_blocked=True), unsubscribed=True),
        Row(superseded, contact("c-later"), superseded=True),
        Row(closed, contact("c-closed", channels=frozenset({ChannelName.EMAIL}))),
    )

    with capture_logs() as logs:
        report = await retry(store, Selection(), dry_run=False)

    assert report.requeued == [fine]
    assert {d.id: refusal for d, refusal in report.refused} == {
        erased.id: Refusal.ERASED,
        unsubscribed.id: Refusal.UNSUBSCRIBED,
        superseded.id: Refusal.SUPERSEDED,
        closed.id: Refusal.CHANNEL_CLOSED,
    }
    assert store.status(fine.id) is Status.PENDING
    assert store.rows[fine.id].delivery.attempts == 0
    assert {store.status(d.id) for d, _ in report.refused} == {Status.DEAD}
    retried = [entry for entry in logs if entry["event"] == "dead delivery retried"]
    assert [entry["delivery_id"] for entry in retried] == [fine.id]
    refused = [entry for entry in logs if entry["event"] == "dead delivery not retried"]
    assert len(refused) == 4


async def test_a_bounced_address_is_a_closed_channel_not_an_unsubscribe() -> None:
    bounced = dead(1, channel=ChannelName.EMAIL)
    store = store_of(Row(bounced, contact(email_blocked=True)))

    report = await retry(store, Selection(), dry_run=False)

    assert report.refused == [(bounced, Refusal.CHANNEL_CLOSED)]


async def test_a_dry_run_counts_what_would_be_retried_and_changes_nothing() -> None:
    first, second = dead(1), dead(2)
    store = store_of(Row(first, contact()), Row(second, contact()))

    with capture_logs() as logs:
        report = await retry(store, Selection(), dry_run=True)

    assert report.dry_run
    assert len(report.requeued) == 2
    assert {store.status(d.id) for d in (first, second)} == {Status.DEAD}
    assert not [entry for entry in logs if entry["event"] == "dead delivery retried"]


async def test_retry_never_touches_a_delivered_one_even_when_named() -> None:
    delivered = dead(1, status=Status.DELIVERED)
    store = store_of(Row(delivered, contact()))

    report = await retry(store, Selection(ids=(delivered.id,)), dry_run=False)

    assert (report.requeued, report.refused, report.moved_on) == ([], [], [])
    assert store.status(delivered.id) is Status.DELIVERED


async def test_one_sent_while_the_retry_decided_is_left_as_it_is() -> None:
    racing, other = dead(1), dead(2)
    store = store_of(Row(racing, contact()), Row(other, contact()))
    store.sent_meanwhile.add(racing.id)

    report = await retry(store, Selection(), dry_run=False)

    assert report.requeued == [other]
    assert report.moved_on == [racing]
    assert store.status(racing.id) is Status.DELIVERED


async def test_discard_ends_them_with_the_reason_and_they_leave_the_list() -> None:
    chosen, kept = dead(1, consultant_id="c-1"), dead(2, consultant_id="c-2")
    store = store_of(Row(chosen, contact("c-1")), Row(kept, contact("c-2")))

    with capture_logs() as logs:
        report = await discard(
            store, Selection(consultant_id="c-1"), "receiver retired", dry_run=False
        )

    assert report.discarded == [chosen]
    assert store.status(chosen.id) is Status.DISCARDED
    assert store.rows[chosen.id].reason == "receiver retired"
    assert await given_up(store, Selection()) == [kept]
    assert (await retry(store, Selection(ids=(chosen.id,)), dry_run=False)).requeued == []
    [logged] = [entry for entry in logs if entry["event"] == "dead delivery discarded"]
    assert logged["delivery_id"] == chosen.id
    assert "receiver retired" not in repr(logs)


async def test_the_backlog_counts_each_channel_and_status_after_a_retry_and_a_discard() -> None:
    store = store_of(
        Row(dead(1), contact()),
        Row(dead(2), contact()),
        Row(dead(3, channel=ChannelName.EMAIL), contact()),
        Row(dead(4, status=Status.DELIVERED), contact()),
    )
    await retry(store, Selection(ids=(dead(1).id,)), dry_run=False)
    await discard(store, Selection(channel=ChannelName.EMAIL), "gone", dry_run=False)

    assert await backlog(store) == [
        BacklogCount(ChannelName.EMAIL, Status.DISCARDED, 1),
        BacklogCount(ChannelName.WEBHOOK, Status.DEAD, 1),
        BacklogCount(ChannelName.WEBHOOK, Status.DELIVERED, 1),
        BacklogCount(ChannelName.WEBHOOK, Status.PENDING, 1),
    ]


async def test_discard_takes_failed_ones_only_when_selected_and_a_dry_run_keeps_them() -> None:
    failed = dead(1, status=Status.FAILED)
    store = store_of(Row(failed, contact()))

    assert (await discard(store, Selection(), "gone", dry_run=False)).discarded == []
    both = Selection(statuses=frozenset({Status.DEAD, Status.FAILED}))
    assert (await discard(store, both, "gone", dry_run=True)).discarded == [failed]
    assert store.status(failed.id) is Status.FAILED
    assert (await discard(store, both, "gone", dry_run=False)).discarded == [failed]
    assert store.status(failed.id) is Status.DISCARDED


async def test_no_log_line_names_how_to_reach_the_consultant() -> None:
    person = contact("c-1", email_blocked=True)
    store = store_of(
        Row(dead(1), person),
        Row(dead(2, channel=ChannelName.EMAIL), person, unsubscribed=True),
    )

    with capture_logs() as logs:
        await retry(store, Selection(), dry_run=False)
        await discard(store, Selection(), "done", dry_run=False)

    logged = repr(logs)
    assert len(logs) == 3
    for personal in (person.email, person.webhook_url, person.name):
        assert personal is not None
        assert personal not in logged


@pytest.mark.parametrize(
    "argv",
    [
        ["retry"],
        ["retry", "--all", "00000000-0000-0000-0000-000000000001"],
        ["discard", "--all"],
        ["discard", "--all", "--reason", "two\nlines"],
        ["discard", "--all", "--reason", " "],
        ["retry", "not-an-id"],
        ["list", "--since", "yesterday"],
        ["list", "--limit", "0"],
        ["list", "--channel", "sms"],
    ],
)
def test_a_command_given_wrongly_exits_2_before_touching_the_database(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        deliveries_command.main(argv)
    assert exited.value.code == 2
