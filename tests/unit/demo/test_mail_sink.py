"""The demo mail sink keeps every message as an .eml file and lists it on its inbox page."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from koppel_demo.mail_sink import MailSink, read_message
from koppel_demo.sandbox import free_port


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[MailSink]:
    server = MailSink(tmp_path / "mail", smtp_port=free_port(), web_port=0)
    server.start()
    yield server
    server.stop()


def _message() -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = "Nieuwe opdracht: Woordvoerder wethouder"
    message["From"] = "koppel@localhost"
    message["To"] = "anna.de.vries@example.nl"
    message.set_content("Platte tekst")
    message.add_alternative("<p>Een <b>passende</b> opdracht</p>", subtype="html")
    return message


def test_a_sent_message_is_stored_as_eml(sink: MailSink) -> None:
    with smtplib.SMTP("127.0.0.1", sink.smtp_port, timeout=10) as client:
        client.send_message(_message())

    (stored,) = sink.directory.glob("*.eml")
    message = read_message(stored)
    assert message["Subject"] == "Nieuwe opdracht: Woordvoerder wethouder"
    body = message.get_body(preferencelist=("html",))
    assert body is not None
    assert "passende" in body.get_content()


def test_the_inbox_lists_and_shows_the_message(sink: MailSink) -> None:
    with smtplib.SMTP("127.0.0.1", sink.smtp_port, timeout=10) as client:
        client.send_message(_message())
    (stored,) = sink.directory.glob("*.eml")
    base = f"http://127.0.0.1:{sink.web_port}"

    inbox = httpx.get(base + "/")
    page = httpx.get(f"{base}/message/{stored.name}")

    assert "Woordvoerder wethouder" in inbox.text
    assert "anna.de.vries@example.nl" in inbox.text
    assert "<b>passende</b>" in page.text
    assert httpx.get(f"{base}/message/../../etc/passwd").status_code == 404
