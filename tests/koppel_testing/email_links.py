"""Answer and page links: made for rendering notifier emails in unit tests, and found in the
emails a real notifier sends in integration tests."""

from __future__ import annotations

import re
from typing import Any

from koppel_notifier.adapters.email_renderer import MatchLinks

PAGE_URL = "https://koppel.example/m/page-token"


def email_links(*matches: dict[str, Any]) -> MatchLinks:
    """Links as the composer makes them, with readable tokens: `…/a/i-<match id>`."""
    match_ids = [str(match["match_id"]) for match in matches]
    return MatchLinks(
        page=PAGE_URL,
        interested={match_id: f"https://koppel.example/a/i-{match_id}" for match_id in match_ids},
        not_interested={
            match_id: f"https://koppel.example/a/n-{match_id}" for match_id in match_ids
        },
    )


def link(text: str, label: str) -> str:
    """The URL after `label:` in a match email's text part."""
    found = re.search(rf"{label}:\s+(\S+)", text)
    assert found, f"no {label} link in the email"
    return found.group(1)
