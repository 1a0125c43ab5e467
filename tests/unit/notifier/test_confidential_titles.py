"""A confidential assignment's own title never reaches a consultant, in any channel (8.6)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest

from koppel_notifier.adapters.email_renderer import EmailRenderer
from koppel_notifier.domain.model import Kind
from koppel_notifier.domain.webhook_body import webhook_body
from koppel_testing.email_links import email_links

RENDERER = EmailRenderer()
UNSUBSCRIBE = "https://koppel.example/v1/unsubscribe/tok"
SECRET_TITLE = "Gemeente Zeist zoekt woordvoerder"
BUILT = {
    "nl": "Senior adviseur burgerparticipatie bij een middelgrote gemeente in Utrecht",
    "en": "Senior citizen participation adviser at a medium-sized municipality in Utrecht",
}
MatchBuilder = Callable[..., dict[str, Any]]


def _confidential(make_match: MatchBuilder, **changes: Any) -> dict[str, Any]:
    return make_match(
        title=SECRET_TITLE,
        description="Na de brand in Zeist-West zoekt de gemeente Zeist een woordvoerder.",
        visibility="confidential",
        **changes,
    )


def _assert_hidden(*parts: str) -> None:
    for part in parts:
        assert "Zeist" not in part
        assert "zoekt woordvoerder" not in part


@pytest.mark.parametrize("language", ["nl", "en"])
def test_an_email_shows_the_built_title_in_the_consultants_language(
    language: str, make_match: MatchBuilder
) -> None:
    match = _confidential(make_match)
    email = RENDERER.instant(
        Kind.FOUND,
        language=language,
        name="Anouk",
        match=match,
        unsubscribe_url=UNSUBSCRIBE,
        links=email_links(match),
    )

    _assert_hidden(email.subject, email.text, email.html)
    assert email.subject.endswith(BUILT[language])
    assert BUILT[language] in email.text
    assert BUILT[language] in email.html


@pytest.mark.parametrize("language", ["nl", "en"])
def test_a_digest_shows_built_and_public_titles_only(
    language: str, make_match: MatchBuilder
) -> None:
    built = _confidential(make_match, id="a-1")
    given = _confidential(make_match, id="a-2", public_title="Woordvoerder na een calamiteit")

    email = RENDERER.digest(
        language=language,
        name="Anouk",
        matches=[built, given],
        day=date(2026, 3, 2),
        unsubscribe_url=UNSUBSCRIBE,
        links=email_links(built, given),
    )

    _assert_hidden(email.subject, email.text, email.html)
    assert BUILT[language] in email.subject
    for part in (email.text, email.html):
        assert BUILT[language] in part
        assert "Woordvoerder na een calamiteit" in part


@pytest.mark.parametrize("language", ["nl", "en"])
def test_a_webhook_body_carries_the_built_title_in_the_events_language(
    language: str, make_match: MatchBuilder
) -> None:
    payload = {**_confidential(make_match), "language": language}

    body = webhook_body(
        Kind.FOUND, datetime(2026, 3, 1, 9, tzinfo=UTC), payload, consultant_language="nl"
    )

    _assert_hidden(body.decode())
    document = json.loads(body)
    assert document["data"]["assignment"]["title"] == BUILT[language]
    assert document["data"]["assignment"]["title_is_built"] is True


def test_a_withdrawal_webhook_names_no_language_and_follows_the_consultant(
    make_match: MatchBuilder,
) -> None:
    summary = _confidential(make_match)["assignment"]
    withdrawn = {"match_id": "m-1", "consultant_id": "c-1", "assignment": summary}

    body = webhook_body(
        Kind.WITHDRAWN, datetime(2026, 3, 1, 9, tzinfo=UTC), withdrawn, consultant_language="en"
    )

    assert json.loads(body)["data"]["assignment"]["title"] == BUILT["en"]


def test_a_public_assignment_keeps_its_title_everywhere(make_match: MatchBuilder) -> None:
    payload = {**make_match(title=SECRET_TITLE), "language": "en"}

    email = RENDERER.instant(
        Kind.FOUND,
        language="en",
        name="Sam",
        match=payload,
        unsubscribe_url=UNSUBSCRIBE,
        links=email_links(payload),
    )
    body = webhook_body(
        Kind.FOUND, datetime(2026, 3, 1, 9, tzinfo=UTC), payload, consultant_language="en"
    )

    assert email.subject == f"New assignment: {SECRET_TITLE}"
    assert json.loads(body)["data"]["assignment"]["title"] == SECRET_TITLE
