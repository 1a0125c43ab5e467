"""The consultant's page and the answer links, through a real notifier, email and broker.

The browser walk-through is in `test_page_in_browser.py`; here plain HTTP checks what a
link does and does not do: a GET never answers, a POST answers once and is published on
koppel.responses.v1, and a token shows only its own consultant's matches.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from koppel.contract.response import MatchResponded, MatchResponseWithdrawn
from koppel.topics import RESPONSES
from koppel.vocabulary import Answer, AnswerVia
from koppel_notifier.adapters.link_tokens import VALID_FOR, LinkTokens
from koppel_notifier.adapters.response_store import ResponseStore
from koppel_notifier.bootstrap import Notifier
from koppel_testing import builders
from koppel_testing.email_links import link
from koppel_testing.integration_notifier import NotifierFactory, NotifierRig
from koppel_testing.kafka_reading import OpenReader

pytestmark = pytest.mark.integration


@asynccontextmanager
async def web_client(running: Notifier) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=running.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://notifier.test") as web:
        yield web


async def stored_answer(running: Notifier, match_id: str) -> dict[str, Any] | None:
    row = await running.pool.fetchrow(
        "SELECT response, reason, note, via FROM notifier_responses WHERE match_id = $1", match_id
    )
    return None if row is None else dict(row)


async def test_an_email_link_answers_only_through_its_confirmation_page(
    rig: NotifierRig, reader: OpenReader
) -> None:
    who = rig.named("page")
    topic = await reader(RESPONSES)
    async with rig.notifier() as running:
        await rig.subscribe_by_email(who)
        match_id = await rig.kafka.found(who.id, rig.assignment())
        await rig.arrived(who, "email")
        # A send that timed out on a loaded machine may arrive twice, with one Message-ID.
        mails = rig.mails(who)
        assert len({mail.message_id for mail in mails}) == 1
        mail = mails[0]
        text, html = mail.part("text/plain"), mail.part("text/html")
        decline, page = link(text, "Niet interessant"), link(text, "Al je matches")
        assert decline.startswith("http://notifier.test/a/")
        assert f'href="{decline}"' in html

        async with web_client(running) as web:
            confirmation = await web.get(decline)
            assert confirmation.status_code == 200
            assert "Niet interessant doorgeven" in confirmation.text
            assert await stored_answer(running, match_id) is None  # a GET answers nothing

            posted = await web.post(decline, data={"reason": "hours", "note": "Liever 24 uur"})
            assert posted.status_code == 303
            assert posted.headers["location"].endswith("?done=answered")
            shown = await web.get(posted.headers["location"])
            assert "Je antwoord: Niet interessant" in shown.text
            assert "Reden: Aantal uren" in shown.text
            assert "Liever 24 uur" in shown.text
            assert await stored_answer(running, match_id) == {
                "response": "not_interested",
                "reason": "hours",
                "note": "Liever 24 uur",
                "via": "email_link",
            }

            taken = await web.post(f"{page}/take-back", data={"match_id": match_id})
            assert taken.status_code == 303
            assert taken.headers["location"] == f"{page}?done=taken_back"
            assert await stored_answer(running, match_id) is None
            assert "Je antwoord" not in (await web.get(page)).text

        responded, withdrawn = await topic.events(match_id.encode(), count=2)
    assert responded.type == "nl.koppel.match.responded"
    assert responded.source == "/koppel/notifier"
    assert responded.data["consultant_id"] == who.id
    assert responded.data["response"] == "not_interested"
    assert responded.data["via"] == "email_link"
    assert withdrawn.type == "nl.koppel.match.response_withdrawn"
    assert withdrawn.data["via"] == "page"


async def test_a_token_shows_and_answers_only_its_own_consultants_matches(
    rig: NotifierRig,
) -> None:
    mine, theirs = rig.named("mine"), rig.named("theirs")
    async with rig.notifier() as running:
        for who, title in ((mine, "Woordvoerder Zeist"), (theirs, "Adviseur Baarn")):
            await rig.subscribe_by_email(who)
            await rig.kafka.found(who.id, builders.assignment(f"a-{who.id}", title=title))
        for who in (mine, theirs):
            await rig.arrived(who, "email")
        text = rig.mails(mine)[0].part("text/plain")
        page = link(text, "Al je matches")
        token = page.rsplit("/", 1)[1]
        secret = running.settings.unsubscribe_key()
        past = datetime.now(UTC) - VALID_FOR - timedelta(minutes=1)
        expired = LinkTokens(secret, clock=lambda: past).page(mine.id)
        forged = token[:-3] + ("xyz" if not token.endswith("xyz") else "abc")

        async with web_client(running) as web:
            own = await web.get(page)
            assert own.status_code == 200
            assert "Woordvoerder Zeist" in own.text
            assert "Adviseur Baarn" not in own.text
            for url, status, words in (
                (f"http://notifier.test/m/{forged}", 403, "niet geldig"),
                (f"http://notifier.test/m/{expired}", 410, "verlopen"),
                (f"http://notifier.test/a/{forged}", 403, "niet geldig"),
            ):
                refused = await web.get(url)
                assert refused.status_code == status
                assert words in refused.text
                assert "Woordvoerder" not in refused.text

            their_match_id = await running.pool.fetchval(
                "SELECT match_id FROM notifier_match_events WHERE consultant_id = $1", theirs.id
            )
            assert their_match_id is not None
            posted = await web.post(
                f"{page}/answer", data={"match_id": their_match_id, "response": "interested"}
            )
            assert posted.headers["location"].endswith("?done=closed")
            assert await stored_answer(running, their_match_id) is None

            too_long = await web.post(
                f"{page}/answer",
                data={"match_id": their_match_id, "response": "not_interested", "note": "x" * 501},
            )
            assert too_long.status_code == 400
            assert "note" in too_long.text


async def test_an_answer_read_back_after_its_withdrawal_does_not_return(
    notifier: NotifierFactory,
) -> None:
    """The page stores an answer and its withdrawal at once; the answer's event, read back
    from the topic afterwards, must not bring it back."""
    answered_at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    answer = MatchResponded(
        match_id="m-echo",
        consultant_id="c-echo",
        assignment_id="a-echo",
        response=Answer.NOT_INTERESTED,
        responded_at=answered_at,
        via=AnswerVia.PAGE,
    )
    withdrawal = MatchResponseWithdrawn(
        match_id="m-echo",
        consultant_id="c-echo",
        assignment_id="a-echo",
        withdrawn_at=answered_at + timedelta(minutes=1),
        via=AnswerVia.PAGE,
    )
    async with notifier() as running:
        responses = ResponseStore(running.pool)
        assert await responses.record(answer)
        assert await responses.withdraw(withdrawal)

        assert not await responses.record(answer)  # the echo from koppel.responses.v1
        assert await responses.answer_for("m-echo") is None

        later = answer.model_copy(update={"responded_at": withdrawal.withdrawn_at + timedelta(1)})
        assert await responses.record(later)  # a new answer after the withdrawal counts
        assert await responses.answer_for("m-echo") == later
