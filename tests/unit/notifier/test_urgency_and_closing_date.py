"""Urgent matches (contract §8.5) and the closing date in every notification that has one:
routing past the digest, email subject and text, webhook body, digest and page."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest

from koppel.contract import MatchWithdrawn
from koppel.vocabulary import WithdrawalReason
from koppel_notifier.adapters.email_renderer import EmailRenderer, RenderedEmail
from koppel_notifier.adapters.page_renderer import PageRenderer
from koppel_notifier.domain.answers import CurrentMatch
from koppel_notifier.domain.commands import MatchEvent
from koppel_notifier.domain.model import ChannelName, Kind, MatchNotice, Status
from koppel_notifier.domain.routing import plan_found, plan_updated, plan_withdrawn
from koppel_notifier.domain.webhook_body import webhook_body
from koppel_testing.email_links import email_links
from koppel_testing.notifier_inbox import T0, FakeInbox, contact, handled, planned, profile

MatchBuilder = Callable[..., dict[str, Any]]
RENDERER = EmailRenderer()
PAGE = PageRenderer()
UNSUBSCRIBE = "https://koppel.example/v1/unsubscribe/tok"
CLOSES_AT = "2026-02-20T17:00:00+01:00"
DIGEST = contact(digest=True)


def notice(kind: Kind = Kind.FOUND, *, urgent: bool) -> MatchNotice:
    return MatchNotice("e-1", "m-1", "c-1", kind, 1, 0.8, {"match_id": "m-1", "urgent": urgent})


def email(kind: Kind, language: str, match: dict[str, Any]) -> RenderedEmail:
    """The email about one match of `kind`, as the composer asks the renderer for it."""
    return RENDERER.instant(
        kind,
        language=language,
        name="Anouk",
        match=match,
        unsubscribe_url=UNSUBSCRIBE,
        links=email_links(match),
    )


def withdrawal_of(found: dict[str, Any]) -> dict[str, Any]:
    withdrawn = MatchWithdrawn.model_validate(
        {
            "match_id": found["match_id"],
            "consultant_id": found["consultant_id"],
            "assignment_id": found["assignment"]["id"],
            "assignment": found["assignment"],
            "reason": WithdrawalReason.ASSIGNMENT_FILLED,
        }
    )
    return withdrawn.model_dump(mode="json", exclude_none=True)


# ---------------------------------------------------------------- routing


def test_an_urgent_match_reaches_a_digest_consultant_at_once() -> None:
    assert {(p.channel, p.status) for p in plan_found(DIGEST, notice(urgent=True))} == {
        (ChannelName.EMAIL, Status.PENDING),
        (ChannelName.WEBHOOK, Status.PENDING),
    }
    assert {(p.channel, p.status) for p in plan_found(DIGEST, notice(urgent=False))} == {
        (ChannelName.EMAIL, Status.QUEUED),
        (ChannelName.WEBHOOK, Status.PENDING),
    }


def test_an_urgent_update_goes_out_at_once_and_a_withdrawal_still_waits_for_the_digest() -> None:
    told = {ChannelName.EMAIL}
    updates = plan_updated(DIGEST, notice(Kind.UPDATED, urgent=True), told)
    assert (ChannelName.EMAIL, Kind.UPDATED, Status.PENDING) in {
        (p.channel, p.kind, p.status) for p in updates
    }
    calm = plan_updated(DIGEST, notice(Kind.UPDATED, urgent=False), told)
    assert (ChannelName.EMAIL, Kind.UPDATED, Status.QUEUED) in {
        (p.channel, p.kind, p.status) for p in calm
    }
    withdrawals = plan_withdrawn(DIGEST, told, interested=False)
    assert [(p.channel, p.status) for p in withdrawals] == [(ChannelName.EMAIL, Status.QUEUED)]


def test_only_an_announcement_can_be_urgent() -> None:
    assert notice(urgent=True).urgent
    assert not notice(urgent=False).urgent
    assert not replace(notice(urgent=True), payload={"match_id": "m-1"}).urgent
    assert not notice(Kind.WITHDRAWN, urgent=True).urgent


async def test_the_inbox_plans_an_urgent_match_of_a_digest_consultant_for_now() -> None:
    fake = FakeInbox()
    await handled(fake, profile(digest=True), MatchEvent(notice(urgent=True), T0))
    assert planned(fake) == {
        "match.found|m-1|1|email": "pending",
        "match.found|m-1|1|webhook": "pending",
    }


# ---------------------------------------------------------------- email


@pytest.mark.parametrize(
    ("language", "subject", "line"),
    [
        (
            "nl",
            "[Snelle start] Nieuwe opdracht: Senior communicatieadviseur participatie",
            "Snelle start: deze opdracht begint binnen 3 weken.",
        ),
        (
            "en",
            "[Fast start] New assignment: Senior communicatieadviseur participatie",
            "Fast start: this assignment begins within 3 weeks.",
        ),
    ],
)
def test_an_urgent_match_says_so_in_the_subject_and_at_the_top(
    make_match: MatchBuilder, language: str, subject: str, line: str
) -> None:
    rendered = email(Kind.FOUND, language, {**make_match(), "urgent": True})
    assert rendered.subject == subject
    title_line, marked = rendered.text.split("\n\n")[2].splitlines()[:2]
    assert title_line == "Senior communicatieadviseur participatie"
    assert marked.strip() == line
    assert f"<strong>{line}</strong>" in rendered.html


def test_an_urgent_update_is_marked_and_a_calm_match_is_not(make_match: MatchBuilder) -> None:
    update = {**make_match(), "urgent": True, "changed": ["start_date"]}
    assert email(Kind.UPDATED, "nl", update).subject.startswith("[Snelle start] Gewijzigd: ")
    calm = email(Kind.FOUND, "nl", make_match())
    assert calm.subject.startswith("Nieuwe opdracht: ")
    assert "Snelle start" not in calm.text + calm.html


@pytest.mark.parametrize(
    ("language", "text_line", "html_cell"),
    [
        (
            "nl",
            "  Reageren tot:   20 februari 2026\n",
            "Reageren tot</td><td>20 februari 2026</td>",
        ),
        ("en", "  Respond by:     20 February 2026\n", "Respond by</td><td>20 February 2026</td>"),
    ],
)
def test_found_and_updated_emails_show_the_closing_date(
    make_match: MatchBuilder, language: str, text_line: str, html_cell: str
) -> None:
    match = make_match(closes_at=CLOSES_AT)
    for rendered in (
        email(Kind.FOUND, language, match),
        email(Kind.UPDATED, language, {**match, "changed": ["closes_at"]}),
    ):
        assert text_line in rendered.text
        assert html_cell in rendered.html


def test_the_closing_date_is_the_amsterdam_day(make_match: MatchBuilder) -> None:
    # 23:30 UTC on 19 February is already the 20th in Amsterdam.
    rendered = email(Kind.FOUND, "nl", make_match(closes_at="2026-02-19T23:30:00+00:00"))
    assert "Reageren tot:   20 februari 2026" in rendered.text


def test_an_assignment_closing_at_midnight_was_open_through_the_day_before(
    make_match: MatchBuilder,
) -> None:
    rendered = email(Kind.FOUND, "nl", make_match(closes_at="2026-03-01T00:00:00+01:00"))
    assert "Reageren tot:   28 februari 2026" in rendered.text


def test_without_a_closing_date_no_line_says_one(make_match: MatchBuilder) -> None:
    rendered = email(Kind.FOUND, "nl", make_match())
    assert "Reageren tot" not in rendered.text + rendered.html


@pytest.mark.parametrize(
    ("language", "text_line", "html_cell"),
    [
        ("nl", "  Sluitingsdatum: 20 februari 2026\n", "Sluitingsdatum</td><td>20 februari 2026"),
        ("en", "  Closing date:   20 February 2026\n", "Closing date</td><td>20 February 2026"),
    ],
)
def test_a_withdrawal_email_shows_the_closing_date(
    make_match: MatchBuilder, language: str, text_line: str, html_cell: str
) -> None:
    rendered = email(Kind.WITHDRAWN, language, withdrawal_of(make_match(closes_at=CLOSES_AT)))
    assert text_line in rendered.text
    assert html_cell in rendered.html
    assert not rendered.subject.startswith("[")


def test_digest_entries_show_their_closing_date(make_match: MatchBuilder) -> None:
    found = make_match(closes_at=CLOSES_AT)
    later = make_match(closes_at="2026-02-27T17:00:00+01:00", title="Woordvoerder")
    gone = withdrawal_of(make_match(closes_at="2026-02-25T17:00:00+01:00", title="Vervallen"))
    rendered = RENDERER.digest(
        language="nl",
        name="Anouk",
        matches=[found],
        updated=[{**later, "changed": ["closes_at"]}],
        withdrawn=[gone],
        day=date(2026, 2, 2),
        unsubscribe_url=UNSUBSCRIBE,
        links=email_links(found, later),
    )
    assert "Reageren tot:   20 februari 2026" in rendered.text
    assert "Reageren tot:   27 februari 2026" in rendered.text
    assert "Sluitingsdatum: 25 februari 2026" in rendered.text
    assert rendered.html.count("Reageren tot</td>") == 2


# ---------------------------------------------------------------- webhook and page


def test_the_webhook_body_carries_urgent_and_the_closing_moment(make_match: MatchBuilder) -> None:
    payload = {**make_match(closes_at=CLOSES_AT), "urgent": True}
    occurred = datetime(2026, 2, 2, 9, tzinfo=UTC)
    body = webhook_body(Kind.FOUND, occurred, payload, consultant_language="nl")
    data = json.loads(body)["data"]
    assert data["urgent"] is True
    assert datetime.fromisoformat(data["assignment"]["closes_at"]) == datetime.fromisoformat(
        CLOSES_AT
    )
    calm = json.loads(webhook_body(Kind.FOUND, occurred, make_match(), consultant_language="nl"))
    assert calm["data"]["urgent"] is False


@pytest.mark.parametrize(
    ("language", "line", "closes"),
    [
        ("nl", "Snelle start: deze opdracht begint binnen 3 weken.", "20 februari 2026"),
        ("en", "Fast start: this assignment begins within 3 weeks.", "20 February 2026"),
    ],
)
def test_the_page_marks_an_urgent_match_and_shows_its_closing_date(
    make_match: MatchBuilder, language: str, line: str, closes: str
) -> None:
    urgent = {**make_match(closes_at=CLOSES_AT), "urgent": True}
    calm = make_match(title="Woordvoerder")
    matches = [
        CurrentMatch(payload["match_id"], payload["assignment"]["id"], payload, T0, None)
        for payload in (urgent, calm)
    ]
    actions = {"answer": "/a", "take_back": "/t", "unsubscribe": "/u"}
    html = PAGE.matches(language=language, matches=matches, actions=actions, notice=None)
    assert html.count(f'<p class="urgent"><strong>{line}</strong></p>') == 1
    assert f"</dt><dd>{closes}</dd>" in html
