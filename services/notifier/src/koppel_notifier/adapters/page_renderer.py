"""The consultant's page and its confirmation pages, in Dutch or English (Jinja2, autoescaped).

A match reads as in the emails (`match_view`: a confidential assignment's title and
organisation masked exactly as notifications mask them); the page adds the closing date,
the answer given and the forms that change it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from koppel.labels import long_date
from koppel.vocabulary import Answer, DeclineReason
from koppel_notifier.adapters.email_renderer import MatchView, match_view
from koppel_notifier.adapters.page_words import WORDS
from koppel_notifier.domain.answers import CurrentMatch, GivenAnswer
from koppel_notifier.domain.digest_schedule import AMSTERDAM

_REASONS = {
    "nl": {
        DeclineReason.LOCATION: "Locatie of reistijd",
        DeclineReason.HOURS: "Aantal uren",
        DeclineReason.RATE: "Tarief",
        DeclineReason.TIMING: "Startdatum of duur",
        DeclineReason.CONTENT: "Inhoud van de opdracht",
        DeclineReason.ORGANISATION: "De organisatie",
        DeclineReason.OTHER: "Iets anders",
    },
    "en": {
        DeclineReason.LOCATION: "Location or travel time",
        DeclineReason.HOURS: "Number of hours",
        DeclineReason.RATE: "Rate",
        DeclineReason.TIMING: "Start date or duration",
        DeclineReason.CONTENT: "What the work is",
        DeclineReason.ORGANISATION: "The organisation",
        DeclineReason.OTHER: "Something else",
    },
}
_ANSWERS = {
    "nl": {Answer.INTERESTED: "Interessant", Answer.NOT_INTERESTED: "Niet interessant"},
    "en": {Answer.INTERESTED: "Interested", Answer.NOT_INTERESTED: "Not interested"},
}


@dataclass(frozen=True)
class PageItem:
    """One open match on the page: how it reads, and the answer given to it if any."""

    match_id: str
    match: MatchView
    closes: str | None
    answer: Answer | None
    answer_text: str | None
    reason_text: str | None
    note: str | None
    answered_on: str | None


class PageRenderer:
    def __init__(self) -> None:
        self._env = Environment(
            loader=PackageLoader("koppel_notifier", "templates"),
            autoescape=select_autoescape(enabled_extensions=("html",), default=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def matches(
        self,
        *,
        language: str,
        matches: list[CurrentMatch],
        actions: dict[str, str],
        notice: str | None,
    ) -> str:
        """The page: every open match with its answer forms; `actions` are the form targets
        (`answer`, `take_back`) and the `unsubscribe` link."""
        lang = _language(language)
        items = [page_item(match, lang) for match in matches]
        return self._render("page_matches.html", lang, items=items, actions=actions, notice=notice)

    def confirm(
        self, *, language: str, match: CurrentMatch, answer: Answer, action: str, page_url: str
    ) -> str:
        """The page behind an answer link in an email: its button POSTs the answer."""
        lang = _language(language)
        item = page_item(match, lang)
        return self._render(
            "page_confirm.html", lang, item=item, answer=answer, action=action, page_url=page_url
        )

    def message(
        self,
        name: str,
        *,
        language: str | None,
        field: str | None = None,
        page_url: str | None = None,
    ) -> str:
        """A page with one message: `name` is `invalid`, `expired`, `gone`, `closed` or
        `bad_form` (naming `field`); without a language (a token not ours) it speaks both."""
        lang = "both" if language is None else _language(language)
        return self._render("page_message.html", lang, name=name, field=field, page_url=page_url)

    def _render(self, template: str, lang: str, **context: Any) -> str:
        return self._env.get_template(template).render(
            lang=lang,
            t=WORDS.get(lang, WORDS["nl"]),
            words=WORDS,
            reasons=_REASONS.get(lang, _REASONS["nl"]),
            **context,
        )


def page_item(match: CurrentMatch, language: str) -> PageItem:
    given: GivenAnswer | None = match.answer
    view = match_view(match.payload, language)
    return PageItem(
        match_id=match.match_id,
        match=view,
        closes=view.closes,
        answer=None if given is None else given.response,
        answer_text=None if given is None else _ANSWERS[language][given.response],
        reason_text=None
        if given is None or given.reason is None
        else _REASONS[language][given.reason],
        note=None if given is None else given.note,
        answered_on=None
        if given is None
        else long_date(given.responded_at.astimezone(AMSTERDAM).date(), language),
    )


def _language(language: str) -> str:
    return language if language in ("nl", "en") else "nl"
