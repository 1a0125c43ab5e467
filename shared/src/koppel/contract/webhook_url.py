"""The webhook URL rules that hold whatever the notifier is configured with.

Whether plain `http` may be used depends on the notifier's allow-list, so only the notifier
decides that; what is checked here needs no configuration: `http` or `https`, at most
MAX_WEBHOOK_URL_LENGTH characters as sent on, and no `user:password@` (credentials would
travel in every profile event and sit in every store that keeps the URL).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, AnyHttpUrl, UrlConstraints

MAX_WEBHOOK_URL_LENGTH = 2048


def _within_the_rules(url: AnyHttpUrl) -> AnyHttpUrl:
    # Measured after normalisation: an IDN host or a non-ASCII path grows when encoded,
    # and the encoded form is what the notifier gets and checks again.
    if len(str(url)) > MAX_WEBHOOK_URL_LENGTH:
        raise ValueError(f"webhook_url must be at most {MAX_WEBHOOK_URL_LENGTH} characters")
    if url.username is not None or url.password is not None:
        raise ValueError("webhook_url must not carry a user name or password")
    return url


WebhookUrl = Annotated[
    AnyHttpUrl,
    UrlConstraints(max_length=MAX_WEBHOOK_URL_LENGTH),
    AfterValidator(_within_the_rules),
]
