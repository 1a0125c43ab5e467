"""The MIME message of an email delivery: content from the templates, one-click unsubscribe,
fresh links to the consultant's page and answer links for each match."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from email.message import EmailMessage
from typing import Any

from koppel.vocabulary import Answer
from koppel_notifier.adapters.email_renderer import EmailRenderer, MatchLinks, RenderedEmail
from koppel_notifier.adapters.email_sender import build_message
from koppel_notifier.adapters.link_tokens import LinkTokens
from koppel_notifier.adapters.unsubscribe_tokens import UnsubscribeTokens
from koppel_notifier.domain.digest_schedule import AMSTERDAM
from koppel_notifier.domain.model import Contact, Delivery, Kind
from koppel_notifier.service_layer.ports import DigestItem


class TemplateEmailComposer:
    def __init__(
        self,
        renderer: EmailRenderer,
        tokens: UnsubscribeTokens,
        links: LinkTokens,
        *,
        sender_address: str,
        public_base_url: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._renderer = renderer
        self._tokens = tokens
        self._links = links
        self._sender_address = sender_address
        self._public_base_url = public_base_url.rstrip("/")
        self._clock = clock

    def instant(self, delivery: Delivery, contact: Contact) -> EmailMessage:
        """One email about one match; `delivery.payload` is the event's data (a withdrawal's
        with the assignment's summary)."""
        assert delivery.payload is not None
        unsubscribe_url = self._unsubscribe_url(contact)
        content = self._renderer.instant(
            delivery.kind,
            language=contact.language,
            name=contact.name or "",
            match=delivery.payload,
            unsubscribe_url=unsubscribe_url,
            links=self._match_links(contact, [delivery.payload]),
        )
        return self._message(delivery, contact, content, unsubscribe_url)

    def digest(self, delivery: Delivery, contact: Contact, items: list[DigestItem]) -> EmailMessage:
        """The day's digest of `items` (best first), in sections by kind."""
        unsubscribe_url = self._unsubscribe_url(contact)

        def of(kind: Kind) -> list[dict[str, Any]]:
            return [item.payload for item in items if item.kind is kind]

        content = self._renderer.digest(
            language=contact.language,
            name=contact.name or "",
            matches=of(Kind.FOUND),
            updated=of(Kind.UPDATED),
            withdrawn=of(Kind.WITHDRAWN),
            day=_digest_day(delivery),
            unsubscribe_url=unsubscribe_url,
            links=self._match_links(contact, [item.payload for item in items]),
        )
        return self._message(delivery, contact, content, unsubscribe_url)

    def _match_links(self, contact: Contact, matches: list[dict[str, Any]]) -> MatchLinks:
        """The page link and, per match, links proposing each answer (fresh tokens)."""
        base, consultant_id = self._public_base_url, contact.consultant_id
        match_ids = [str(match["match_id"]) for match in matches]

        def answer_urls(answer: Answer) -> dict[str, str]:
            return {
                match_id: f"{base}/a/{self._links.answer(consultant_id, match_id, answer)}"
                for match_id in match_ids
            }

        return MatchLinks(
            page=f"{base}/m/{self._links.page(consultant_id)}",
            interested=answer_urls(Answer.INTERESTED),
            not_interested=answer_urls(Answer.NOT_INTERESTED),
        )

    def _unsubscribe_url(self, contact: Contact) -> str:
        token = self._tokens.issue(contact.consultant_id)
        return f"{self._public_base_url}/v1/unsubscribe/{token}"

    def _message(
        self, delivery: Delivery, contact: Contact, content: RenderedEmail, unsubscribe_url: str
    ) -> EmailMessage:
        assert contact.email is not None
        return build_message(
            content,
            sender=self._sender_address,
            to_name=contact.name or "",
            to_address=contact.email,
            delivery_id=delivery.id,
            unsubscribe_url=unsubscribe_url,
            now=self._clock(),
        )


def _digest_day(delivery: Delivery) -> date:
    """The Amsterdam date the digest was built for (kept in its payload)."""
    day = (delivery.payload or {}).get("day")
    if isinstance(day, str):
        return date.fromisoformat(day)
    return delivery.created_at.astimezone(AMSTERDAM).date()
