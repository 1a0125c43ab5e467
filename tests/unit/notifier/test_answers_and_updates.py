"""Answers, updates and withdrawals through the inbox use cases, against the in-memory inbox:
who is told what, on which channel, under which key."""

from __future__ import annotations

from datetime import timedelta

from koppel.vocabulary import Answer, VisibleField
from koppel_notifier.domain.commands import ConsultantErased
from koppel_notifier.domain.model import ChannelName
from koppel_testing.notifier_inbox import (
    T0,
    FakeInbox,
    answered,
    found,
    handled,
    planned,
    profile,
    taken_back,
    updated,
    withdrawn,
)

WEBHOOK_ONLY = frozenset({ChannelName.WEBHOOK})


def sent(fake: FakeInbox, *keys: str) -> None:
    """Mark the deliveries under `keys` as gone out."""
    for key in keys:
        fake.tables.deliveries[key].status = "delivered"


# ---------------------------------------------------------------- answers


async def test_the_latest_answer_wins_and_a_replay_or_an_older_one_changes_nothing() -> None:
    fake = FakeInbox()
    later = T0 + timedelta(minutes=10)
    results = await handled(
        fake,
        answered(at=T0),
        answered(response=Answer.NOT_INTERESTED, at=later),
        answered(response=Answer.NOT_INTERESTED, at=later),
        answered(at=T0 + timedelta(minutes=5)),
    )
    assert results == ["applied", "applied", "duplicate", "duplicate"]
    assert fake.tables.answers["m-1"].response is Answer.NOT_INTERESTED


async def test_an_answer_taken_back_is_forgotten_unless_it_was_given_after() -> None:
    fake = FakeInbox()
    assert await handled(fake, answered(at=T0), taken_back(at=T0 + timedelta(minutes=1))) == [
        "applied",
        "applied",
    ]
    assert fake.tables.answers == {}
    await handled(fake, answered(at=T0 + timedelta(minutes=2)))
    assert await handled(fake, taken_back(at=T0 + timedelta(minutes=1))) == ["duplicate"]
    assert "m-1" in fake.tables.answers


async def test_erasure_deletes_the_answers_and_a_late_answer_is_stale() -> None:
    fake = FakeInbox()
    erased_at = T0 + timedelta(hours=1)
    await handled(fake, profile(), answered(), ConsultantErased("c-1", erased_at))
    assert fake.tables.answers == {}
    assert await handled(fake, answered(at=erased_at - timedelta(minutes=1))) == ["stale"]
    assert fake.tables.answers == {}


# ---------------------------------------------------------------- updates


async def test_an_update_of_an_announced_match_is_its_own_notification_per_channel() -> None:
    fake = FakeInbox()
    await handled(fake, profile(), found())
    sent(fake, "match.found|m-1|1|email", "match.found|m-1|1|webhook")
    assert await handled(fake, updated(revision=2)) == ["applied"]
    assert planned(fake) == {
        "match.found|m-1|1|email": "delivered",
        "match.found|m-1|1|webhook": "delivered",
        "match.updated|m-1|2|email": "pending",
        "match.updated|m-1|2|webhook": "pending",
    }
    assert await handled(fake, updated(revision=2)) == ["duplicate"]


async def test_an_update_is_announced_even_when_its_score_fell_below_min_score() -> None:
    fake = FakeInbox()
    await handled(fake, profile(channels=WEBHOOK_ONLY), found())
    sent(fake, "match.found|m-1|1|webhook")
    await handled(fake, updated(score=0.4))
    assert planned(fake)["match.updated|m-1|2|webhook"] == "pending"


async def test_an_update_of_a_match_not_yet_sent_replaces_it_as_new_with_the_new_terms() -> None:
    fake = FakeInbox()
    await handled(fake, profile(), found())
    sent(fake, "match.found|m-1|1|webhook")
    await handled(fake, updated(changed=(VisibleField.START_DATE,)))
    assert planned(fake) == {
        "match.found|m-1|1|email": "cancelled",
        "match.found|m-1|1|webhook": "delivered",
        "match.found|m-1|2|email": "pending",
        "match.updated|m-1|2|webhook": "pending",
    }
    assert "changed" not in fake.tables.deliveries["match.found|m-1|2|email"].payload
    assert fake.tables.deliveries["match.updated|m-1|2|webhook"].payload["changed"] == [
        "start_date"
    ]


