from __future__ import annotations

from dataclasses import replace

from koppel_notifier.domain.model import ChannelName, Contact, Kind, MatchNotice, Status
from koppel_notifier.domain.routing import plan_found, plan_updated, plan_withdrawn
from koppel_testing import WEBHOOK_SECRET

CONTACT = Contact(
    consultant_id="c-1",
    name="Anouk de Vries",
    email="anouk@example.nl",
    language="nl",
    channels=frozenset({ChannelName.EMAIL, ChannelName.WEBHOOK}),
    digest=False,
    min_score=0.6,
    webhook_url="https://hooks.example.nl/koppel",
    webhook_secret=WEBHOOK_SECRET,
    reachable=True,
)


def notice(score: float | None = 0.8, kind: Kind = Kind.FOUND) -> MatchNotice:
    return MatchNotice("e-1", "m-1", "c-1", kind, 1, score, {})


def test_a_good_match_goes_out_on_every_channel_at_once() -> None:
    planned = plan_found(CONTACT, notice())
    assert [(p.channel, p.status) for p in planned] == [
        (ChannelName.EMAIL, Status.PENDING),
        (ChannelName.WEBHOOK, Status.PENDING),
    ]


def test_below_min_score_nothing_is_sent() -> None:
    assert plan_found(CONTACT, notice(0.59)) == []
    assert plan_found(CONTACT, notice(0.6)) != []


def test_digest_mode_queues_email_but_not_webhooks() -> None:
    planned = plan_found(replace(CONTACT, digest=True), notice())
    assert {(p.channel, p.status) for p in planned} == {
        (ChannelName.EMAIL, Status.QUEUED),
        (ChannelName.WEBHOOK, Status.PENDING),
    }


def test_blocked_channels_are_skipped() -> None:
    for contact, left in [
        (replace(CONTACT, email_blocked=True), {ChannelName.WEBHOOK}),
        (replace(CONTACT, webhook_disabled=True), {ChannelName.EMAIL}),
        (replace(CONTACT, channels=frozenset({ChannelName.EMAIL})), {ChannelName.EMAIL}),
        (replace(CONTACT, reachable=False), set()),
        (replace(CONTACT, erased=True), set()),
    ]:
        assert {p.channel for p in plan_found(contact, notice())} == left


def test_withdrawal_is_announced_only_by_webhook_and_only_if_the_match_was() -> None:
    told = {ChannelName.EMAIL, ChannelName.WEBHOOK}
    planned = plan_withdrawn(CONTACT, told, interested=False)
    assert [(p.channel, p.kind) for p in planned] == [(ChannelName.WEBHOOK, Kind.WITHDRAWN)]
    assert plan_withdrawn(CONTACT, {ChannelName.EMAIL}, interested=False) == []
    assert plan_withdrawn(replace(CONTACT, webhook_disabled=True), told, interested=False) == []


def test_an_interested_consultant_is_told_of_a_withdrawal_by_email_whatever_the_channels() -> None:
    webhook_only = replace(CONTACT, channels=frozenset({ChannelName.WEBHOOK}))
    for contact in (CONTACT, webhook_only, replace(webhook_only, digest=True)):
        planned = plan_withdrawn(contact, {ChannelName.WEBHOOK}, interested=True)
        assert [(p.channel, p.kind, p.status) for p in planned] == [
            (ChannelName.WEBHOOK, Kind.WITHDRAWN, Status.PENDING),
            (ChannelName.EMAIL, Kind.WITHDRAWN, Status.PENDING),
        ]
    for unreachable in (
        replace(webhook_only, email_blocked=True),
        replace(webhook_only, email=None),
        replace(webhook_only, reachable=False),
    ):
        assert plan_withdrawn(unreachable, set(), interested=True) == []


def test_a_digest_consultant_told_by_email_gets_the_withdrawal_in_the_digest() -> None:
    digest = replace(CONTACT, digest=True)
    planned = plan_withdrawn(digest, {ChannelName.EMAIL}, interested=False)
    assert [(p.channel, p.status) for p in planned] == [(ChannelName.EMAIL, Status.QUEUED)]
    assert plan_withdrawn(digest, set(), interested=False) == []
    assert plan_withdrawn(digest, {ChannelName.EMAIL}, interested=True) == planned


def test_an_update_follows_the_announcement_and_is_new_where_there_was_none() -> None:
    update = notice(0.4, Kind.UPDATED)
    planned = plan_updated(CONTACT, update, {ChannelName.WEBHOOK})
    assert [(p.channel, p.kind) for p in planned] == [(ChannelName.WEBHOOK, Kind.UPDATED)]
    planned = plan_updated(CONTACT, notice(0.8, Kind.UPDATED), {ChannelName.WEBHOOK})
    assert [(p.channel, p.kind) for p in planned] == [
        (ChannelName.EMAIL, Kind.FOUND),
        (ChannelName.WEBHOOK, Kind.UPDATED),
    ]
    digest = replace(CONTACT, digest=True)
    [email, _] = plan_updated(digest, update, {ChannelName.EMAIL, ChannelName.WEBHOOK})
    assert (email.kind, email.status) == (Kind.UPDATED, Status.QUEUED)
    assert plan_updated(replace(CONTACT, reachable=False), update, {ChannelName.EMAIL}) == []


def test_dedupe_keys_differ_by_revision_channel_and_kind() -> None:
    first = plan_found(CONTACT, notice())
    keys = {p.dedupe_key(notice()) for p in first}
    keys |= {p.dedupe_key(replace(notice(), revision=2)) for p in first}
    told = {ChannelName.EMAIL, ChannelName.WEBHOOK}
    updates = plan_updated(CONTACT, replace(notice(kind=Kind.UPDATED), revision=2), told)
    keys |= {p.dedupe_key(replace(notice(), revision=2)) for p in updates}
    assert len(keys) == 6
