"""Email content in Dutch or English from Jinja2 templates (HTML autoescaped)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from koppel.labels import label, long_date, percentage
from koppel.public_title import shown_title
from koppel_notifier.adapters.change_wording import changed_fields, withdrawal_reason
from koppel_notifier.adapters.deadline_wording import closing_date, urgent_subject
from koppel_notifier.domain.model import Kind

_LANGUAGES = ("nl", "en")


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class MatchLinks:
    """The consultant's links in one email: their page, and an answer link per match id.

    Each answer link opens a confirmation page (a GET never answers)."""

    page: str
    interested: Mapping[str, str]
    not_interested: Mapping[str, str]


@dataclass(frozen=True)
class MatchView:
    """One match as an email shows it; title and organisation are masked when confidential."""

    match_id: str
    title: str
    organization: str
    confidential: bool
    level: str
    assignment_type: str
    hours: str
    start_date: str
    duration: str
    office_days: str
    location: str
    disciplines: str
    score: str
    reasons: list[str]
    changed: str = ""
    """For an update: what changed, in words (`uren per week, startdatum`)."""
    urgent: bool = False
    """The assignment starts within three weeks (§8.5): said in the subject and up top."""
    closes: str | None = None
    """The closing date in words, when the assignment has one."""


@dataclass(frozen=True)
class WithdrawnView:
    """A match that is gone, as an email shows it: which assignment, and why."""

    title: str
    organization: str
    reason: str
    closes: str | None = None


@dataclass(frozen=True)
class _InstantEmail:
    """How an email about one match of a kind reads: its template, view and subjects."""

    template: str
    view: Callable[[dict[str, Any], str], MatchView | WithdrawnView]
    subjects: Mapping[str, str]
    """By language; formatted with the `view`."""


class EmailRenderer:
    def __init__(self) -> None:
        self._env = Environment(
            loader=PackageLoader("koppel_notifier", "templates"),
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )

    def instant(
        self,
        kind: Kind,
        *,
        language: str,
        name: str,
        match: dict[str, Any],
        unsubscribe_url: str,
        links: MatchLinks,
    ) -> RenderedEmail:
        """One email about one match: found, updated (what changed in the subject) or
        withdrawn (`match` then carries the assignment's summary)."""
        lang = _language(language)
        email = _INSTANT[kind]
        view = email.view(match, lang)
        context = {"name": name, "match": view, "unsubscribe_url": unsubscribe_url}
        subject = email.subjects[lang].format(view=view)
        return self._render(email.template, lang, subject, context, links)

    def digest(
        self,
        *,
        language: str,
        name: str,
        matches: list[dict[str, Any]],
        day: date,
        unsubscribe_url: str,
        links: MatchLinks,
        updated: list[dict[str, Any]] | None = None,
        withdrawn: list[dict[str, Any]] | None = None,
    ) -> RenderedEmail:
        """The day's digest: new matches, then updated ones, then those that are gone."""
        lang = _language(language)
        views = [match_view(match, lang) for match in matches]
        updated_views = [match_view(match, lang) for match in updated or []]
        gone = [withdrawn_view(match, lang) for match in withdrawn or [] if match.get("assignment")]
        titles = [view.title for view in views + updated_views] + [view.title for view in gone]
        titles = titles or [""]
        count = len(views) + len(updated_views) + len(gone)
        # Starts with a word, not the count: Python's header folding mangles a leading digit.
        if lang == "nl":
            subject = f"Je opdrachten van vandaag ({count}): {titles[0]}"
        else:
            subject = f"Your assignments today ({count}): {titles[0]}"
        if count > 1:
            subject += " en meer" if lang == "nl" else " and more"
        context = {
            "name": name,
            "matches": views,
            "updated": updated_views,
            "withdrawn": gone,
            "day": long_date(day, lang),
            "unsubscribe_url": unsubscribe_url,
        }
        return self._render("digest", lang, subject, context, links)

    def _render(
        self,
        template: str,
        language: str,
        subject: str,
        context: dict[str, Any],
        links: MatchLinks,
    ) -> RenderedEmail:
        """Every email about matches carries `links`: the `_match.*` partials use them."""
        context = {**context, "links": links}
        if isinstance(context.get("match"), MatchView) and context["match"].urgent:
            subject = urgent_subject(subject, language)
        text = self._env.get_template(f"{template}.{language}.txt").render(context)
        html = self._env.get_template(f"{template}.{language}.html").render(context)
        return RenderedEmail(subject=subject, text=text, html=html)


def _language(language: str) -> str:
    return language if language in _LANGUAGES else "nl"


def match_view(match: dict[str, Any], language: str) -> MatchView:
    """Words for one `MatchFound` payload; a confidential organisation is never named."""
    assignment = match["assignment"]
    confidential = assignment.get("visibility") == "confidential"
    organization_text, place = _organization_and_place(assignment, language)
    hours = assignment["hours_per_week"]
    span = str(hours["min"]) if hours["min"] == hours["max"] else f"{hours['min']}–{hours['max']}"
    months = assignment["duration_months"]
    days = assignment["office_days_per_week"]
    start = long_date(date.fromisoformat(assignment["start_date"]), language)
    disciplines = ", ".join(
        label("discipline", item, language) for item in assignment["disciplines_required"]
    )
    if language == "nl":
        hours_text = f"{span} uur per week"
        duration = f"{months} {'maand' if months == 1 else 'maanden'}"
        office = (
            "volledig op afstand"
            if days == 0
            else f"{days} {'dag' if days == 1 else 'dagen'} per week op kantoor"
        )
    else:
        hours_text = f"{span} hours a week"
        duration = f"{months} {'month' if months == 1 else 'months'}"
        office = (
            "fully remote"
            if days == 0
            else f"{days} {'day' if days == 1 else 'days'} a week in the office"
        )
    return MatchView(
        match_id=str(match["match_id"]),
        title=shown_title(assignment, language),
        organization=organization_text,
        confidential=confidential,
        level=label("level", assignment["level"], language),
        assignment_type=label("assignment_type", assignment["assignment_type"], language),
        hours=hours_text,
        start_date=start,
        duration=duration,
        office_days=office,
        location=place,
        disciplines=disciplines,
        score=percentage(float(match["score"])),
        reasons=[str(reason) for reason in match.get("reasons", [])],
        changed=changed_fields(match.get("changed", []), language),
        urgent=match.get("urgent") is True,
        closes=closing_date(assignment, language),
    )


def withdrawn_view(match: dict[str, Any], language: str) -> WithdrawnView:
    """Words for a `MatchWithdrawn` payload that carries the assignment's summary."""
    assignment = match["assignment"]
    organization, _ = _organization_and_place(assignment, language)
    return WithdrawnView(
        title=shown_title(assignment, language),
        organization=organization,
        reason=withdrawal_reason(match.get("reason"), language),
        closes=closing_date(assignment, language),
    )


_INSTANT = {
    Kind.FOUND: _InstantEmail(
        "match_found",
        match_view,
        {"nl": "Nieuwe opdracht: {view.title}", "en": "New assignment: {view.title}"},
    ),
    Kind.UPDATED: _InstantEmail(
        "match_updated",
        match_view,
        {
            "nl": "Gewijzigd: {view.title} ({view.changed})",
            "en": "Updated: {view.title} ({view.changed})",
        },
    ),
    Kind.WITHDRAWN: _InstantEmail(
        "match_withdrawn",
        withdrawn_view,
        {"nl": "Vervallen: {view.title}", "en": "No longer available: {view.title}"},
    ),
}


def _organization_and_place(assignment: dict[str, Any], language: str) -> tuple[str, str]:
    """The organisation and where it is; a confidential one by kind and province only."""
    organization = assignment["organization"]
    location = assignment["location"]
    province = label("province", location["province"], language)
    org_type = label("organization_type", organization["type"], language)
    if assignment.get("visibility") == "confidential" or not organization.get("name"):
        masked = _masked_organization(org_type, organization.get("size_class"), province, language)
        return masked, province
    city = location.get("city")
    place = f"{city}, {province}" if city else province
    return _named_organization(organization["name"], org_type), place


def _named_organization(name: str, org_type: str) -> str:
    """`Hoogheemraadschap Delfland (waterschap)`, but `Gemeente Utrecht`: no type twice."""
    if org_type.lower() in name.lower():
        return name
    return f"{name} ({org_type})"


def _masked_organization(
    org_type: str, size_class: str | None, province: str, language: str
) -> str:
    size = label("size_class", size_class, language) if size_class else ""
    noun = f"{size} {org_type}".strip()
    if language == "nl":
        return f"een {noun} in {province} (vertrouwelijk)"
    article = "an" if noun[:1].lower() in "aeiou" else "a"
    return f"{article} {noun} in {province} (confidential)"