async def test_an_update_of_a_pair_answered_not_interested_announces_nothing() -> None:
    fake = FakeInbox()
    await handled(fake, profile(), found())
    sent(fake, "match.found|m-1|1|email", "match.found|m-1|1|webhook")
    await handled(fake, answered(response=Answer.NOT_INTERESTED), updated(revision=2))
    assert not any(key.startswith("match.updated") for key in planned(fake))
    await handled(fake, taken_back(), updated(revision=3, at=T0 + timedelta(minutes=4)))
    assert planned(fake)["match.updated|m-1|3|webhook"] == "pending"


async def test_a_digest_consultant_gets_the_update_in_the_next_digest() -> None:
    fake = FakeInbox()
    await handled(fake, profile(digest=True), found())
    sent(fake, "match.found|m-1|1|email", "match.found|m-1|1|webhook")
    await handled(fake, updated())
    assert planned(fake)["match.updated|m-1|2|email"] == "queued"
    assert planned(fake)["match.updated|m-1|2|webhook"] == "pending"


# ---------------------------------------------------------------- withdrawals


async def test_an_interested_webhook_only_consultant_is_told_of_the_withdrawal_by_email() -> None:
    fake = FakeInbox()
    await handled(fake, profile(channels=WEBHOOK_ONLY), found(), answered())
    sent(fake, "match.found|m-1|1|webhook")
    fake.tables.events["m-1|match.found|1"].notice.payload["assignment"] = {"id": "a-1"}
    await handled(fake, withdrawn())
    assert planned(fake) == {
        "match.found|m-1|1|webhook": "delivered",
        "match.withdrawn|m-1|1|webhook": "pending",
        "match.withdrawn|m-1|1|email": "pending",
    }
    email = fake.tables.deliveries["match.withdrawn|m-1|1|email"]
    assert email.payload["assignment"] == {"id": "a-1"}
    assert "assignment" not in fake.tables.deliveries["match.withdrawn|m-1|1|webhook"].payload


async def test_a_withdrawal_without_an_interested_answer_sends_no_email_as_before() -> None:
    for answer in (None, Answer.NOT_INTERESTED):
        fake = FakeInbox()
        await handled(fake, profile(), found())
        sent(fake, "match.found|m-1|1|email", "match.found|m-1|1|webhook")
        if answer is not None:
            await handled(fake, answered(response=answer))
        await handled(fake, withdrawn())
        assert "match.withdrawn|m-1|1|email" not in planned(fake)
        assert planned(fake)["match.withdrawn|m-1|1|webhook"] == "pending"


async def test_no_withdrawal_email_after_unsubscribing_or_taking_the_answer_back() -> None:
    for blocked, changes in ((True, ()), (False, (taken_back(),))):
        fake = FakeInbox()
        await handled(fake, profile(email_blocked=blocked), found(), answered(), *changes)
        sent(fake, "match.found|m-1|1|webhook")
        await handled(fake, withdrawn())
        assert "match.withdrawn|m-1|1|email" not in planned(fake)


async def test_a_digest_consultant_sees_the_withdrawal_of_a_match_they_were_told_about() -> None:
    fake = FakeInbox()
    await handled(fake, profile(digest=True, channels=frozenset({ChannelName.EMAIL})), found())
    sent(fake, "match.found|m-1|1|email")
    await handled(fake, found("m-2"), withdrawn(), withdrawn("m-2"))
    assert planned(fake) == {
        "match.found|m-1|1|email": "delivered",
        "match.withdrawn|m-1|1|email": "queued",
        "match.found|m-2|1|email": "cancelled",
    }


async def test_an_interested_digest_consultant_without_email_channel_is_told_at_once() -> None:
    fake = FakeInbox()
    await handled(fake, profile(digest=True, channels=WEBHOOK_ONLY), found(), answered())
    await handled(fake, withdrawn())
    assert planned(fake)["match.withdrawn|m-1|1|email"] == "pending"


async def test_a_profile_change_keeps_the_withdrawal_email_of_an_interested_consultant() -> None:
    fake = FakeInbox()
    await handled(fake, profile(channels=WEBHOOK_ONLY), found(), answered())
    sent(fake, "match.found|m-1|1|webhook")
    await handled(fake, withdrawn(), profile(channels=WEBHOOK_ONLY, name="Anouk de Vries-Bos"))
    assert planned(fake)["match.withdrawn|m-1|1|email"] == "pending"
    await handled(fake, profile(channels=WEBHOOK_ONLY, email_blocked=True))
    assert planned(fake)["match.withdrawn|m-1|1|email"] == "cancelled"
