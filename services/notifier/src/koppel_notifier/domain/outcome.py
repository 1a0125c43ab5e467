"""What one delivery attempt came to, and how HTTP answers map onto that."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum

_THROTTLING = frozenset({429, 502, 503, 504})


class Verdict(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    """Try again on the normal schedule."""
    THROTTLED = "throttled"
    """Try again later than usual (429/502/503/504, timeouts), honouring Retry-After."""
    GONE = "gone"
    """The endpoint says it no longer exists (410): stop using it for this consultant."""
    REFUSED = "refused"
    """Never going to work as configured (SSRF refusal, SMTP 5xx): give up now."""


@dataclass(frozen=True)
class AttemptOutcome:
    verdict: Verdict
    detail: str
    """An error code such as `smtp_recipient_refused_550` or `webhook_http_503`.

    It goes to the logs, to `last_error` and into `notification.failed`, which outlive an
    erasure, so it never holds what a server said (an SMTP reply names the address) nor a
    URL or host name: a code, built from the kind of failure and a status number only.
    """
    retry_after: float | None = None

    @property
    def succeeded(self) -> bool:
        return self.verdict is Verdict.DELIVERED


UNFINISHED = AttemptOutcome(Verdict.RETRY, "attempt did not finish before its lease ran out")
"""The last attempt's worker stopped (crashed, killed) before recording what came of it."""


def unexpected_error(error: Exception) -> AttemptOutcome:
    """An attempt that raised (rendering, signing, sending): a failure like any other.

    It counts against the retry schedule, so content that can never be sent ends `dead`
    instead of being claimed again forever. Only the exception's type is kept: its message
    may quote a name, an address or a header built from them.
    """
    return AttemptOutcome(Verdict.RETRY, f"internal error: {type(error).__name__}")


def classify_http(status: int, retry_after: str | None, now: datetime) -> AttemptOutcome:
    """Any 2xx succeeds; redirects are failures (never followed); 410 disables the endpoint."""
    code = f"webhook_http_{status}"
    if 200 <= status < 300:
        return AttemptOutcome(Verdict.DELIVERED, code)
    if status == 410:
        return AttemptOutcome(Verdict.GONE, code)
    if status in _THROTTLING:
        return AttemptOutcome(Verdict.THROTTLED, code, parse_retry_after(retry_after, now))
    if 300 <= status < 400:
        return AttemptOutcome(Verdict.RETRY, f"webhook_redirect_{status}")
    return AttemptOutcome(Verdict.RETRY, code)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a `Retry-After` header (seconds or an HTTP date); None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, (moment - now).total_seconds())
