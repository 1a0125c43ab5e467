"""A confidential assignment's title and description never reach a consultant (DOMAIN.md 8.6).

The match events are built as the matcher builds them (`AssignmentSummary.of`, the
consultant's language on the event); a real SMTP sink and a real webhook receiver get what
the notifier sends.
"""

from __future__ import annotations

import pytest
from standardwebhooks import Webhook

from koppel.cloudevents import encode, new_event
from koppel.event_types import EventType, Source
from koppel.topics import MATCHES
from koppel.vocabulary import Language
from koppel_testing import WEBHOOK_SECRET as SECRET
from koppel_testing import builders
from koppel_testing.integration_notifier import NotifierRig

pytestmark = pytest.mark.integration

SECRET_TITLE = "Gemeente Zeist zoekt woordvoerder"
BUILT = {
    "nl": "Senior adviseur burgerparticipatie bij een middelgrote gemeente in Utrecht",
    "en": "Senior citizen participation adviser at a medium-sized municipality in Utrecht",
}


def _hidden(*parts: str) -> bool:
    return all("Zeist" not in part and SECRET_TITLE not in part for part in parts)


@pytest.mark.parametrize("language", ["nl", "en"])
async def test_email_and_webhook_show_only_the_built_title(language: str, rig: NotifierRig) -> None:
    who = rig.named(f"title-{language}")
    confidential = rig.assignment(
        "a-title",
        title=SECRET_TITLE,
        description="Na de brand in Zeist-West zoekt de gemeente Zeist een woordvoerder.",
        visibility="confidential",
    )
    found = builders.match_found(
        who.id,
        confidential,
        reasons=["Opdracht op jouw niveau: senior"],
        language=Language(language),
    )
    event = new_event(EventType.MATCH_FOUND, source=Source.MATCHER, subject=who.id, data=found)
    value, _ = encode(event)
    async with rig.notifier():
        await rig.subscribe(who, channels=["email", "webhook"], language=language)
        await rig.kafka.raw(MATCHES, who.id.encode(), value)
        await rig.arrived(who, "email", "webhook")

    [mail] = rig.mails(who)
    subject = str(mail.message["Subject"])
    text, html = mail.part("text/plain"), mail.part("text/html")
    assert _hidden(subject, text, html, mail.message.as_string())
    assert subject.endswith(BUILT[language])
    assert BUILT[language] in text
    assert BUILT[language] in html
    hook = rig.receiver.one_message(who.path)
    assert _hidden(hook.body.decode())
    document = Webhook(SECRET).verify(hook.body, hook.headers)
    assert document["data"]["assignment"]["title"] == BUILT[language]
    assert "description" not in document["data"]["assignment"]
