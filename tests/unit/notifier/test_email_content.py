"""Email wording in both languages, confidential masking, escaping and MIME headers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest

from koppel_notifier.adapters.email_renderer import EmailRenderer
from koppel_notifier.adapters.email_sender import build_message, message_id
from koppel_notifier.domain.model import Kind
from koppel_testing.email_links import email_links

RENDERER = EmailRenderer()
UNSUBSCRIBE = "https://koppel.example/v1/unsubscribe/tok"


def test_dutch_email_reads_as_a_dutch_consultant_expects(found_payload: dict[str, Any]) -> None:
    email = RENDERER.instant(
        Kind.FOUND,
        language="nl",
        name="Anouk",
        match=found_payload,
        unsubscribe_url=UNSUBSCRIBE,
        links=email_links(found_payload),
    )
    assert email.subject == "Nieuwe opdracht: Senior communicatieadviseur participatie"
    for fragment in [
        "Beste Anouk,",
        "Organisatie:    Gemeente Zeist\n",
        "Soort:          projectopdracht\n",
        "Niveau:         senior\n",
        "Zo is deze match beoordeeld:",
        "28–32 uur per week",
        "2 maart 2026",
        "6 maanden",
        "2 dagen per week op kantoor",
        "Zeist, Utrecht",
        "burgerparticipatie, online communicatie",
        "87%",
        "- Niveau past precies",
        UNSUBSCRIBE,
    ]:
        assert fragment in email.text
    assert "<li>Niveau past precies</li>" in email.html
    assert f'href="{UNSUBSCRIBE}"' in email.html


def test_english_email(found_payload: dict[str, Any]) -> None:
    email = RENDERER.instant(
        Kind.FOUND,
        language="en",
        name="Sam",
        match=found_payload,
        unsubscribe_url=UNSUBSCRIBE,
        links=email_links(found_payload),
    )
    assert email.subject == "New assignment: Senior communicatieadviseur participatie"
    for fragment in [
        "Dear Sam,",
        "Type:           project assignment\n",
        "Level:          senior\n",
        "28–32 hours a week",
        "2 March 2026",
        "6 months",
        "87%",
        "How this match was scored:",
    ]:
        assert fragment in email.text
    assert "level level" not in email.text
    assert "Unsubscribe" in email.html


@pytest.mark.parametrize("language", ["nl", "en"])
def test_confidential_assignments_never_name_the_organisation(
    language: str, confidential_payload: dict[str, Any]
) -> None:
    # The summary already drops the name; the template must not find another way to show it.
    assert confidential_payload["assignment"]["organization"]["name"] is None
    email = RENDERER.instant(
        Kind.FOUND,
        language=language,
        name="Anouk",
        match=confidential_payload,
        unsubscribe_url=UNSUBSCRIBE,
        links=email_links(confidential_payload),
    )
    for part in (email.subject, email.text, email.html):
        assert "Zeist" not in part
    expected = (
        "een middelgrote gemeente in Utrecht (vertrouwelijk)"
        if language == "nl"
        else "a medium-sized municipality in Utrecht (confidential)"
    )
    assert expected in email.text


def test_a_name_leaking_into_a_confidential_payload_is_still_masked(
    make_match: Callable[..., dict[str, Any]],
) -> None:
    payload = make_match(visibility="confidential")
    payload["assignment"]["organization"]["name"] = "Gemeente Zeist"
    email = RENDERER.instant(
        Kind.FOUND,
        language="nl",
        name="Anouk",
        match=payload,
        unsubscribe_url=UNSUBSCRIBE,
        links=email_links(payload),
    )
    assert "Gemeente Zeist" not in email.text + email.html


def test_html_is_escaped_but_text_is_not(make_match: Callable[..., dict[str, Any]]) -> None:
    payload = make_match(title="Adviseur <script>alert(1)</script> & co")
    email = RENDERER.instant(
        Kind.FOUND,
        language="nl",
        name="<b>Anouk</b>",
        match=payload,
        unsubscribe_url=UNSUBSCRIBE,
        links=email_links(payload),
    )
    assert "<script>" not in email.html
    assert "&lt;script&gt;" in email.html
    assert "&lt;b&gt;Anouk&lt;/b&gt;" in email.html
    assert "Beste <b>Anouk</b>," in email.text


def test_digest_lists_every_match(make_match: Callable[..., dict[str, Any]]) -> None:
    first = make_match(score=0.9)
    second = make_match(score=0.7, title="Woordvoerder crisiscommunicatie")
    email = RENDERER.digest(
        language="nl",
        name="Anouk",
        matches=[first, second],
        day=date(2026, 3, 2),
        unsubscribe_url=UNSUBSCRIBE,
        links=email_links(first, second),
    )
    assert email.subject.startswith("Je opdrachten van vandaag (2): ")
    assert "Woordvoerder crisiscommunicatie" in email.text
    assert "90%" in email.text
    assert "70%" in email.text
    assert "2 maart 2026" in email.text


def test_message_structure_and_headers(found_payload: dict[str, Any]) -> None:
    content = RENDERER.instant(
        Kind.FOUND,
        language="nl",
        name="Anouk",
        match=found_payload,
        unsubscribe_url=UNSUBSCRIBE,
        links=email_links(found_payload),
    )
    built = build_message(
        content,
        sender="Koppel <opdrachten@koppel.example>",
        to_name="Anouk de Vries",
        to_address="anouk@example.nl",
        delivery_id="d-123",
        unsubscribe_url=UNSUBSCRIBE,
        now=datetime(2026, 3, 2, 9, tzinfo=UTC),
    )
    parsed = message_from_bytes(built.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in parsed.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
    assert parsed["Message-ID"] == "<d-123@koppel.example>"
    assert parsed["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["To"] == "Anouk de Vries <anouk@example.nl>"


def test_message_id_is_stable_per_delivery() -> None:
    assert message_id("d-1", "opdrachten@koppel.example") == "<d-1@koppel.example>"
    assert message_id("d-1", "no-domain") == "<d-1@koppel.local>"


@pytest.mark.parametrize(
    ("name", "kind", "shown"),
    [
        ("Gemeente Zeist", "municipality", "Gemeente Zeist"),
        ("Provincie Utrecht", "province", "Provincie Utrecht"),
        (
            "Hoogheemraadschap van Delfland",
            "water_board",
            "Hoogheemraadschap van Delfland (waterschap)",
        ),
    ],
)
def test_the_organisation_type_is_not_repeated_after_a_name_that_says_it(
    found_payload: dict[str, Any], name: str, kind: str, shown: str
) -> None:
    assignment = found_payload["assignment"]
    organization = {**assignment["organization"], "name": name, "type": kind}
    match = {**found_payload, "assignment": {**assignment, "organization": organization}}
    email = RENDERER.instant(
        Kind.FOUND,
        language="nl",
        name="Anouk",
        match=match,
        unsubscribe_url=UNSUBSCRIBE,
        links=email_links(match),
    )
    assert f"Organisatie:    {shown}\n" in email.text


def test_an_update_names_what_changed_in_the_consultants_language(
    found_payload: dict[str, Any],
) -> None:
    changed = {**found_payload, "changed": ["start_date", "max_hourly_rate_eur"]}
    dutch = RENDERER.instant(
        Kind.UPDATED,
        language="nl",
        name="Anouk",
        match=changed,
        unsubscribe_url=UNSUBSCRIBE,
        links=email_links(changed),
    )
    english = RENDERER.instant(
        Kind.UPDATED,
        language="en",
        name="Anouk",
        match=changed,
        unsubscribe_url=UNSUBSCRIBE,
        links=email_links(changed),
    )
    title = "Senior communicatieadviseur participatie"
    assert dutch.subject == f"Gewijzigd: {title} (startdatum, tarief)"
    assert english.subject == f"Updated: {title} (start date, rate)"
    assert "is gewijzigd: startdatum, tarief" in dutch.text
    assert "<strong>start date, rate</strong>" in english.html
    assert "Organisation:   Gemeente Zeist" in english.text  # the shared _match partial
