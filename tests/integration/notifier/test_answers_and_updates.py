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
from koppel_testing.integration_notifier import NotifierFactory, Rows
from koppel_testing.integration_waiting import Wait
from koppel_testing.kafka_publishing import TopicWriter
from koppel_testing.kafka_reading import OpenReader
from koppel_testing.receivers import ReceivedHook, ReceivedMail, Receiver, SmtpSink

pytestmark = pytest.mark.integration


class MovableClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_an_update_goes_out_as_match_updated_and_a_gewijzigd_email(
    notifier: NotifierFactory,
    kafka_io: TopicWriter,
    smtp_sink: SmtpSink,
    receiver: Receiver,
    wait: Wait,
    unique_id: str,
) -> None:
    consultant, path = f"c-upd-{unique_id}", f"upd-{unique_id}"
    address = f"{consultant}@example.org"
    assignment = builders.assignment(f"a-upd-{unique_id}", title="Adviseur omgevingswet")
    changed = builders.assignment(
        f"a-upd-{unique_id}", title="Adviseur omgevingswet", hours_per_week={"min": 32, "max": 36}
    )
    async with notifier():
        await kafka_io.profile(
            receiver.subscriber(consultant, path, channels=["email", "webhook"], email=address)
        )
        await kafka_io.found(consultant, assignment)
        await wait(lambda: smtp_sink.handler.to(address), what="the found email")
        await wait(lambda: receiver.at(path), what="the found webhook")
        await kafka_io.updated(consultant, changed, [VisibleField.HOURS_PER_WEEK], revision=2)
        await wait(lambda: len(_mails(smtp_sink, address)) == 2, what="the update email")
        await wait(lambda: "match.updated" in _hooks(receiver, path), what="the update webhook")

    first, update = _mails(smtp_sink, address)
    assert first.message["Subject"] == "Nieuwe opdracht: Adviseur omgevingswet"
    assert update.message["Subject"] == "Gewijzigd: Adviseur omgevingswet (uren per week)"
    assert "32–36 uur per week" in update.part("text/plain")
    hooks = _hooks(receiver, path)
    assert set(hooks) == {"match.found", "match.updated"}
    found_hook, update_hook = hooks["match.found"], hooks["match.updated"]
    body = json.loads(update_hook.body)
    assert body["type"] == "match.updated"
    assert body["data"]["changed"] == ["hours_per_week"]
    assert body["data"]["assignment"]["hours_per_week"] == {"min": 32, "max": 36}
    assert update_hook.headers["webhook-id"] != found_hook.headers["webhook-id"]


async def test_a_withdrawal_is_emailed_to_an_interested_webhook_only_consultant_only(
    notifier: NotifierFactory,
    kafka_io: TopicWriter,
    smtp_sink: SmtpSink,
    receiver: Receiver,
    wait: Wait,
    rows: Rows,
    unique_id: str,
) -> None:
    keen, silent = f"c-keen-{unique_id}", f"c-silent-{unique_id}"
    assignment = builders.assignment(f"a-gone-{unique_id}", title="Woordvoerder crisiscommunicatie")
    async with notifier() as running:
        for consultant in (keen, silent):
            await kafka_io.profile(
                receiver.subscriber(
                    consultant,
                    consultant,
                    language="en" if consultant == keen else "nl",
                    email=f"{consultant}@example.org",
                )
            )
            await kafka_io.found(consultant, assignment)
            await wait(lambda c=consultant: receiver.at(c), what="the found webhook")
        await kafka_io.responded(keen, assignment, Answer.INTERESTED, datetime.now(UTC))
        await wait(lambda: _answer(running, keen), what="the answer stored")
        for consultant in (keen, silent):
            await kafka_io.withdrawn(consultant, assignment, WithdrawalReason.ASSIGNMENT_FILLED)
        await wait(lambda: smtp_sink.handler.to(f"{keen}@example.org"), what="the email")
        for consultant in (silent, keen):
            await wait(
                lambda c=consultant: "match.withdrawn" in _hooks(receiver, c),
                what="the withdrawal webhook",
            )
        silent_rows = await rows(running, silent)

    [email] = _mails(smtp_sink, f"{keen}@example.org")
    assert email.message["Subject"] == "No longer available: Woordvoerder crisiscommunicatie"
    assert "The assignment has been filled." in email.part("text/plain")
    assert "has been filled" in email.part("text/html")
    assert smtp_sink.handler.to(f"{silent}@example.org") == []
    assert {row["channel"] for row in silent_rows} == {"webhook"}


