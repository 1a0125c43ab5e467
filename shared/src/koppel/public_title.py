"""The title a consultant sees of a confidential assignment that gives no `public_title`.

DOMAIN.md 8.6: it is built from the level, the first required discipline, the organisation
type, its size class and the province, so that it says what the work is without naming
whom it is for. Summaries on `koppel.matches.v1` carry the Dutch one with `title_is_built`
set, and every consultant-facing channel rebuilds it in the consultant's language from the
summary's own fields, so that the sent title never needs translating.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from koppel.labels import label


def built_title(
    *,
    level: str,
    discipline: str,
    organization_type: str,
    size_class: str | None,
    province: str,
    language: str,
) -> str:
    """`Senior adviseur crisiscommunicatie bij een middelgrote gemeente in Utrecht` (nl/en)."""
    lang = "en" if language == "en" else "nl"
    organization = " ".join(
        part
        for part in (
            label("size_class", size_class, lang),
            label("organization_type", organization_type, lang),
        )
        if part
    )
    role_level = label("level", level, lang)
    discipline_text = label("discipline", discipline, lang)
    place = label("province", province, lang)
    if lang == "nl":
        text = f"{role_level} adviseur {discipline_text} bij een {organization} in {place}"
    else:
        article = "an" if organization[:1] in "aeiou" else "a"
        text = f"{role_level} {discipline_text} adviser at {article} {organization} in {place}"
    return text[:1].upper() + text[1:]


def shown_title(summary: Mapping[str, Any], language: str) -> str:
    """The title of a summary (its JSON form) as a consultant reading `language` sees it."""
    if not summary.get("title_is_built"):
        return str(summary["title"])
    organization = summary["organization"]
    return built_title(
        level=summary["level"],
        discipline=summary["disciplines_required"][0],
        organization_type=organization["type"],
        size_class=organization.get("size_class"),
        province=summary["location"]["province"],
        language=language,
    )
