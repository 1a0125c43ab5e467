"""The consultant's page and the answer links in emails: wording, masking, escaping, labels."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest

from koppel.vocabulary import Answer, DeclineReason
from koppel_notifier.adapters.email_renderer import EmailRenderer
from koppel_notifier.adapters.page_renderer import PageRenderer
from koppel_notifier.domain.answers import CurrentMatch, GivenAnswer
from koppel_notifier.domain.model import Kind
from koppel_testing.email_links import PAGE_URL, email_links

MatchBuilder = Callable[..., dict[str, Any]]
PAGE = PageRenderer()
ACTIONS = {
    "answer": "https://koppel.example/m/tok/answer",
    "take_back": "https://koppel.example/m/tok/take-back",
    "unsubscribe": "https://koppel.example/v1/unsubscribe/unsub",
}
SEEN = datetime(2026, 3, 1, 8, tzinfo=UTC)


def current(payload: dict[str, Any], answer: GivenAnswer | None = None) -> CurrentMatch:
    return CurrentMatch(payload["match_id"], payload["assignment"]["id"], payload, SEEN, answer)


def test_the_dutch_page_lists_a_match_with_its_answer_forms(make_match: MatchBuilder) -> None:
    payload = make_match(closes_at="2026-02-20T17:00:00+01:00")

    html = PAGE.matches(language="nl", matches=[current(payload)], actions=ACTIONS, notice=None)

    assert '<html lang="nl">' in html
    for fragment in (
        "Je matches",
        "Senior communicatieadviseur participatie",
        "Gemeente Zeist",
        "Match 87%",
        "2 maart 2026",
        "Reageren kan tot</dt><dd>20 februari 2026",
        "Niveau past precies",
        ">Interessant</button>",
        ">Niet interessant</button>",
        f'action="{ACTIONS["answer"]}"',
        f'href="{ACTIONS["unsubscribe"]}"',
        'maxlength="500"',
    ):
        assert fragment in html, fragment
    assert "<script" not in html
    _assert_every_field_is_labelled(html)


def test_the_english_page_speaks_english(make_match: MatchBuilder) -> None:
    html = PAGE.matches(
        language="en", matches=[current(make_match())], actions=ACTIONS, notice=None
    )

    assert '<html lang="en">' in html
    for fragment in ("Your matches", ">Interested</button>", ">Not interested</button>"):
        assert fragment in html


def test_an_answered_match_shows_the_answer_escaped_and_can_be_taken_back(
    make_match: MatchBuilder,
) -> None:
    given = GivenAnswer(Answer.NOT_INTERESTED, DeclineReason.HOURS, "<b>te veel</b>", SEEN)

    html = PAGE.matches(
        language="nl", matches=[current(make_match(), given)], actions=ACTIONS, notice="answered"
    )

    assert "Je antwoord: Niet interessant" in html
    assert "Reden: Aantal uren" in html
    assert "&lt;b&gt;te veel&lt;/b&gt;" in html
    assert "<b>te veel" not in html
    assert f'action="{ACTIONS["take_back"]}"' in html
    assert "Dank je, je antwoord is opgeslagen." in html


@pytest.mark.parametrize("language", ["nl", "en"])
def test_a_confidential_assignment_is_masked_as_in_the_emails(
    language: str, make_match: MatchBuilder
) -> None:
    payload = make_match(visibility="confidential")
    email = EmailRenderer().instant(
        Kind.FOUND,
        language=language,
        name="Anouk",
        match=payload,
        unsubscribe_url="https://koppel.example/u",
        links=email_links(payload),
    )

    html = PAGE.matches(language=language, matches=[current(payload)], actions=ACTIONS, notice=None)

    assert "Zeist" not in html
    shown_title = email.subject.split(": ", 1)[1]
    assert f">{shown_title}</h2>" in html


def test_a_link_we_cannot_read_says_so_in_both_languages() -> None:
    html = PAGE.message("invalid", language=None)

    assert '<html lang="nl">' in html
    assert "Deze link is niet geldig" in html
    assert '<h2 lang="en">This link is not valid</h2>' in html


def test_the_confirmation_page_of_a_decline_link_posts_a_reason(make_match: MatchBuilder) -> None:
    html = PAGE.confirm(
        language="nl",
        match=current(make_match()),
        answer=Answer.NOT_INTERESTED,
        action="https://koppel.example/a/tok",
        page_url=PAGE_URL,
    )

    assert '<form method="post" action="https://koppel.example/a/tok">' in html
    assert 'name="reason"' in html
    assert "Niet interessant doorgeven" in html
    _assert_every_field_is_labelled(html)


@pytest.mark.parametrize("language", ["nl", "en"])
def test_every_match_email_links_to_the_answers_and_the_page(
    language: str, make_match: MatchBuilder
) -> None:
    first, second = make_match(), make_match(id="a-2")
    second["match_id"] = "m-2"
    renderer = EmailRenderer()
    found = renderer.instant(
        Kind.FOUND,
        language=language,
        name="Anouk",
        match=first,
        unsubscribe_url="https://koppel.example/u",
        links=email_links(first),
    )
    digest = renderer.digest(
        language=language,
        name="Anouk",
        matches=[first, second],
        day=date(2026, 3, 2),
        unsubscribe_url="https://koppel.example/u",
        links=email_links(first, second),
    )

    for part in (found.text, found.html, digest.text, digest.html):
        assert PAGE_URL in part
        assert f"https://koppel.example/a/i-{first['match_id']}" in part
        assert f"https://koppel.example/a/n-{first['match_id']}" in part
    for part in (digest.text, digest.html):
        assert "https://koppel.example/a/n-m-2" in part


def _assert_every_field_is_labelled(html: str) -> None:
    fields = re.findall(r'<(?:select|textarea) id="([^"]+)"', html)
    assert fields
    for field_id in fields:
        assert f'<label for="{field_id}">' in html