async def test_a_digest_carries_updates_and_withdrawals_in_sections(
    notifier: NotifierFactory,
    kafka_io: TopicWriter,
    smtp_sink: SmtpSink,
    wait: Wait,
    rows: Rows,
    unique_id: str,
) -> None:
    consultant = f"c-dig-{unique_id}"
    address = f"{consultant}@example.org"
    # 06:00 UTC on 10 March 2026 is 07:00 in Amsterdam: an hour before the digest.
    clock = MovableClock(datetime(2026, 3, 10, 6, 0, tzinfo=UTC))
    kept = builders.assignment(f"kept-{unique_id}", title="Strategisch adviseur omgevingswet")
    moved = builders.assignment(
        f"kept-{unique_id}", title="Strategisch adviseur omgevingswet", office_days_per_week=3
    )
    gone = builders.assignment(f"gone-{unique_id}", title="Campagnemaker energietransitie")
    async with notifier(
        NOTIFIER_DIGEST_HOUR="8", digest_clock=clock, digest_interval_s=0.1
    ) as running:
        await kafka_io.profile(
            builders.consultant(
                consultant,
                email=address,
                notification={"mode": "daily_digest", "channels": ["email"]},
            )
        )
        await kafka_io.found(consultant, kept)
        await kafka_io.found(consultant, gone)
        await wait(lambda: _kinds(running, rows, consultant, {("match.found", "queued"): 2}))
        clock.now += timedelta(hours=1)
        await wait(lambda: smtp_sink.handler.to(address), what="the first digest")
        await wait(lambda: _kinds(running, rows, consultant, {("match.found", "delivered"): 2}))
        await kafka_io.updated(consultant, moved, [VisibleField.OFFICE_DAYS_PER_WEEK])
        await kafka_io.withdrawn(consultant, gone, WithdrawalReason.ASSIGNMENT_WITHDRAWN)
        queued = {("match.updated", "queued"): 1, ("match.withdrawn", "queued"): 1}
        await wait(lambda: _kinds(running, rows, consultant, queued), what="both queued")
        clock.now += timedelta(days=1)
        await wait(lambda: len(_mails(smtp_sink, address)) == 2, what="the next digest")

    first, second = _mails(smtp_sink, address)
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
    notifier: NotifierFactory,
    reader: OpenReader,
    kafka_io: TopicWriter,
    wait: Wait,
    unique_id: str,
) -> None:
    consultant = f"c-ans-{unique_id}"
    assignment = builders.assignment(f"a-ans-{unique_id}")
    now = datetime.now(UTC)
    later, latest = now + timedelta(seconds=5), now + timedelta(seconds=10)
    letters = await reader(dlq(RESPONSES))
    async with notifier() as running:
        await kafka_io.profile(builders.consultant(consultant))
        answer = await kafka_io.responded(consultant, assignment, Answer.INTERESTED, now)
        await wait(lambda: _answer(running, consultant), what="the answer")
        await kafka_io.responded(consultant, assignment, Answer.NOT_INTERESTED, later)
        await kafka_io.responded(consultant, assignment, Answer.INTERESTED, now)  # a replay
        await kafka_io.raw(RESPONSES, answer.match_id.encode(), b'{"not": "an event"}')
        [letter] = await letters.wait_for(answer.match_id.encode())
        headers = dict(letter.headers)
        await wait(lambda: _consumed(running, "duplicate") == 1, what="the replay read")
        assert await _answer(running, consultant) == "not_interested"

        await kafka_io.response_withdrawn(consultant, assignment, later)
        await wait(lambda: _no_answer(running, consultant), what="the answer taken back")
        await kafka_io.responded(consultant, assignment, Answer.INTERESTED, latest)
        await wait(lambda: _answer(running, consultant), what="a new answer")
        await kafka_io.erase(consultant)
        await wait(lambda: _no_answer(running, consultant), what="the answers erased")
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
    running: Notifier, rows: Rows, consultant_id: str, wanted: dict[tuple[str, str], int]
) -> bool:
    """Whether the consultant's email rows include `wanted` (kind, status) counts."""
    found = [(row["kind"], row["status"]) for row in await rows(running, consultant_id)]
    return all(found.count(key) == count for key, count in wanted.items())


def _consumed(running: Notifier, result: str) -> float | None:
    value: float | None = running.metrics.registry.get_sample_value(
        "koppel_notifier_events_consumed_total", {"topic": RESPONSES, "result": result}
    )
    return value


def _hooks(receiver: Receiver, path: str) -> dict[str, ReceivedHook]:
    """The webhooks posted to `path` by type; a repeat (same `webhook-id`) counts once."""
    by_type: dict[str, ReceivedHook] = {}
    for hook in receiver.at(path):
        kind = json.loads(hook.body)["type"]
        assert by_type.setdefault(kind, hook).headers["webhook-id"] == hook.headers["webhook-id"]
    return by_type


def _mails(smtp_sink: SmtpSink, address: str) -> list[ReceivedMail]:
    """The emails to `address` in arrival order; a repeat (same Message-ID) counts once."""
    seen: dict[str, ReceivedMail] = {}
    for mail in smtp_sink.handler.to(address):
        seen.setdefault(mail.message_id, mail)
    return list(seen.values())
