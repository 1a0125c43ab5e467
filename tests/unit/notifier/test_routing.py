from __future__ import annotations

from dataclasses import replace

from koppel_notifier.domain.model import ChannelName, Contact, Kind, MatchNotice, Status
from koppel_notifier.domain.routing import plan_found, plan_withdrawn
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
    planned = plan_withdrawn(CONTACT, told)
    assert [(p.channel, p.kind) for p in planned] == [(ChannelName.WEBHOOK, Kind.WITHDRAWN)]
    assert plan_withdrawn(CONTACT, {ChannelName.EMAIL}) == []
    assert plan_withdrawn(replace(CONTACT, webhook_disabled=True), told) == []


def test_dedupe_keys_differ_by_revision_channel_and_kind() -> None:
    first = plan_found(CONTACT, notice())
    keys = {p.dedupe_key(notice()) for p in first}
    keys |= {p.dedupe_key(replace(notice(), revision=2)) for p in first}
    assert len(keys) == 4
