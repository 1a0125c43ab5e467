"""What the demo's mail sink and webhook receiver got during a run: the demo's own
deliveries told apart from others' by their notification ids, and a page link to show."""

from __future__ import annotations

import email.policy
import json
import re
from collections import Counter
from datetime import datetime
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from pathlib import Path


def count_emails(directory: Path, since: float, ours: set[str]) -> dict[str, int]:
    """New messages in the sink: about the demo's matches, and about anything else.

    The notifier's Message-ID is `<notification id@domain>`, so a message is the demo's when
    its id is one of the `ours` notification ids. On a shared broker the demo's services also
    match and deliver what other users publish on the same topics: those are the others.
    """
    counts = {"demo": 0, "others": 0}
    if not directory.is_dir():
        return counts
    parser = BytesHeaderParser(policy=email.policy.default)
    for path in directory.glob("*.eml"):
        if path.stat().st_mtime < since:
            continue
        with path.open("rb") as stored:
            message_id = str(parser.parse(stored).get("Message-ID", ""))
        notification_id = message_id.strip().strip("<>").partition("@")[0]
        counts["demo" if notification_id in ours else "others"] += 1
    return counts


_PAGE_LINK = re.compile(r"https?://\S+/m/[\w.-]+")


def page_link(directory: Path, since: float, ours: set[str]) -> str | None:
    """The link to a consultant's own page (their matches and answer buttons), taken from
    one of the demo's emails, so that a person can open it; None without such an email."""
    if not directory.is_dir():
        return None
    for path in sorted(directory.glob("*.eml")):
        if path.stat().st_mtime < since:
            continue
        with path.open("rb") as stored:
            message = BytesParser(EmailMessage, policy=email.policy.default).parse(stored)
        notification_id = str(message.get("Message-ID", "")).strip().strip("<>").partition("@")[0]
        body = message.get_body(preferencelist=("plain",)) if notification_id in ours else None
        found = _PAGE_LINK.search(body.get_content()) if body is not None else None
        if found:
            return found.group(0)
    return None


def count_webhooks(log: Path, since: float, ours: set[str]) -> dict[str, int]:
    """Webhooks the receiver logged: about the demo's matches (by `webhook-id`), and others."""
    counts: Counter[str] = Counter({"verified": 0, "unverified": 0, "duplicates": 0, "others": 0})
    if not log.is_file():
        return dict(counts)
    webhook_ids = {"msg_" + notification_id.replace("-", "") for notification_id in ours}
    for line in log.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
            received = datetime.fromisoformat(entry["received_at"]).timestamp()
        except (ValueError, KeyError, TypeError):
            continue
        if received < since:
            continue
        if entry.get("webhook_id") not in webhook_ids:
            counts["others"] += 1
            continue
        counts["verified" if entry.get("verified") else "unverified"] += 1
        counts["duplicates"] += bool(entry.get("duplicate"))
    return dict(counts)
