"""Answers, updates and withdrawals through a real notifier: Kafka in, PostgreSQL, the SMTP
sink and the webhook receiver out (DOMAIN.md 8.1, 8.3)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from koppel.topics import RESPONSES, dlq
from koppel.vocabulary import Answer, VisibleField, WithdrawalReason
from koppel_notifier.bootstrap import Notifier
from koppel_testing import builders
from koppel_testing.integration_notifier import (
    AN_HOUR_BEFORE_THE_DIGEST,
    MovableClock,
    NotifierRig,
    Subscriber,
)
from koppel_testing.kafka_reading import OpenReader
from koppel_testing.receivers import ReceivedHook, ReceivedMail

pytestmark = pytest.mark.integration


async def test_an_update_goes_out_as_match_updated_and_a_gewijzigd_email(
    rig: NotifierRig,
) -> None:
    who = rig.named("upd")
    assignment = rig.assignment("a-upd", title="Adviseur omgevingswet")
    changed = rig.assignment(
        "a-upd", title="Adviseur omgevingswet", hours_per_week={"min": 32, "max": 36}
    )
    async with rig.notifier():
        await rig.subscribe(who, channels=["email", "webhook"])
        await rig.kafka.found(who.id, assignment)
        await rig.arrived(who, "email", "webhook")
        await rig.kafka.updated(who.id, changed, [VisibleField.HOURS_PER_WEEK], revision=2)
        await rig.wait(lambda: len(_mails(rig, who.address)) == 2, what="the update email")
        await rig.wait(lambda: "match.updated" in _hooks(rig, who.path), what="the update webhook")

    first, update = _mails(rig, who.address)
    assert first.message["Subject"] == "Nieuwe opdracht: Adviseur omgevingswet"
    assert update.message["Subject"] == "Gewijzigd: Adviseur omgevingswet (uren per week)"
    assert "32–36 uur per week" in update.part("text/plain")
    hooks = _hooks(rig, who.path)
    assert set(hooks) == {"match.found", "match.updated"}
    found_hook, update_hook = hooks["match.found"], hooks["match.updated"]
    body = json.loads(update_hook.body)
    assert body["type"] == "match.updated"
    assert body["data"]["changed"] == ["hours_per_week"]
    assert body["data"]["assignment"]["hours_per_week"] == {"min": 32, "max": 36}
    assert update_hook.headers["webhook-id"] != found_hook.headers["webhook-id"]


async def test_a_withdrawal_is_emailed_to_an_interested_webhook_only_consultant_only(
    rig: NotifierRig,
) -> None:
    keen, silent = rig.named("keen"), rig.named("silent")
    assignment = rig.assignment("a-gone", title="Woordvoerder crisiscommunicatie")
    async with rig.notifier() as running:
        for who in (keen, silent):
            await rig.subscribe(who, language="en" if who == keen else "nl")
            await rig.kafka.found(who.id, assignment)
            await rig.wait(lambda w=who: rig.hooks(w), what="the found webhook")
        await rig.kafka.responded(keen.id, assignment.id, Answer.INTERESTED, datetime.now(UTC))
        await rig.wait(lambda: _answer(running, keen.id), what="the answer stored")
        for who in (keen, silent):
            await rig.kafka.withdrawn(who.id, assignment, WithdrawalReason.ASSIGNMENT_FILLED)
        await rig.wait(lambda: rig.mails(keen), what="the email")
        for who in (silent, keen):
            await rig.wait(
                lambda w=who: "match.withdrawn" in _hooks(rig, w.path),
                what="the withdrawal webhook",
            )
        silent_rows = await rig.rows(running, silent.id)

    [email] = _mails(rig, keen.address)
    assert email.message["Subject"] == "No longer available: Woordvoerder crisiscommunicatie"
    assert "The assignment has been filled." in email.part("text/plain")
    assert "has been filled" in email.part("text/html")
    assert rig.mails(silent) == []
    assert {row["channel"] for row in silent_rows} == {"webhook"}


async def test_a_digest_carries_updates_and_withdrawals_in_sections(rig: NotifierRig) -> None:
    who = rig.named("dig")
    clock = MovableClock(AN_HOUR_BEFORE_THE_DIGEST)
    kept = rig.assignment("kept", title="Strategisch adviseur omgevingswet")
    moved = rig.assignment(
        "kept", title="Strategisch adviseur omgevingswet", office_days_per_week=3
    )
    gone = rig.assignment("gone", title="Campagnemaker energietransitie")
    async with rig.notifier(
        NOTIFIER_DIGEST_HOUR="8", digest_clock=clock, digest_interval_s=0.1
    ) as running:
        await rig.kafka.profile(
            builders.consultant(
                who.id,
                email=who.address,
                notification={"mode": "daily_digest", "channels": ["email"]},
            )
        )
        await rig.kafka.found(who.id, kept)
        await rig.kafka.found(who.id, gone)
        await rig.wait(lambda: _kinds(rig, running, who, {("match.found", "queued"): 2}))
        clock.now += timedelta(hours=1)
        await rig.wait(lambda: rig.mails(who), what="the first digest")
        await rig.wait(lambda: _kinds(rig, running, who, {("match.found", "delivered"): 2}))
        await rig.kafka.updated(who.id, moved, [VisibleField.OFFICE_DAYS_PER_WEEK])
        await rig.kafka.withdrawn(who.id, gone, WithdrawalReason.ASSIGNMENT_WITHDRAWN)
        queued = {("match.updated", "queued"): 1, ("match.withdrawn", "queued"): 1}
        await rig.wait(lambda: _kinds(rig, running, who, queued), what="both queued")
        clock.now += timedelta(days=1)
        await rig.wait(lambda: len(_mails(rig, who.address)) == 2, what="the next digest")

    first, second = _mails(rig, who.address)
    assert "Campagnemaker energietransitie" in first.part("text/plain")
    text = second.part("text/plain")
    assert second.message["Subject"].strip().startswith("Je opdrachten van vandaag (2): ")
    assert "Dit zijn de opdrachten" not in text
    assert text.index("Gewijzigd (1)") < text.index("Strategisch adviseur omgevingswet")
    assert "Gewijzigd: kantoordagen" in text
    assert "3 dagen per week op kantoor" in text
    assert text.index("Vervallen (1)") < text.index("Campagnemaker energietransitie")
    assert "De opdrachtgever heeft de opdracht ingetrokken." in text
    assert "Vervallen (1)" in second.part("text/html")


async def test_answers_are_recorded_taken_back_erased_and_bad_ones_dead_lettered(
    rig: NotifierRig, reader: OpenReader
) -> None:
    consultant = rig.named("ans").id
    assignment = rig.assignment("a-ans")
    now = datetime.now(UTC)
    later, latest = now + timedelta(seconds=5), now + timedelta(seconds=10)
    letters = await reader(dlq(RESPONSES))
    async with rig.notifier() as running:
        await rig.kafka.profile(builders.consultant(consultant))
        answer = await rig.kafka.responded(consultant, assignment.id, Answer.INTERESTED, now)
        await rig.wait(lambda: _answer(running, consultant), what="the answer")
        await rig.kafka.responded(consultant, assignment.id, Answer.NOT_INTERESTED, later)
        await rig.kafka.responded(consultant, assignment.id, Answer.INTERESTED, now)  # a replay
        await rig.kafka.raw(RESPONSES, answer.match_id.encode(), b'{"not": "an event"}')
        [letter] = await letters.wait_for(answer.match_id.encode())
        headers = dict(letter.headers)
        await rig.wait(lambda: _consumed(running, "duplicate") == 1, what="the replay read")
        assert await _answer(running, consultant) == "not_interested"

        await rig.kafka.response_withdrawn(consultant, assignment.id, later)
        await rig.wait(lambda: _no_answer(running, consultant), what="the answer taken back")
        await rig.kafka.responded(consultant, assignment.id, Answer.INTERESTED, latest)
        await rig.wait(lambda: _answer(running, consultant), what="a new answer")
        await rig.kafka.erase(consultant)
        await rig.wait(lambda: _no_answer(running, consultant), what="the answers erased")
    assert headers["koppel-error-code"] == b"invalid_envelope"
    assert headers["koppel-error-reason"]
    assert headers["koppel-error-source-topic"] == RESPONSES.encode()


async def _answer(running: Notifier, consultant_id: str) -> str | None:
    value: str | None = await running.pool.fetchval(
        "SELECT response FROM notifier_responses WHERE consultant_id = $1", consultant_id
    )
    return value


async def _no_answer(running: Notifier, consultant_id: str) -> bool:
    return await _answer(running, consultant_id) is None


async def _kinds(
    rig: NotifierRig, running: Notifier, who: Subscriber, wanted: dict[tuple[str, str], int]
) -> bool:
    """Whether the consultant's email rows include `wanted` (kind, status) counts."""
    found = [(row["kind"], row["status"]) for row in await rig.rows(running, who.id)]
    return all(found.count(key) == count for key, count in wanted.items())


def _consumed(running: Notifier, result: str) -> float | None:
    value: float | None = running.metrics.registry.get_sample_value(
        "koppel_notifier_events_consumed_total", {"topic": RESPONSES, "result": result}
    )
    return value


def _hooks(rig: NotifierRig, path: str) -> dict[str, ReceivedHook]:
    """The webhooks posted to `path` by type; a repeat (same `webhook-id`) counts once."""
    by_type: dict[str, ReceivedHook] = {}
    for hook in rig.receiver.at(path):
        kind = json.loads(hook.body)["type"]
        assert by_type.setdefault(kind, hook).headers["webhook-id"] == hook.headers["webhook-id"]
    return by_type


def _mails(rig: NotifierRig, address: str) -> list[ReceivedMail]:
    """The emails to `address` in arrival order; a repeat (same Message-ID) counts once."""
    seen: dict[str, ReceivedMail] = {}
    for mail in rig.smtp.handler.to(address):
        seen.setdefault(mail.message_id, mail)
    return list(seen.values())
